"""PostgreSQL schema of the central's scale-out store, and its monthly partitions (created on demand).

``records`` is RANGE-partitioned by month on the record's ts (the park's time, not arrival), so old months
can be detached or dropped whole. Idempotency on record id is kept by ``record_ids``, one small unpartitioned
table of ids: a primary key on a partitioned table must include the partition key, so ``PRIMARY KEY (id, ts)``
alone only catches a resend with the very same ts; the same record id with another ts (a resend after the
park's clock was corrected, or the HTTP and MQTT uplinks stamping one record differently) would land in
another partition as a second row. Inserting the id into ``record_ids`` first (ON CONFLICT DO NOTHING
RETURNING id) and then only the returned ids into ``records`` makes "one row per id" hold across partitions
and across concurrent writers (a second transaction inserting the same id waits for the first, then inserts
nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql

SCHEMA = """
CREATE TABLE IF NOT EXISTS record_ids (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS records (
  id TEXT NOT NULL, park_id TEXT NOT NULL, kind TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, ts_text TEXT NOT NULL,
  device TEXT, data JSONB NOT NULL, batch_id TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
  committed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX IF NOT EXISTS records_park_kind_ts ON records (park_id, kind, ts);
CREATE TABLE IF NOT EXISTS devices (
  device TEXT PRIMARY KEY, park_id TEXT NOT NULL, type TEXT NOT NULL,
  connected_at DOUBLE PRECISION, last_seen_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
  seq BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL, field TEXT NOT NULL, error TEXT NOT NULL,
  payload BYTEA NOT NULL, received_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  batch_id TEXT PRIMARY KEY, park_id TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
  response JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS hj212 (
  mn TEXT NOT NULL, cn TEXT NOT NULL, data_time TEXT NOT NULL, qn TEXT NOT NULL, st TEXT NOT NULL,
  cp TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (mn, cn, data_time));
-- A counter is the sum of its shards: each writer bumps its own row, so concurrent consumers do not queue on
-- one hot row (held from the bump to the commit).
CREATE TABLE IF NOT EXISTS counters (
  name TEXT NOT NULL, shard INTEGER NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (name, shard));
CREATE TABLE IF NOT EXISTS gbt26875 (
  seq BIGSERIAL PRIMARY KEY, device TEXT NOT NULL, serial INTEGER NOT NULL, type INTEGER NOT NULL,
  idx INTEGER NOT NULL, record TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
  UNIQUE (device, serial, type, idx, record));
"""
# Two writers creating the schema or the same month's partition at once must not trip over each other.
_LOCK_KEY = 0x5350_4855_4200  # "SPHUB"


def month_start(ts: datetime) -> datetime:
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


async def create_schema(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute(SCHEMA)


async def existing_months(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[datetime]:
    cur = await conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'records'::regclass"
    )
    out = set()
    for (name,) in await cur.fetchall():
        # records_y2026m11
        year, month = str(name)[len("records_y") :].split("m")
        out.add(datetime(int(year), int(month), 1, tzinfo=UTC))
    return out


async def ensure_months(conn: psycopg.AsyncConnection[tuple[object, ...]], months: set[datetime]) -> None:
    """Create the partitions of these months when missing, each in its own short transaction (the CREATE
    locks the parent table for a moment; a month is made once)."""
    for start in sorted(months):
        name = f"records_y{start.year:04d}m{start.month:02d}"
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF records FOR VALUES FROM ({}) TO ({})"
                ).format(sql.Identifier(name), sql.Literal(start), sql.Literal(_next_month(start)))
            )
