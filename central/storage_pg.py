"""PostgreSQL store of the central (``python -m central --pg <dsn>`` and the MQTT consumers).

The same public coroutines as storage.Storage (store_batch, records, record_ids, summary, bump, the HJ 212 and
GB/T 26875.3 ones), so the HTTP ingest and the TCP receivers run on it unchanged, plus ``store_mqtt`` for the
consumers and a small read surface (``devices``, ``fetch``) for district queries. Every write coroutine
commits before it returns: a return (and so an HTTP answer or an MQTT PUBACK) means the rows are durable.
Schema and idempotency: central/pg_schema.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .pg_reads import PgReads
from .pg_schema import create_schema, ensure_months, existing_months, month_start

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class RecordRow:
    id: str
    park_id: str
    kind: str
    ts: datetime  # partition key: the record's time, or its arrival when it has none readable
    ts_text: str  # as the park sent it
    device: str | None
    data: dict[str, Any]
    batch_id: str
    received_at: float


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    device: str
    park_id: str
    type: str | None  # from v1/gateway/connect; None: only seen in telemetry
    at: float


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    field: str
    error: str
    payload: bytes
    received_at: float


def parse_ts(text: str, fallback: float) -> datetime:
    """A record's ts (ISO 8601) as an aware datetime; unreadable or naive-less-than-sane: its arrival time."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(fallback, UTC)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts if 2000 <= ts.year < 2200 else datetime.fromtimestamp(fallback, UTC)


_INSERT_IDS = "INSERT INTO record_ids(id) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING RETURNING id"
_INSERT_RECORDS = (
    "INSERT INTO records(id, park_id, kind, ts, ts_text, device, data, batch_id, received_at)"
    " SELECT i, p, k, t, tt, d, j::jsonb, b, r FROM unnest(%s::text[], %s::text[], %s::text[],"
    " %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[])"
    " AS u(i, p, k, t, tt, d, j, b, r)"
)


# One statement for a batch's devices (a round trip each was the consumers' bottleneck), in device order so
# concurrent consumers lock rows in the same order. connected_at NULL: seen in data, never announced.
_UPSERT_DEVICES = (
    "INSERT INTO devices(device, park_id, type, connected_at, last_seen_at)"
    " SELECT d, p, COALESCE(t, 'device'), CASE WHEN t IS NULL THEN NULL ELSE a END, a"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[]) AS u(d, p, t, a) ORDER BY d"
    " ON CONFLICT(device) DO UPDATE SET"
    " type = CASE WHEN EXCLUDED.connected_at IS NULL THEN devices.type ELSE EXCLUDED.type END,"
    " connected_at = COALESCE(EXCLUDED.connected_at, devices.connected_at),"
    " last_seen_at = GREATEST(devices.last_seen_at, EXCLUDED.last_seen_at)"
)


def _device_columns(devices: Sequence[DeviceSeen]) -> list[list[Any]]:
    """One row per device (an upsert may touch a row once): the latest sighting, the latest announced type."""
    merged: dict[str, DeviceSeen] = {}
    for seen in devices:
        old = merged.get(seen.device)
        merged[seen.device] = (
            seen
            if old is None
            else DeviceSeen(seen.device, seen.park_id, seen.type or old.type, max(seen.at, old.at))
        )
    rows = [merged[k] for k in sorted(merged)]
    return [[r.device for r in rows], [r.park_id for r in rows], [r.type for r in rows], [r.at for r in rows]]


