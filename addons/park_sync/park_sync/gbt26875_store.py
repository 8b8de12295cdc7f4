"""The GB/T 26875.3 tables of the outbox database; the only module that touches them.

``gbt26875_queue`` holds encoded information objects until the centre confirms the frame that carried them
(the same never-lose-a-record rule as the HTTP outbox): priority first (fire alarms 0), then arrival. A record
for a unit raises the unit's earlier pending records to its priority, so a unit's records keep their order.
A frame's serial number is stored on its rows before it is written, so after a crash the same objects go
again under the same serial and the centre can tell a resend. ``gbt26875_reported`` is the last state queued
per unit (changes are found against it across restarts), ``gbt26875_dead`` the records the centre kept
denying, ``gbt26875_history`` the confirmed operation records (the centre's reads 64/84),
``gbt26875_operators`` the operator number of each HA user (1-255, first come).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .gbt26875 import MAX_DATA, SERIAL_MAX

if TYPE_CHECKING:
    from .outbox import Outbox

# Schema version 2 (see outbox.MIGRATIONS).
TABLES_V2 = (
    "CREATE TABLE gbt26875_queue ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, priority INTEGER NOT NULL, type INTEGER NOT NULL,"
    " key TEXT NOT NULL, object BLOB NOT NULL, created REAL NOT NULL, serial INTEGER,"
    " denied INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX gbt26875_queue_order ON gbt26875_queue(priority, seq)",
    "CREATE INDEX gbt26875_queue_key ON gbt26875_queue(key)",
    "CREATE TABLE gbt26875_reported (key TEXT PRIMARY KEY, value REAL NOT NULL, at REAL NOT NULL)",
    "CREATE TABLE gbt26875_dead ("
    " seq INTEGER PRIMARY KEY, priority INTEGER NOT NULL, type INTEGER NOT NULL, key TEXT NOT NULL,"
    " object BLOB NOT NULL, created REAL NOT NULL, reason TEXT NOT NULL, dead_at REAL NOT NULL)",
    "CREATE TABLE gbt26875_history ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, type INTEGER NOT NULL, object BLOB NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX gbt26875_history_type ON gbt26875_history(type, seq)",
    "CREATE TABLE gbt26875_operators (user_id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE)",
)
ANALOGUE = 3
MAX_OBJECTS = 255
HISTORY_TYPES = frozenset({4, 24})
OPERATORS_MAX = 255


@dataclass(slots=True, frozen=True)
class Item:
    """One object to queue; ``value`` is what ``gbt26875_reported`` keeps for the unit (None: nothing)."""

    priority: int
    type: int
    key: str
    object: bytes
    value: float | None = None


@dataclass(slots=True, frozen=True)
class Batch:
    """Objects of one type that go in one frame; ``serial`` is set when they went before (a resend)."""

    type: int
    seqs: tuple[int, ...]
    objects: tuple[bytes, ...]
    serial: int | None
    priority: int

    @property
    def data(self) -> bytes:
        return bytes((self.type, len(self.objects))) + b"".join(self.objects)


class GBT26875Store:
    def __init__(self, outbox: Outbox) -> None:
        self._box = outbox  # owns the connection and its thread
        self.pending = 0
        self.dead = 0
        self._serial = 0

    async def open(self) -> dict[str, tuple[float, float]]:
        """Counts, the serial counter, and the last state queued per unit."""

        def _q() -> dict[str, tuple[float, float]]:
            db = self._box.db
            self.pending = db.execute("SELECT COUNT(*) FROM gbt26875_queue").fetchone()[0]
            self.dead = db.execute("SELECT COUNT(*) FROM gbt26875_dead").fetchone()[0]
            self._serial = int(self._box._meta_get("gbt26875_serial") or 0)
            return {k: (v, a) for k, v, a in db.execute("SELECT key, value, at FROM gbt26875_reported")}

        return await self._box.run(_q)

    async def put(self, items: list[Item]) -> None:
        """Queue objects durably (one transaction), with the units' new reported states."""
        if not items:
            return

        def _w() -> None:
            db, now = self._box.db, time.time()
            db.execute("BEGIN IMMEDIATE")
            try:
                for it in items:
                    if it.type == ANALOGUE:  # only the newest value of a unit waits
                        cur = db.execute(
                            "DELETE FROM gbt26875_queue WHERE key = ? AND serial IS NULL", (it.key,)
                        )
                        self.pending -= cur.rowcount
                    db.execute(
                        "UPDATE gbt26875_queue SET priority = ? WHERE key = ? AND priority > ?",
                        (it.priority, it.key, it.priority),
                    )
                    db.execute(
                        "INSERT INTO gbt26875_queue(priority, type, key, object, created)"
                        " VALUES(?, ?, ?, ?, ?)",
                        (it.priority, it.type, it.key, it.object, now),
                    )
                    self.pending += 1
                    if it.value is not None:
                        db.execute(
                            "INSERT INTO gbt26875_reported(key, value, at) VALUES(?, ?, ?)"
                            " ON CONFLICT(key) DO UPDATE SET value = excluded.value, at = excluded.at",
                            (it.key, it.value, now),
                        )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self.pending = db.execute("SELECT COUNT(*) FROM gbt26875_queue").fetchone()[0]
                raise

        await self._box.run(_w)

    async def next_batch(self) -> Batch | None:
        """A resend first (rows that went under a serial), else the first row in order and the rows of its
        priority and type after it (a row the centre denied goes alone)."""

        def _q() -> Batch | None:
            db = self._box.db
            row = db.execute(
                "SELECT serial FROM gbt26875_queue WHERE serial IS NOT NULL ORDER BY priority, seq LIMIT 1"
            ).fetchone()
            if row is not None:
                rows = db.execute(
                    "SELECT seq, priority, type, object FROM gbt26875_queue WHERE serial = ? ORDER BY seq",
                    (row[0],),
                ).fetchall()
                return _batch(rows, row[0])
            first = db.execute(
                "SELECT seq, priority, type, object, denied FROM gbt26875_queue"
                " ORDER BY priority, seq LIMIT 1"
            ).fetchone()
            if first is None:
                return None
            rows = [first[:4]]
            if not first[4]:
                size = 2 + len(first[3])
                for rest in db.execute(
                    "SELECT seq, priority, type, object FROM gbt26875_queue"
                    " WHERE priority = ? AND type = ? AND seq > ? AND denied = 0 AND serial IS NULL"
                    " ORDER BY seq LIMIT ?",
                    (first[1], first[2], first[0], MAX_OBJECTS - 1),
                ):
                    size += len(rest[3])
                    if size > MAX_DATA:
                        break
                    rows.append(rest)
            return _batch(rows, None)

        return await self._box.run(_q)

    async def assign_serial(self, batch: Batch) -> int:
        """The batch's serial (its old one for a resend), stored on its rows before it is written."""
        if batch.serial is not None:
            return batch.serial
        self._serial = self._serial % SERIAL_MAX + 1
        serial = self._serial

        def _w() -> None:
            db = self._box.db
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "UPDATE gbt26875_queue SET serial = ? WHERE seq = ?", ((serial, s) for s in batch.seqs)
            )
            self._box._meta_set("gbt26875_serial", str(serial))
            db.execute("COMMIT")

        await self._box.run(_w)
        return serial

    async def confirmed(self, batch: Batch) -> None:
        """The centre confirmed the frame: its records leave (operation records go to the history)."""

        def _w() -> None:
            db, now = self._box.db, time.time()
            db.execute("BEGIN IMMEDIATE")
            cur = db.executemany("DELETE FROM gbt26875_queue WHERE seq = ?", ((s,) for s in batch.seqs))
            self.pending -= cur.rowcount
            if batch.type in HISTORY_TYPES:
                db.executemany(
                    "INSERT INTO gbt26875_history(type, object, at) VALUES(?, ?, ?)",
                    ((batch.type, o, now) for o in batch.objects),
                )
            db.execute("COMMIT")

        await self._box.run(_w)

    async def denied(self, batch: Batch, limit: int, reason: str) -> int:
        """The centre denied the frame: its rows go again alone, under a new serial; a row denied ``limit``
        times becomes a dead letter. Returns how many did."""

        def _w() -> int:
            db, now = self._box.db, time.time()
            db.execute("BEGIN IMMEDIATE")
            marks = ((s,) for s in batch.seqs)
            db.executemany(
                "UPDATE gbt26875_queue SET denied = denied + 1, serial = NULL WHERE seq = ?", marks
            )
            args = (reason, now, limit)
            cur = db.execute(
                "INSERT INTO gbt26875_dead(seq, priority, type, key, object, created, reason, dead_at)"
                " SELECT seq, priority, type, key, object, created, ?, ? FROM gbt26875_queue"
                " WHERE denied >= ?",
                args,
            )
            moved = cur.rowcount
            db.execute("DELETE FROM gbt26875_queue WHERE denied >= ?", (limit,))
            db.execute("COMMIT")
            self.pending -= moved
            self.dead += moved
            return moved

        return await self._box.run(_w)

    async def requeue_dead(self) -> int:
        def _w() -> int:
            db = self._box.db
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute(
                "INSERT INTO gbt26875_queue(priority, type, key, object, created)"
                " SELECT priority, type, key, object, created FROM gbt26875_dead ORDER BY seq"
            )
            back = cur.rowcount
            db.execute("DELETE FROM gbt26875_dead")
            db.execute("COMMIT")
            self.pending += back
            self.dead = 0
            return back

        return await self._box.run(_w)

    async def history(self, type_flag: int, since: float, count: int) -> list[bytes]:
        """The newest ``count`` confirmed operation records of a type since ``since`` (epoch s), oldest
        first."""

        def _q() -> list[bytes]:
            rows = self._box.db.execute(
                "SELECT object FROM gbt26875_history WHERE type = ? AND at >= ? ORDER BY seq DESC LIMIT ?",
                (type_flag, since, count),
            ).fetchall()
            return [bytes(r[0]) for r in reversed(rows)]

        return await self._box.run(_q)

    async def prune(self, before: float) -> None:
        await self._box.run(
            lambda: self._box.db.execute("DELETE FROM gbt26875_history WHERE at < ?", (before,))
        )

    async def operator(self, user_id: str | None) -> int:
        """The operator number of an HA user (0: no user, an automation or the system)."""
        if not user_id:
            return 0

        def _w() -> int:
            db = self._box.db
            row = db.execute("SELECT number FROM gbt26875_operators WHERE user_id = ?", (user_id,)).fetchone()
            if row is not None:
                return int(row[0])
            top = db.execute("SELECT COALESCE(MAX(number), 0) FROM gbt26875_operators").fetchone()[0]
            if top >= OPERATORS_MAX:
                return OPERATORS_MAX  # every number taken: later users share the last one
            db.execute("INSERT INTO gbt26875_operators(user_id, number) VALUES(?, ?)", (user_id, top + 1))
            return int(top) + 1

        return await self._box.run(_w)


def _batch(rows: list[tuple[int, int, int, bytes]], serial: int | None) -> Batch:
    return Batch(
        type=int(rows[0][2]),
        seqs=tuple(int(r[0]) for r in rows),
        objects=tuple(bytes(r[3]) for r in rows),
        serial=serial,
        priority=int(rows[0][1]),
    )
