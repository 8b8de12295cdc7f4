"""SQLite storage of the central. One writer thread: sqlite3 connections are not shared across threads."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
  id TEXT PRIMARY KEY, park_id TEXT NOT NULL, kind TEXT NOT NULL, ts TEXT NOT NULL,
  data TEXT NOT NULL, batch_id TEXT NOT NULL, received_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS records_kind ON records(kind);
CREATE TABLE IF NOT EXISTS batches (
  batch_id TEXT PRIMARY KEY, park_id TEXT NOT NULL, received_at REAL NOT NULL, response TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hj212 (
  mn TEXT NOT NULL, cn TEXT NOT NULL, data_time TEXT NOT NULL, qn TEXT NOT NULL, st TEXT NOT NULL,
  cp TEXT NOT NULL, received_at REAL NOT NULL, PRIMARY KEY (mn, cn, data_time));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gbt26875 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, serial INTEGER NOT NULL, type INTEGER NOT NULL,
  idx INTEGER NOT NULL, record TEXT NOT NULL, received_at REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS gbt26875_identity ON gbt26875(device, serial, type, idx, record);
"""
# A data field the district queries may rank or group by (interpolated into a JSON path, so kept plain).
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _record(r: Sequence[Any]) -> dict[str, Any]:
    """A records row (id, park_id, kind, ts, data, batch_id) as the API's dict."""
    return {"id": r[0], "park_id": r[1], "kind": r[2], "ts": r[3], "data": json.loads(r[4]), "batch_id": r[5]}