class PgStorage(PgReads):
    """One connection per process, one transaction at a time (the HTTP server's handlers share it)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()
        self._months: set[datetime] = set()

    async def open(self) -> None:
        conn: Conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        await create_schema(conn)
        self._months = await existing_months(conn)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> Conn:
        if self._conn is None:
            raise RuntimeError("storage is not open")
        return self._conn

    async def _bump(self, name: str, by: int = 1) -> None:
        if by:
            await self.conn.execute(
                "INSERT INTO counters(name, shard, value) VALUES(%s, pg_backend_pid() %% 64, %s)"
                " ON CONFLICT(name, shard) DO UPDATE SET value = counters.value + EXCLUDED.value",
                (name, by),
            )

    async def bump(self, name: str, by: int = 1) -> None:
        async with self._lock:
            await self._bump(name, by)

    async def _ensure_months(self, rows: Iterable[RecordRow]) -> None:
        # Before the write transaction: a partition created inside it would lock the parent till commit.
        missing = {month_start(r.ts) for r in rows} - self._months
        if missing:
            await ensure_months(self.conn, missing)
            self._months |= missing

    async def _insert(self, rows: Sequence[RecordRow]) -> int:
        """Insert the rows whose id is new (inside the caller's transaction); how many were new."""
        first: dict[str, RecordRow] = {}
        for row in rows:
            first.setdefault(row.id, row)
        # Sorted: two writers inserting overlapping ids lock them in the same order (no deadlock).
        cur = await self.conn.execute(_INSERT_IDS, (sorted(first),))
        new = [first[i] for (i,) in await cur.fetchall()]
        if new:
            cols = list(zip(*((
                r.id, r.park_id, r.kind, r.ts, r.ts_text, r.device,
                json.dumps(r.data, ensure_ascii=False), r.batch_id, r.received_at,
            ) for r in new), strict=True))  # fmt: skip
            await self.conn.execute(_INSERT_RECORDS, [list(c) for c in cols])
        return len(new)

    # --- HTTP ingest ----------------------------------------------------------------------------------------
    async def store_batch(
        self, park_id: str, batch_id: str, records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        now = time.time()
        rows = [
            RecordRow(
                r["id"], park_id, r["kind"], parse_ts(r["ts"], now), r["ts"], None, r["data"], batch_id, now
            )
            for r in records
        ]
        async with self._lock:
            await self._ensure_months(rows)
            async with self.conn.transaction():
                # Same batch id sent twice at once: the second waits here and then replays the first's answer.
                await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (batch_id,))
                cur = await self.conn.execute("SELECT response FROM batches WHERE batch_id = %s", (batch_id,))
                row = await cur.fetchone()
                if row is not None:
                    await self._bump("batches_replayed")
                    await self._bump("duplicates_received", len(records))
                    return {**row[0], "replayed": True}
                new = await self._insert(rows)
                response = {
                    "batch_id": batch_id,
                    "accepted": new,
                    "duplicates": len(records) - new,
                    "acked": [r["id"] for r in records],
                    "replayed": False,
                }
                await self.conn.execute(
                    "INSERT INTO batches(batch_id, park_id, received_at, response) VALUES(%s, %s, %s, %s)",
                    (batch_id, park_id, now, Jsonb(response)),
                )
                await self._bump("batches")
                await self._bump("duplicates_received", len(records) - new)
        return response

    # --- MQTT consumers -------------------------------------------------------------------------------------
    async def store_mqtt(
        self,
        rows: Sequence[RecordRow],
        devices: Sequence[DeviceSeen],
        rejected: Sequence[Rejected],
        messages: int,
    ) -> int:
        """One transaction for a batch of MQTT messages: records, device sightings, rejected payloads and
        counters. Returns how many records were new; the caller acks the messages after this returns."""
        async with self._lock:
            await self._ensure_months(rows)
            async with self.conn.transaction():
                new = await self._insert(rows) if rows else 0
                if devices:
                    await self.conn.execute(_UPSERT_DEVICES, _device_columns(devices))
                for r in rejected:
                    await self.conn.execute(
                        "INSERT INTO rejected(topic, field, error, payload, received_at)"
                        " VALUES(%s, %s, %s, %s, %s)",
                        (r.topic, r.field, r.error, r.payload, r.received_at),
                    )
                for field in sorted({r.field.split(".")[0] for r in rejected}):
                    await self._bump(
                        f"mqtt_rejected_{field}", sum(r.field.split(".")[0] == field for r in rejected)
                    )
                await self._bump("mqtt_messages", messages)
                await self._bump("duplicates_received", len(rows) - new)
        return new

    # --- HJ 212 and GB/T 26875.3 (the same meaning as storage.Storage's) ----------------------------------
    async def store_hj212(self, mn: str, cn: str, data_time: str, qn: str, st: str, cp: str) -> bool:
        async with self._lock, self.conn.transaction():
            cur = await self.conn.execute(
                "INSERT INTO hj212(mn, cn, data_time, qn, st, cp, received_at)"
                " VALUES(%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (mn, cn, data_time, qn, st, cp, time.time()),
            )
            await self._bump("hj212_packets" if cur.rowcount else "hj212_duplicates")
        return cur.rowcount == 1

    async def store_gbt26875(self, device: str, serial: int, type_flag: int, records: Sequence[str]) -> int:
        now, new = time.time(), 0
        async with self._lock, self.conn.transaction():
            for idx, record in enumerate(records):
                cur = await self.conn.execute(
                    "INSERT INTO gbt26875(device, serial, type, idx, record, received_at)"
                    " VALUES(%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (device, serial, type_flag, idx, record, now),
                )
                new += cur.rowcount
            await self._bump("gbt26875_records", new)
            await self._bump("gbt26875_duplicates", len(records) - new)
        return new
