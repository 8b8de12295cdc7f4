"""The HJ 212 tables of the outbox database; the only module that touches them.

``hj212_samples`` holds raw pollutant readings until their windows are aggregated (and pruned after
``history_days``); ``hj212_history`` holds minute/hourly CPs, ``sent=0`` until the platform's 9014, kept
afterwards for backfill requests. Everything runs on the outbox's database thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .outbox import Outbox

# Schema version 1 (see outbox.MIGRATIONS); IF NOT EXISTS so files from before versioning adopt it as is.
TABLES_V1 = (
    "CREATE TABLE IF NOT EXISTS hj212_samples (code TEXT NOT NULL, ts REAL NOT NULL, value REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hj212_samples_ts ON hj212_samples(ts)",
    "CREATE TABLE IF NOT EXISTS hj212_history ("
    " cn TEXT NOT NULL, data_time TEXT NOT NULL, cp TEXT NOT NULL, created REAL NOT NULL,"
    " sent INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (cn, data_time))",
)

type Sample = tuple[str, float, float]  # code, epoch seconds, value
type Aggregate = tuple[str, float, float, float]  # code, avg, min, max
type Pending = tuple[str, str, str]  # cn, data_time, cp


class HJ212Store:
    def __init__(self, outbox: Outbox) -> None:
        self._box = outbox  # owns the connection and its thread

    async def add_samples(self, samples: Sequence[Sample]) -> None:
        def _w() -> None:
            db = self._box.db
            db.execute("BEGIN")
            db.executemany("INSERT INTO hj212_samples(code, ts, value) VALUES(?, ?, ?)", samples)
            db.execute("COMMIT")

        await self._box.run(_w)

    async def aggregate(self, start: float, end: float) -> list[Aggregate]:
        """Avg/min/max per pollutant code over [start, end), by code."""

        def _q() -> list[Aggregate]:
            return self._box.db.execute(
                "SELECT code, AVG(value), MIN(value), MAX(value) FROM hj212_samples WHERE ts >= ? AND ts < ?"
                " GROUP BY code ORDER BY code",
                (start, end),
            ).fetchall()

        return await self._box.run(_q)

    async def add_history(self, cn: str, data_time: str, cp: str) -> None:
        """Queue one minute/hourly CP; a window already stored keeps its first CP."""

        def _w() -> None:
            db = self._box.db
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR IGNORE INTO hj212_history(cn, data_time, cp, created) VALUES(?, ?, ?, ?)",
                (cn, data_time, cp, time.time()),
            )
            db.execute("COMMIT")

        await self._box.run(_w)

    async def pending(self, limit: int) -> list[Pending]:
        """Unacknowledged history, oldest data time first."""

        def _q() -> list[Pending]:
            return self._box.db.execute(
                "SELECT cn, data_time, cp FROM hj212_history WHERE sent = 0 ORDER BY data_time, cn LIMIT ?",
                (limit,),
            ).fetchall()

        return await self._box.run(_q)

    async def mark_sent(self, cn: str, data_time: str) -> None:
        def _w() -> None:
            self._box.db.execute(
                "UPDATE hj212_history SET sent = 1 WHERE cn = ? AND data_time = ?", (cn, data_time)
            )

        await self._box.run(_w)

    async def history(self, cn: str, begin: str, end: str) -> list[str]:
        """CPs of ``cn`` with data time in [begin, end] (HJ 212 time strings sort as times), oldest first."""

        def _q() -> list[str]:
            return [
                str(r[0])
                for r in self._box.db.execute(
                    "SELECT cp FROM hj212_history WHERE cn = ? AND data_time >= ? AND data_time <= ?"
                    " ORDER BY data_time",
                    (cn, begin, end),
                )
            ]

        return await self._box.run(_q)

    async def prune(self, before: float) -> None:
        """Drop samples, and history already acknowledged, older than ``before`` (epoch seconds)."""

        def _w() -> None:
            db = self._box.db
            db.execute("DELETE FROM hj212_samples WHERE ts < ?", (before,))
            db.execute("DELETE FROM hj212_history WHERE sent = 1 AND created < ?", (before,))

        await self._box.run(_w)
