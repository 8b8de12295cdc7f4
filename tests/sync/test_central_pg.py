"""The central on PostgreSQL (``--pg``): the HTTP ingest writes into monthly partitions, idempotent on record
id across partitions and across concurrent writers; the CLI option; the TCP receivers' tables."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg

from central.ingest import IngestSettings
from central.server import Central
from central.storage_pg import PgStorage, RecordRow, parse_ts

from .conftest import SECRET, TOKEN
from .pg import pg_cluster, pg_dsn  # noqa: F401 - fixtures
from .test_central_ingest import _post

ROOT = Path(__file__).resolve().parents[2]


def _rec(rid: str, ts: str, kind: str = "telemetry") -> dict[str, Any]:
    return {"id": rid, "kind": kind, "ts": ts, "data": {"entity_id": "sensor.x", "state": "1.5"}}


def _partitions(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'records'::regclass ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


async def test_http_ingest_into_monthly_partitions_idempotent_across_them(
    tmp_path: Path,
    pg_dsn: str,  # noqa: F811
) -> None:
    central = Central(tmp_path / "unused.sqlite3", IngestSettings(TOKEN, SECRET), pg_dsn=pg_dsn)
    await central.start(hj212_port=None, gbt26875_port=None)
    try:
        recs = [
            _rec("r1", "2026-10-31T23:59:59+00:00"),
            _rec("r2", "2026-11-01T00:00:00+00:00", "incident"),
            _rec("r3", "-"),  # no readable time: partitioned by its arrival
        ]
        status, doc = await _post(central, {"park_id": "p1", "batch_id": "b1", "records": recs})
        assert status == 200
        assert doc["accepted"] == 3
        assert doc["duplicates"] == 0
        status, doc = await _post(central, {"park_id": "p1", "batch_id": "b1", "records": recs})
        assert status == 200
        assert doc["replayed"] is True
        assert doc["accepted"] == 3
        # The same ids again in a new batch, r1 now stamped in another month: still one row per id.
        moved = [
            _rec("r1", "2026-12-05T00:00:00+00:00"),
            _rec("r2", "2026-11-01T00:00:00+00:00"),
            _rec("r4", "x"),
        ]
        status, doc = await _post(central, {"park_id": "p1", "batch_id": "b2", "records": moved})
        assert status == 200
        assert doc["accepted"] == 1
        assert doc["duplicates"] == 2
        assert sorted(await central.storage.record_ids()) == ["r1", "r2", "r3", "r4"]
        rows = await central.storage.records()
        assert {r["id"]: r["ts"] for r in rows}["r1"] == "2026-10-31T23:59:59+00:00"  # as first sent
        assert [r["kind"] for r in await central.storage.records("incident")] == ["incident"]
        summary = await central.storage.summary()
        assert summary["records"]["total"] == 4
        assert summary["batches"] == 2
        assert summary["batches_replayed"] == 1
        assert summary["duplicates_received"] == 5
        assert {"records_y2026m10", "records_y2026m11"} <= set(_partitions(pg_dsn))
        assert "records_y2026m12" in _partitions(pg_dsn)  # made for the batch, though its one row was a dup
    finally:
        await central.stop()


async def test_concurrent_writers_store_each_id_once(pg_dsn: str) -> None:  # noqa: F811
    stores = [PgStorage(pg_dsn) for _ in range(3)]
    for s in stores:
        await s.open()
    try:
        now = 1_790_000_000.0
        batches = [
            [
                RecordRow(
                    f"id{i:04d}",
                    "p",
                    "telemetry",
                    parse_ts("2026-11-02T00:00:00+00:00", now),
                    "t",
                    None,
                    {},
                    "m",
                    now,
                )
                for i in range(start, start + 300)
            ]
            for start in (0, 100, 200, 0)
        ]
        news = await asyncio.gather(
            *(stores[n % 3].store_mqtt(rows, [], [], 1) for n, rows in enumerate(batches))
        )
        assert sum(news) == 500
        assert len(set(await stores[0].record_ids())) == len(await stores[0].record_ids()) == 500
    finally:
        for s in stores:
            await s.close()


async def test_tcp_receivers_tables_on_pg(pg_dsn: str) -> None:  # noqa: F811
    store = PgStorage(pg_dsn)
    await store.open()
    try:
        assert await store.store_hj212("MN1", "2011", "20261101000000", "q", "32", "a=1") is True
        assert await store.store_hj212("MN1", "2011", "20261101000000", "q", "32", "a=1") is False
        assert await store.store_gbt26875("00000000ABCD", 7, 2, ['{"a": 1}', '{"b": 2}']) == 2
        assert await store.store_gbt26875("00000000ABCD", 7, 2, ['{"a": 1}', '{"b": 2}']) == 0
        rows = await store.gbt26875_rows("00000000abcd")
        assert [r["record"] for r in rows] == [{"a": 1}, {"b": 2}]
        summary = await store.summary()
        assert summary["hj212"]["packets"] == 1
        assert summary["hj212"]["duplicates"] == 1
        assert summary["gbt26875"]["records"] == 2
        assert summary["gbt26875"]["duplicates"] == 2
        assert [r["cp"] for r in await store.hj212_rows("2011")] == ["a=1"]
    finally:
        await store.close()


async def test_cli_option_pg(tmp_path: Path, pg_dsn: str) -> None:  # noqa: F811
    env = {**os.environ, "CENTRAL_TOKEN": TOKEN, "CENTRAL_HMAC_SECRET": SECRET}
    args = [
        "--port",
        "0",
        "--hj212-port",
        "-1",
        "--gbt26875-port",
        "-1",
        "--pg",
        pg_dsn,
        "--db",
        str(tmp_path / "x"),
    ]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "central", *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        at = SimpleNamespace(url=json.loads(await proc.stdout.readline())["url"])
        doc = {"park_id": "p9", "batch_id": "c1", "records": [_rec("c-1", "2026-11-03T01:02:03Z")]}
        status, answer = await _post(at, doc)  # type: ignore[arg-type]
        assert status == 200
        assert answer["accepted"] == 1
        with psycopg.connect(pg_dsn) as conn:
            row = conn.execute("SELECT park_id, kind, ts FROM records WHERE id = 'c-1'").fetchone()
        assert row is not None
        assert row[:2] == ("p9", "telemetry")
        assert row[2].isoformat() == "2026-11-03T01:02:03+00:00"
        assert not (tmp_path / "x").exists()  # SQLite untouched
    finally:
        proc.terminate()
        await proc.wait()


async def test_district_view_answers_the_same_on_postgresql_as_on_sqlite(
    tmp_path: Path,
    pg_dsn: str,  # noqa: F811
) -> None:
    """Helper D's district view reads through the store's district methods: fed the same batches, the
    PostgreSQL store gives the same figures as SQLite."""
    from .test_district_api import BEARER, feed, get

    docs = []
    for pg in (None, pg_dsn):
        central = Central(tmp_path / "c.sqlite3", IngestSettings(TOKEN, SECRET), pg_dsn=pg)
        await central.start(hj212_port=None, gbt26875_port=None)
        try:
            await feed(central)
            status, _headers, text = await get(central, "/api/v1/district?months=2", **BEARER)
            assert status == 200
            doc = json.loads(text)
            for park in doc["parks"]:
                park["devices"].pop("age_s", None)  # seconds since, at each view's own now
            docs.append(doc)
        finally:
            await central.stop()
    sqlite_doc, pg_doc = docs
    assert [p["park_id"] for p in pg_doc["parks"]] == ["alpha", "beta", "gamma"]
    assert pg_doc["parks"] == sqlite_doc["parks"]
    assert pg_doc["totals"] == sqlite_doc["totals"]