class Storage:
    """Durable store; every public coroutine commits before returning, so an ack means data on disk."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="central-db")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def _run[T](self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    def _bump(self, name: str, by: int = 1) -> None:
        self.db.execute(
            "INSERT INTO counters(name, value) VALUES(?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )

    async def bump(self, name: str, by: int = 1) -> None:
        await self._run(self._bump, name, by)

    # --- ingest API -----------------------------------------------------------------------------------------
    async def store_batch(
        self, park_id: str, batch_id: str, records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        return await self._run(self._store_batch, park_id, batch_id, records)

    def _store_batch(self, park_id: str, batch_id: str, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT response FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
            if row is not None:
                # Same idempotency key: answer exactly as the first time, store nothing new.
                self._bump("batches_replayed")
                self._bump("duplicates_received", len(records))
                db.execute("COMMIT")
                response: dict[str, Any] = json.loads(row[0])
                response["replayed"] = True
                return response
            now = time.time()
            new = 0
            for rec in records:
                cur = db.execute(
                    "INSERT OR IGNORE INTO records(id, park_id, kind, ts, data, batch_id, received_at)"
                    " VALUES(?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec["id"],
                        park_id,
                        rec["kind"],
                        rec["ts"],
                        json.dumps(rec["data"], ensure_ascii=False),
                        batch_id,
                        now,
                    ),
                )
                new += cur.rowcount
            duplicates = len(records) - new
            response = {
                "batch_id": batch_id,
                "accepted": new,
                "duplicates": duplicates,
                "acked": [rec["id"] for rec in records],
                "replayed": False,
            }
            db.execute(
                "INSERT INTO batches(batch_id, park_id, received_at, response) VALUES(?, ?, ?, ?)",
                (batch_id, park_id, now, json.dumps(response)),
            )
            self._bump("batches")
            if duplicates:
                self._bump("duplicates_received", duplicates)
            db.execute("COMMIT")
            return response
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- HJ 212 ---------------------------------------------------------------------------------------------
    async def store_hj212(self, mn: str, cn: str, data_time: str, qn: str, st: str, cp: str) -> bool:
        """True when new; a retransmission or backfill of a point already held is counted as a duplicate."""
        return await self._run(self._store_hj212, mn, cn, data_time, qn, st, cp)

    def _store_hj212(self, mn: str, cn: str, data_time: str, qn: str, st: str, cp: str) -> bool:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        cur = db.execute(
            "INSERT OR IGNORE INTO hj212(mn, cn, data_time, qn, st, cp, received_at)"
            " VALUES(?, ?, ?, ?, ?, ?, ?)",
            (mn, cn, data_time, qn, st, cp, time.time()),
        )
        self._bump("hj212_packets" if cur.rowcount else "hj212_duplicates")
        db.execute("COMMIT")
        return cur.rowcount == 1

    # --- GB/T 26875.3 ---------------------------------------------------------------------------------------
    async def store_gbt26875(self, device: str, serial: int, type_flag: int, records: Sequence[str]) -> int:
        """Store one frame's records (JSON each); returns how many were new. The same record under the same
        serial at the same place in the frame from the same device (a resend whose confirm was lost) is a
        duplicate."""
        return await self._run(self._store_gbt26875, device, serial, type_flag, records)

    def _store_gbt26875(self, device: str, serial: int, type_flag: int, records: Sequence[str]) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            now, new = time.time(), 0
            for idx, record in enumerate(records):
                cur = db.execute(
                    "INSERT OR IGNORE INTO gbt26875(device, serial, type, idx, record, received_at)"
                    " VALUES(?, ?, ?, ?, ?, ?)",
                    (device, serial, type_flag, idx, record, now),
                )
                new += cur.rowcount
            self._bump("gbt26875_records", new)
            if new < len(records):
                self._bump("gbt26875_duplicates", len(records) - new)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new

    async def gbt26875_rows(
        self, device: str | None = None, type_flag: int | None = None, limit: int = 100_000, after: int = 0
    ) -> list[dict[str, Any]]:
        """Stored records in arrival order; ``after``: only those after that ``seq`` (to follow new ones)."""
        sql = "SELECT seq, device, serial, type, record, received_at FROM gbt26875"
        where: list[str] = ["seq > ?"]
        params: list[Any] = [after]
        if device:
            where.append("device = ?")
            params.append(device.upper())
        if type_flag is not None:
            where.append("type = ?")
            params.append(type_flag)
        sql += " WHERE " + " AND ".join(where)
        rows = await self._query(sql + " ORDER BY seq LIMIT ?", [*params, limit])
        return [
            {"seq": q, "device": d, "serial": s, "type": t, "record": json.loads(r), "received_at": at}
            for q, d, s, t, r, at in rows
        ]

    # --- reads ----------------------------------------------------------------------------------------------
    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda: self.db.execute(sql, params).fetchall())

    async def record_ids(self) -> list[str]:
        return [r[0] for r in await self._query("SELECT id FROM records")]

    async def records(self, kind: str | None = None, limit: int = 100_000) -> list[dict[str, Any]]:
        sql = "SELECT id, park_id, kind, ts, data, batch_id FROM records"
        params: list[Any] = []
        if kind:
            sql += " WHERE kind = ?"
            params.append(kind)
        sql += " ORDER BY received_at, id LIMIT ?"
        params.append(limit)
        return [_record(r) for r in await self._query(sql, params)]

    # --- district view (central/district.py); storage_pg.py mirrors these signatures -----------------------
    async def park_ids(self) -> list[str]:
        """Every park that delivered a batch, sorted."""
        return [r[0] for r in await self._query("SELECT DISTINCT park_id FROM batches ORDER BY park_id")]

    async def latest_records(
        self, kind: str, key: str | None = "id", order: str | None = "updated_at"
    ) -> list[dict[str, Any]]:
        """The newest record of each (park_id, data[key]) of one kind (key None: of each park), newest by
        data[order] (ISO text; None: by ts), then ts, then arrival. Same dicts as :meth:`records`."""
        for name in (key, order):
            if name is not None and _FIELD_RE.fullmatch(name) is None:
                raise ValueError(f"not a data field name: {name!r}")
        part = "park_id" + (", json_extract(data, ?)" if key else "")
        rank = ("json_extract(data, ?) DESC, " if order else "") + "ts DESC, received_at DESC, id DESC"
        params = [*([f"$.{key}"] if key else []), *([f"$.{order}"] if order else []), kind]
        sql = (
            "SELECT id, park_id, kind, ts, data, batch_id FROM (SELECT *, ROW_NUMBER() OVER"
            f" (PARTITION BY {part} ORDER BY {rank}) AS n FROM records WHERE kind = ?) WHERE n = 1"
            " ORDER BY park_id, id"
        )
        return [_record(r) for r in await self._query(sql, params)]

    async def counter_readings(self, device_class: str, since: str) -> list[dict[str, Any]]:
        """Readings of the cumulative counters (telemetry with state_class total_increasing) of one device
        class with ts >= ``since`` (ISO, UTC): park_id, entity_id, ts, state, unit, by park, entity and ts."""
        sql = (
            "SELECT park_id, json_extract(data, '$.entity_id') AS e, ts, json_extract(data, '$.state'),"
            " json_extract(data, '$.attributes.unit_of_measurement') FROM records WHERE kind = 'telemetry'"
            " AND ts >= ? AND json_extract(data, '$.attributes.device_class') = ?"
            " AND json_extract(data, '$.attributes.state_class') = 'total_increasing' ORDER BY park_id, e, ts"
        )
        keys = ("park_id", "entity_id", "ts", "state", "unit")
        return [dict(zip(keys, r, strict=True)) for r in await self._query(sql, (since, device_class))]

    async def hj212_rows(self, cn: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT mn, cn, data_time, qn, st, cp FROM hj212"
        params: list[Any] = []
        if cn:
            sql += " WHERE cn = ?"
            params.append(cn)
        rows = await self._query(sql + " ORDER BY data_time", params)
        return [dict(zip(("mn", "cn", "data_time", "qn", "st", "cp"), r, strict=True)) for r in rows]

    async def summary(self) -> dict[str, Any]:
        def _summary() -> dict[str, Any]:
            db = self.db
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
            by_kind = dict(db.execute("SELECT kind, COUNT(*) FROM records GROUP BY kind").fetchall())
            last = db.execute("SELECT MAX(received_at) FROM records").fetchone()[0]
            hj_by_cn = dict(db.execute("SELECT cn, COUNT(*) FROM hj212 GROUP BY cn").fetchall())
            gb_by_type = dict(db.execute("SELECT type, COUNT(*) FROM gbt26875 GROUP BY type").fetchall())
            gb_by_device = dict(
                db.execute("SELECT device, COUNT(*) FROM gbt26875 GROUP BY device").fetchall()
            )
            return {
                "records": {"total": sum(by_kind.values()), "by_kind": by_kind, "last_received_at": last},
                "batches": counters.get("batches", 0),
                "batches_replayed": counters.get("batches_replayed", 0),
                "duplicates_received": counters.get("duplicates_received", 0),
                "rejected": {
                    k[len("rejected_") :]: v for k, v in counters.items() if k.startswith("rejected_")
                },
                "hj212": {
                    "packets": counters.get("hj212_packets", 0),
                    "duplicates": counters.get("hj212_duplicates", 0),
                    "by_cn": hj_by_cn,
                    "rejected": {
                        k[len("hj212_rejected_") :]: v
                        for k, v in counters.items()
                        if k.startswith("hj212_rejected_")
                    },
                },
                "gbt26875": {
                    "records": counters.get("gbt26875_records", 0),
                    "duplicates": counters.get("gbt26875_duplicates", 0),
                    "heartbeats": counters.get("gbt26875_heartbeats", 0),
                    "by_type": {str(k): v for k, v in gb_by_type.items()},
                    "by_device": gb_by_device,
                    "rejected": {
                        k[len("gbt26875_rejected_") :]: v
                        for k, v in counters.items()
                        if k.startswith("gbt26875_rejected_")
                    },
                },
            }

        return await self._run(_summary)
