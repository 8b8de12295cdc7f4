"""Durable SQLite outbox (WAL, synchronous=FULL).

A record counts as taken only once its transaction has committed; it is deleted only when the central
acknowledges its id. Overflow policy: when more than ``max_records`` are held, telemetry is thinned oldest-
first (every other record of the oldest stretch, so the series keeps coverage at lower resolution) and counted
in ``thinned_telemetry``; incidents, audit, enterprise and figure records are never dropped, even if that
means going over capacity. Records the central refuses by name move to the ``dead_letter`` table (same
transaction, so a crash leaves each record in exactly one of the two) until an operator re-queues them. The
same database holds the HJ 212 history and pending queue (tables owned by ``hj212_store``) and the GB/T
26875.3 queue (``gbt26875_store``) so one file carries all state across restarts; ``schema`` versions it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import gbt26875_store, hj212_store
from .schema import Migration, migrate

_LOGGER = logging.getLogger(__name__)

TELEMETRY = "telemetry"
KINDS = (TELEMETRY, "incident", "audit", "enterprise", "figure", "health")

# Schema version 1: the tables as they were before versioning, so such files (user_version 0) adopt it as is.
# This module owns outbox, dead_letter and meta; hj212_store owns the HJ 212 tables.
_TABLES_V1 = (
    "CREATE TABLE IF NOT EXISTS outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    " priority INTEGER NOT NULL, created REAL NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS outbox_order ON outbox(priority, seq)",
    "CREATE INDEX IF NOT EXISTS outbox_kind ON outbox(kind, seq)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dead_letter ("
    " id TEXT PRIMARY KEY, kind TEXT NOT NULL, priority INTEGER NOT NULL, created REAL NOT NULL,"
    " body TEXT NOT NULL, reason TEXT NOT NULL, dead_at REAL NOT NULL)",
)

# Append only; never edit a released step (files in the field are at its version already).
MIGRATIONS: tuple[Migration, ...] = (
    Migration("outbox, dead letters, meta and HJ 212 tables", _TABLES_V1 + hj212_store.TABLES_V1),
    Migration(
        "GB/T 26875.3 queue, reported states, dead letters, history, operators", gbt26875_store.TABLES_V2
    ),
)


@dataclass(slots=True, frozen=True)
class Record:
    """One item for the central. ``id`` is stable: the same fact always gets the same id."""

    id: str
    kind: str
    ts: str
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "kind": self.kind, "ts": self.ts, "data": self.data},
            ensure_ascii=False,
            separators=(",", ":"),
        )


@dataclass(slots=True, frozen=True)
class Stored:
    seq: int
    id: str
    kind: str
    created: float
    body: str


class Outbox:
    def __init__(self, path: str | Path, max_records: int = 500_000) -> None:
        self.path = str(path)
        self.max_records = max_records
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="park-sync-outbox")
        self._db: sqlite3.Connection | None = None
        self.pending = 0
        self.thinned = 0
        self.enqueued_total = 0
        self.dead = 0
        # Newest dead letters (id, kind, reason, time) for the status page; never the body (personal data).
        self.dead_recent: list[dict[str, Any]] = []
        self.over_capacity_warned = False
        self._thin_warned = False
        # Set whenever records are added, so the uplink can wake without polling.
        self.changed = asyncio.Event()

    # --- plumbing -------------------------------------------------------------------------------------------
    async def open(self) -> None:
        await self.run(self._open)

    def _open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        try:
            migrate(db, MIGRATIONS, self.path)
        except BaseException:
            db.close()
            raise
        self._db = db
        self.pending = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        self.thinned = int(self._meta_get("thinned_telemetry") or 0)
        self._load_dead()

    def _load_dead(self) -> None:
        db = self.db
        self.dead = db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0]
        self.dead_recent = [
            {"id": i, "kind": k, "reason": r, "at": round(t, 3)}
            for i, k, r, t in db.execute(
                "SELECT id, kind, reason, dead_at FROM dead_letter ORDER BY dead_at DESC, id LIMIT 10"
            )
        ]

    async def close(self) -> None:
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def run[T](self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the single database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("outbox is not open")
        return self._db

    def _meta_get(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _meta_set(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(name, value) VALUES(?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    async def meta_get(self, name: str) -> str | None:
        return await self.run(self._meta_get, name)

    async def meta_set(self, name: str, value: str) -> None:
        await self.run(self._meta_set, name, value)

    # --- records --------------------------------------------------------------------------------------------
    async def put(self, records: Sequence[Record]) -> int:
        """Durably add records (duplicates by id are ignored). Returns how many were new."""
        if not records:
            return 0
        rows = [(r.id, r.kind, 1 if r.kind == TELEMETRY else 0, r.to_json()) for r in records]
        new = await self.run(self._put, rows)
        self.enqueued_total += new
        self.changed.set()
        return new

    def _put(self, rows: Iterable[tuple[str, str, int, str]]) -> int:
        db = self.db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO outbox(id, kind, priority, created, body) VALUES(?, ?, ?, ?, ?)",
                ((i, k, p, now, b) for i, k, p, b in rows),
            )
            new = db.total_changes - before
            self.pending += new
            if self.pending > self.max_records:
                self._thin(self.pending - self.max_records)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self.pending = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            raise
        return new

    def _thin(self, excess: int) -> None:
        db = self.db
        oldest = [
            r[0]
            for r in db.execute(
                "SELECT seq FROM outbox WHERE kind = ? ORDER BY seq LIMIT ?", (TELEMETRY, 2 * excess)
            )
        ]
        victims = oldest[1::2][:excess]  # every other one of the oldest stretch
        if len(victims) < excess:
            keep = set(victims)
            victims += [s for s in oldest if s not in keep][: excess - len(victims)]
        db.executemany("DELETE FROM outbox WHERE seq = ?", ((s,) for s in victims))
        self.pending -= len(victims)
        self.thinned += len(victims)
        self._meta_set("thinned_telemetry", str(self.thinned))
        if len(victims) < excess and not self.over_capacity_warned:
            # Only protected kinds are left: keep them all, say so once.
            self.over_capacity_warned = True
            _LOGGER.warning(
                "Outbox over capacity (%d > %d) with only incidents/audit/enterprise records left; "
                "keeping them all (they are never dropped)",
                self.pending,
                self.max_records,
            )
        elif victims and not self._thin_warned:
            self._thin_warned = True
            _LOGGER.warning(
                "Outbox full (%d records): thinning oldest telemetry, see thinned_telemetry in status",
                self.max_records,
            )

    async def peek(self, max_records: int, max_bytes: int) -> list[Stored]:
        """The next batch in send order (incidents/audit first, then oldest first), within both limits."""
        return await self.run(self._peek, max_records, max_bytes)

    def _peek(self, max_records: int, max_bytes: int) -> list[Stored]:
        out: list[Stored] = []
        size = 0
        for seq, rid, kind, created, body in self.db.execute(
            "SELECT seq, id, kind, created, body FROM outbox ORDER BY priority, seq LIMIT ?", (max_records,)
        ):
            size += len(body) + 1
            if out and size > max_bytes:
                break
            out.append(Stored(seq, rid, kind, created, body))
        return out

    async def ack(self, ids: Iterable[str]) -> int:
        """Delete acknowledged records; only now are they gone."""
        n = await self.run(self._ack, list(ids))
        return n

    def _ack(self, ids: list[str]) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        before = db.total_changes
        db.executemany("DELETE FROM outbox WHERE id = ?", ((i,) for i in ids))
        n = db.total_changes - before
        db.execute("COMMIT")
        self.pending -= n
        return n

    # --- dead letters ---------------------------------------------------------------------------------------
    async def set_aside(self, reasons: dict[str, str]) -> int:
        """Move refused records (id -> reason) from the outbox to the dead-letter table in one transaction."""
        n = await self.run(self._set_aside, reasons)
        return n

    def _set_aside(self, reasons: dict[str, str]) -> int:
        db = self.db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            moved = 0
            for rid, reason in reasons.items():
                cur = db.execute(
                    "INSERT OR REPLACE INTO dead_letter(id, kind, priority, created, body, reason, dead_at)"
                    " SELECT id, kind, priority, created, body, ?, ? FROM outbox WHERE id = ?",
                    (reason, now, rid),
                )
                if cur.rowcount:
                    db.execute("DELETE FROM outbox WHERE id = ?", (rid,))
                    moved += 1
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.pending -= moved
        self._load_dead()
        return moved

    async def requeue_dead(self, ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or the given ids) back to the outbox; returns how many went back."""
        n = await self.run(self._requeue_dead, None if ids is None else list(ids))
        if n:
            self.changed.set()
        return n

    def _requeue_dead(self, ids: list[str] | None) -> int:
        db = self.db
        copy = (
            "INSERT OR IGNORE INTO outbox(id, kind, priority, created, body)"
            " SELECT id, kind, priority, created, body FROM dead_letter"
        )
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            if ids is None:
                db.execute(copy + " ORDER BY dead_at, id")
                back = db.total_changes - before
                db.execute("DELETE FROM dead_letter")
            else:
                db.executemany(copy + " WHERE id = ?", ((i,) for i in ids))
                back = db.total_changes - before
                db.executemany("DELETE FROM dead_letter WHERE id = ?", ((i,) for i in ids))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.pending += back
        self._load_dead()
        return back

    async def oldest_created(self) -> float | None:
        def _q() -> float | None:
            # seq order is arrival order, so the first row is the oldest (and this uses the primary key).
            row = self.db.execute("SELECT created FROM outbox ORDER BY seq LIMIT 1").fetchone()
            return None if row is None else float(row[0])

        return await self.run(_q)

    async def counts(self) -> dict[str, int]:
        def _q() -> dict[str, int]:
            return {
                str(k): int(n) for k, n in self.db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind")
            }

        return await self.run(_q)

    async def ids(self) -> list[str]:
        return await self.run(lambda: [r[0] for r in self.db.execute("SELECT id FROM outbox ORDER BY seq")])
