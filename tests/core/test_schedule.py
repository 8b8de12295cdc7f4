"""The bus scheduler (engine/schedule.py): who takes the line next. A fake clock that only the holders advance
makes the floor shares exact; no I/O."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.smart_park.engine.schedule import FLOOR_SHARES, BusScheduler, Lane


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _hold(scheduler: BusScheduler, clock: Clock, lane: Lane, order: list[Lane], **kw: float) -> None:
    async with scheduler.slot(lane, **kw):
        order.append(lane)
        clock.now += kw.get("cost", 0.01)
        await asyncio.sleep(0)


async def test_safety_then_writes_then_earliest_deadline() -> None:
    clock = Clock()
    scheduler = BusScheduler({}, clock=clock)
    order: list[Lane] = []
    release = asyncio.Event()

    async def slow_holder() -> None:
        async with scheduler.slot(Lane.SLOW):
            order.append(Lane.SLOW)
            await release.wait()

    first = asyncio.create_task(slow_holder())
    await asyncio.sleep(0)  # SLOW holds the line; the rest queue behind it
    waiting = [
        asyncio.create_task(_hold(scheduler, clock, Lane.FAST, order, deadline=10.0)),
        asyncio.create_task(_hold(scheduler, clock, Lane.NORMAL, order, deadline=5.0)),
        asyncio.create_task(_hold(scheduler, clock, Lane.WRITE, order)),
        asyncio.create_task(_hold(scheduler, clock, Lane.SAFETY, order)),
    ]
    await asyncio.sleep(0)
    assert sum(scheduler.waiting(lane) for lane in Lane) == 4
    release.set()
    await asyncio.gather(first, *waiting)
    # A normal cycle due sooner goes before a fast one due later: deadlines, not tiers, among measurements.
    assert order == [Lane.SLOW, Lane.SAFETY, Lane.WRITE, Lane.NORMAL, Lane.FAST]


async def test_a_cycle_runs_back_to_back() -> None:
    """A safety cycle's next read is queued before the line is granted again: no fast read in between."""
    clock = Clock()
    scheduler = BusScheduler({}, clock=clock)
    order: list[Lane] = []

    async def safety_cycle() -> None:
        for _ in range(4):
            await _hold(scheduler, clock, Lane.SAFETY, order)

    async def fast_reads() -> None:
        await asyncio.gather(*(_hold(scheduler, clock, Lane.FAST, order) for _ in range(4)))

    cycle = asyncio.create_task(safety_cycle())
    await asyncio.sleep(0)
    await asyncio.gather(cycle, fast_reads())
    assert order == [Lane.SAFETY] * 4 + [Lane.FAST] * 4


async def test_floor_share_under_a_safety_tier_that_never_lets_go() -> None:
    """A safety lane with a request always waiting still leaves the fast lane its 10 % of the line."""
    clock = Clock()
    scheduler = BusScheduler(clock=clock)
    order: list[Lane] = []
    stop = asyncio.Event()

    async def endless(lane: Lane, cost: float) -> None:
        while not stop.is_set():
            await _hold(scheduler, clock, lane, order, cost=cost)

    tasks = [asyncio.create_task(endless(Lane.SAFETY, 0.01)) for _ in range(2)]
    tasks.append(asyncio.create_task(endless(Lane.FAST, 0.03)))
    while clock.now < 30.0:  # noqa: ASYNC110 - the fake clock moves only as the lanes run
        await asyncio.sleep(0)
    stop.set()
    await asyncio.gather(*tasks)
    usage = scheduler.usage()
    fast_share = usage[Lane.FAST][1] / clock.now if clock.now else 0.0
    # The holders advance the fake clock by their cost, so "used" is that cost: exactly the floor share,
    # within one fast transaction over 30 s.
    assert usage[Lane.FAST][1] == pytest.approx(usage[Lane.FAST][0] * 0.03)
    assert FLOOR_SHARES[Lane.FAST] - 0.002 <= fast_share <= FLOOR_SHARES[Lane.FAST] + 0.002
    assert usage[Lane.SAFETY][1] / clock.now > 0.85


async def test_without_safety_load_the_floor_changes_nothing() -> None:
    """Floors only guard against starvation: an idle safety lane leaves the fast lane the whole line."""
    clock = Clock()
    scheduler = BusScheduler(clock=clock)
    order: list[Lane] = []
    await asyncio.gather(*(_hold(scheduler, clock, Lane.FAST, order) for _ in range(50)))
    assert scheduler.usage()[Lane.FAST][0] == 50


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    clock = Clock()
    scheduler = BusScheduler(clock=clock)
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with scheduler.slot(Lane.NORMAL):
            held.set()
            await release.wait()

    first = asyncio.create_task(holder())
    await held.wait()
    waiter = asyncio.create_task(_hold(scheduler, clock, Lane.SAFETY, []))
    await asyncio.sleep(0)
    assert scheduler.waiting(Lane.SAFETY) == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert scheduler.waiting(Lane.SAFETY) == 0
    release.set()
    await first
    # The line is free again: the next request takes it at once.
    async with asyncio.timeout(1):
        await _hold(scheduler, clock, Lane.FAST, [])


async def test_granted_while_cancelled_passes_the_line_on() -> None:
    clock = Clock()
    scheduler = BusScheduler(clock=clock)
    order: list[Lane] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with scheduler.slot(Lane.NORMAL):
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(_hold(scheduler, clock, Lane.SAFETY, order))
    after = asyncio.create_task(_hold(scheduler, clock, Lane.FAST, order))
    await asyncio.sleep(0)
    release.set()
    # Run until the line is granted to ``doomed`` (its future resolved), but before it resumes.
    while scheduler.waiting(Lane.SAFETY):  # noqa: ASYNC110 - stepping the loop to the grant itself
        await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    async with asyncio.timeout(1):
        await after
    await first
    assert order == [Lane.FAST]


@pytest.mark.parametrize(
    ("lanes", "expected"),
    [
        # No safety read waiting: the bells' write goes before every measurement read, owed or not.
        ((Lane.FAST, Lane.WRITE), [Lane.WRITE, Lane.FAST]),
        # A safety read waiting: the lanes owed their floor shares go first (fast, queued first, then the
        # write: both owed after 10 s), then safety.
        ((Lane.FAST, Lane.WRITE, Lane.SAFETY), [Lane.FAST, Lane.WRITE, Lane.SAFETY]),
        # Owed or not, no measurement read goes before a write when safety is not waiting.
        ((Lane.SLOW, Lane.NORMAL, Lane.WRITE), [Lane.WRITE, Lane.SLOW, Lane.NORMAL]),
    ],
)
async def test_owed_lanes_go_before_safety_but_not_before_writes(
    lanes: tuple[Lane, ...], expected: list[Lane]
) -> None:
    clock = Clock()
    scheduler = BusScheduler(clock=clock)
    order: list[Lane] = []
    release = asyncio.Event()

    async def long_holder() -> None:
        async with scheduler.slot(Lane.NORMAL):
            await release.wait()
            clock.now += 10.0  # the line was busy 10 s: the waiting fast lane is owed its share by now

    first = asyncio.create_task(long_holder())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(_hold(scheduler, clock, lane, order, cost=0.03)) for lane in lanes]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == expected
