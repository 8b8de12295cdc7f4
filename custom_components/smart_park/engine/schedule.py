"""Bus-time scheduling: who takes a gateway's line next (#16).

A gateway carries one transaction at a time. Requests wait in lanes: the safety tier (call points, alarm
buttons), writes (bells, lamps, broadcast), then the measurement tiers fast, normal and slow. When the line
frees, :class:`BusScheduler` grants it to

1. the safety lane, unless another lane is *owed its floor share*: every lane but safety keeps a guaranteed
   share of the line while it has requests waiting (:data:`FLOOR_SHARES`), so nothing starves, not even
   behind a safety tier that cannot keep its own period (the owed lane that has waited longest goes first);
2. otherwise the write lane: a bell or lamp write goes before every measurement read, owed or not (writes
   are few, and an alarm's bells are what the safety reads were for);
3. otherwise the measurement request with the earliest deadline (a cycle's deadline is its start plus the
   tier's period, stretched evenly by the poller when the bus cannot carry every tier at its period).

The grant is decided one loop iteration after the release, so the task that just finished a request can queue
the next one of the same cycle first: a safety cycle runs back to back instead of letting a measurement
request in between each of its reads. No I/O here; the gateway client (:mod:`.client`) holds a scheduler.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class Lane(IntEnum):
    """A request's class on the line, in priority order."""

    SAFETY = 0
    WRITE = 1
    FAST = 2
    NORMAL = 3
    SLOW = 4


MEASUREMENT_LANES = (Lane.FAST, Lane.NORMAL, Lane.SLOW)
# Guaranteed share of the line while a lane has requests waiting; safety takes what is left (at least 85 %).
# Small: they only bind when safety reads fill the line, and every point of them delays a call point's read.
FLOOR_SHARES: Mapping[Lane, float] = {Lane.WRITE: 0.05, Lane.FAST: 0.06, Lane.NORMAL: 0.03, Lane.SLOW: 0.01}


@dataclass(order=True, slots=True)
class _Waiter:
    key: tuple[float, int]
    future: asyncio.Future[None] = field(compare=False)
    cost: float = field(compare=False)


@dataclass(slots=True)
class _LaneState:
    """One lane's waiters (by deadline, then arrival) and its floor-share credit in line seconds."""

    waiters: list[_Waiter] = field(default_factory=list)
    credit: float = 0.0
    used: float = 0.0
    served: int = 0


class _Slot:
    """One transaction's hold on the line: :meth:`BusScheduler.slot`."""

    __slots__ = ("_cost", "_deadline", "_lane", "_scheduler", "_started")

    def __init__(self, scheduler: BusScheduler, lane: Lane, deadline: float, cost: float) -> None:
        self._scheduler, self._lane, self._deadline, self._cost = scheduler, lane, deadline, cost
        self._started = 0.0

    async def __aenter__(self) -> None:
        scheduler = self._scheduler
        await scheduler._acquire(self._lane, self._deadline, self._cost)
        self._started = scheduler._clock()

    async def __aexit__(self, *_exc: object) -> None:
        scheduler = self._scheduler
        scheduler._release(self._lane, scheduler._clock() - self._started)


class BusScheduler:
    """Grants one gateway's line to one request at a time (see the module's text for the order)."""

    def __init__(
        self,
        floors: Mapping[Lane, float] = FLOOR_SHARES,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._floors = dict(floors)
        self._clock = clock
        self._lanes = {lane: _LaneState() for lane in Lane}
        self._seq = itertools.count()
        self._busy = False
        self._granting = False
        self._credited_at = clock()

    def slot(self, lane: Lane, *, deadline: float = 0.0, cost: float = 0.0) -> _Slot:
        """Hold the line for one transaction (``async with``). ``cost``: its expected line time.

        A plain async context manager, not ``@asynccontextmanager``: every request goes through here, and a
        generator-based manager costs a generator, its frames and two ``send`` calls per request.
        """
        return _Slot(self, lane, deadline, cost)

    async def _acquire(self, lane: Lane, deadline: float, cost: float) -> None:
        if not (self._busy or self._granting):
            self._busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state = self._lanes[lane]
        heapq.heappush(state.waiters, _Waiter((deadline, next(self._seq)), future, cost))
        try:
            await future
        except asyncio.CancelledError:
            # Granted just as we were cancelled: pass the line on instead of leaking it.
            if future.done() and not future.cancelled():
                self._release(lane, 0.0)
            else:
                self._drop(state, future)
            raise

    def usage(self) -> dict[Lane, tuple[int, float]]:
        """Per lane: transactions served and line seconds they held."""
        return {lane: (state.served, state.used) for lane, state in self._lanes.items()}

    def waiting(self, lane: Lane) -> int:
        """Requests of ``lane`` waiting for the line."""
        return len(self._lanes[lane].waiters)

    def _drop(self, state: _LaneState, future: asyncio.Future[None]) -> None:
        state.waiters = [w for w in state.waiters if w.future is not future]
        heapq.heapify(state.waiters)

    def _release(self, lane: Lane, held: float) -> None:
        state = self._lanes[lane]
        state.served += 1
        state.used += held
        if lane in self._floors:
            # Served: spend the credit, but owe at most this one transaction (no long debt to pay off later).
            state.credit = max(state.credit - held, -held)
        if any(s.waiters for s in self._lanes.values()):
            # Decide on the next loop iteration: the releasing task may queue its cycle's next request first.
            self._busy = False
            self._granting = True
            asyncio.get_running_loop().call_soon(self._grant)
        else:
            self._busy = False

    def _accrue(self) -> None:
        """Credit every waiting floor lane with its share of the time since the last grant."""
        now = self._clock()
        elapsed, self._credited_at = now - self._credited_at, now
        for lane, share in self._floors.items():
            state = self._lanes[lane]
            if state.waiters:
                # Capped at the head request's cost (at least 1 ms): a lane banks no more than one turn.
                cap = max(state.waiters[0].cost, 0.001)
                state.credit = min(state.credit + share * elapsed, cap)

    def _pick(self) -> _LaneState | None:
        if self._lanes[Lane.SAFETY].waiters:
            owed = [
                state
                for lane in self._floors
                if (state := self._lanes[lane]).waiters and state.credit >= max(state.waiters[0].cost, 0.001)
            ]
            if owed:
                return min(owed, key=lambda s: s.waiters[0].key[1])  # the longest-waiting owed lane
            return self._lanes[Lane.SAFETY]
        if self._lanes[Lane.WRITE].waiters:
            return self._lanes[Lane.WRITE]
        heads = [state for lane in MEASUREMENT_LANES if (state := self._lanes[lane]).waiters]
        return min(heads, key=lambda s: s.waiters[0].key) if heads else None

    def _grant(self) -> None:
        self._granting = False
        if self._busy:
            return
        self._accrue()
        while (state := self._pick()) is not None:
            waiter = heapq.heappop(state.waiters)
            if waiter.future.done():  # cancelled while waiting
                continue
            self._busy = True
            waiter.future.set_result(None)  # ownership passes straight to the waiter
            return
