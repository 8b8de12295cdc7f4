"""Bus-time scheduling on a serial line (#16): stretched periods, piggyback, backoff, and the safety tier
keeping its period on an overloaded 9600-baud bus emulated by the simulator over real TCP. No Home Assistant.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from custom_components.smart_park.engine.bus import SerialLine, stretched_periods
from custom_components.smart_park.engine.catalogue import Table, Tier
from custom_components.smart_park.engine.modbus import DeviceFault, GatewayClient, GatewayPoller
from custom_components.smart_park.engine.piggyback import Costs, piggyback
from custom_components.smart_park.engine.planner import ReadBlock
from custom_components.smart_park.engine.profile import parse_profile
from custom_components.smart_park.engine.schedule import FLOOR_SHARES, Lane
from simulator.server import ParkSimulator

PERIODS = {Tier.SAFETY: 0.1, Tier.FAST: 0.25, Tier.NORMAL: 5.0, Tier.SLOW: 60.0}
LINE = SerialLine(9600)


def test_tiers_that_fit_keep_their_periods() -> None:
    cycles = {Tier.SAFETY: 0.03, Tier.FAST: 0.05, Tier.NORMAL: 0.5, Tier.SLOW: 1.0}
    assert stretched_periods(cycles, PERIODS) == PERIODS


def test_overload_stretches_the_measurements_evenly_and_keeps_safety() -> None:
    # safety 30 % of the line; fast 2.0 (800 %), normal 4.0 (80 %) at their periods; slow 0.6 (1 %)
    cycles = {Tier.SAFETY: 0.03, Tier.FAST: 2.0, Tier.NORMAL: 4.0, Tier.SLOW: 0.6}
    got = stretched_periods(cycles, PERIODS)
    assert got[Tier.SAFETY] == PERIODS[Tier.SAFETY]
    # slow's 1 % is at its 1 % floor: kept whole. Fast and normal share 0.9 - 0.3 - 0.01 = 0.59 of the
    # line by one factor: (8 + 0.8) / 0.59 = 14.915
    factor = (8 + 0.8) / 0.59
    assert got[Tier.SLOW] == pytest.approx(60.0)
    assert got[Tier.FAST] == pytest.approx(0.25 * factor)
    assert got[Tier.NORMAL] == pytest.approx(5.0 * factor)
    used = sum(cycles[t] / got[t] for t in cycles)
    assert used == pytest.approx(0.9)


def test_a_small_tier_keeps_its_floor_share_beside_a_huge_one() -> None:
    cycles = {Tier.FAST: 50.0, Tier.NORMAL: 1.0}  # fast asks 200 times the line, normal 20 %
    got = stretched_periods(cycles, PERIODS)
    # stretched evenly normal would get 0.9 x 0.2 / 200.2 = 0.09 %: it gets its 5 % floor instead
    assert cycles[Tier.NORMAL] / got[Tier.NORMAL] == pytest.approx(FLOOR_SHARES[Lane.NORMAL])
    assert cycles[Tier.FAST] / got[Tier.FAST] == pytest.approx(0.9 - FLOOR_SHARES[Lane.NORMAL])


def test_a_safety_tier_longer_than_its_period_runs_as_fast_as_the_floors_allow() -> None:
    cycles = {Tier.SAFETY: 0.2, Tier.FAST: 1.0}
    got = stretched_periods(cycles, PERIODS)
    assert got[Tier.SAFETY] == pytest.approx(0.2 / (0.9 - FLOOR_SHARES[Lane.FAST]))


def test_piggyback_inside_is_free_everywhere() -> None:
    fast = ReadBlock(Table.INPUT_REGISTER, 0, 10, ())
    normal = ReadBlock(Table.INPUT_REGISTER, 4, 2, ())
    for line in (None, LINE):
        plans, carried = piggyback({Tier.FAST: [fast], Tier.NORMAL: [normal]}, Costs(line, PERIODS))
        assert plans == {Tier.FAST: [fast], Tier.NORMAL: []}
        assert [(c.tier, c.host_tier, c.host, c.block) for c in carried] == [
            (Tier.NORMAL, Tier.FAST, 0, normal)
        ]


def test_widening_is_priced_by_the_line() -> None:
    # A fault bit next to a fast alarm bit: one more bit every 0.25 s costs nothing on the wire (same byte);
    # it saves a 5 s request.
    alarm = ReadBlock(Table.DISCRETE_INPUT, 0, 1, ())
    fault = ReadBlock(Table.DISCRETE_INPUT, 1, 1, ())
    plans, carried = piggyback({Tier.FAST: [alarm], Tier.NORMAL: [fault]}, Costs(LINE, PERIODS))
    assert plans[Tier.FAST] == [ReadBlock(Table.DISCRETE_INPUT, 0, 2, ())]
    assert plans[Tier.NORMAL] == []
    assert len(carried) == 1
    # Four more registers every 5 s (8 characters, 8.3 ms / 5 s) against a 60 s request (33 ms / 60 s): no.
    normal = ReadBlock(Table.INPUT_REGISTER, 2, 4, ())
    slow = ReadBlock(Table.INPUT_REGISTER, 0, 2, ())
    plans, carried = piggyback({Tier.NORMAL: [normal], Tier.SLOW: [slow]}, Costs(LINE, PERIODS))
    assert plans == {Tier.NORMAL: [normal], Tier.SLOW: [slow]}
    assert carried == []
    # TCP-native: bytes cost nothing measurable, so the same widening pays.
    plans, carried = piggyback({Tier.NORMAL: [normal], Tier.SLOW: [slow]}, Costs(None, PERIODS))
    assert plans == {Tier.NORMAL: [ReadBlock(Table.INPUT_REGISTER, 0, 6, ())], Tier.SLOW: []}


def test_safety_reads_are_never_widened_and_gaps_and_tables_are_respected() -> None:
    safety = ReadBlock(Table.DISCRETE_INPUT, 0, 6, ())
    beside = ReadBlock(Table.DISCRETE_INPUT, 6, 2, ())
    far = ReadBlock(Table.INPUT_REGISTER, 0, 2, ())
    fast = ReadBlock(Table.INPUT_REGISTER, 100, 2, ())
    plans, carried = piggyback(
        {Tier.SAFETY: [safety], Tier.FAST: [fast], Tier.NORMAL: [beside, far]}, Costs(None, PERIODS)
    )
    assert plans[Tier.SAFETY] == [safety]
    assert plans[Tier.FAST] == [fast]
    assert plans[Tier.NORMAL] == [beside, far]
    assert carried == []


# --- against the simulator ------------------------------------------------------------------------------

Start = Callable[..., Awaitable[tuple[ParkSimulator, GatewayPoller]]]


def _document(port: int, devices: list[tuple[str, str]], **gateway: Any) -> dict[str, Any]:
    return {
        "park": {"id": "t", "name": "T"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 1.0, **gateway}],
        "buildings": [{"id": "b1", "floors": 6}],
        "devices": [
            {"id": device_id, "type": device_type, "unit": i + 1, "building": "b1"}
            for i, (device_id, device_type) in enumerate(devices)
        ],
    }


@pytest.fixture
async def start(socket_enabled: None) -> AsyncIterator[Start]:
    opened: list[tuple[ParkSimulator, GatewayClient]] = []

    async def factory(
        devices: list[tuple[str, str]], periods: dict[Tier, float] = PERIODS, **gateway: Any
    ) -> tuple[ParkSimulator, GatewayPoller]:
        sim = ParkSimulator(
            parse_profile(_document(5020, devices, **gateway)),
            port_override={"gw1": 0},
            dynamics=False,
            emulate_buses=True,
        )
        await sim.start()
        profile = parse_profile(_document(sim.ports["gw1"], devices, **gateway))
        client = GatewayClient(profile.gateways["gw1"])
        opened.append((sim, client))
        return sim, GatewayPoller(client, profile.devices.values(), offline_retry=0.0, periods=periods)

    yield factory
    for sim, client in opened:
        await client.async_close()
        await sim.stop()


async def test_carried_points_come_from_the_faster_read(start: Start) -> None:
    _sim, poller = await start([("gas", "gas_detector")], transport="serial_over_tcp", baudrate=9600)
    assert poller.carried(Tier.NORMAL)["gas"]  # the fault bit rides on the fast alarm read
    fast = await poller.async_poll(Tier.FAST)
    before = poller.client.requests
    normal = await poller.async_poll(Tier.NORMAL)
    # The normal tier read only its own block: the carried point was decoded from the fast reply.
    assert poller.client.requests - before == poller.request_count(Tier.NORMAL)
    assert fast["gas"].available
    assert normal["gas"].available
    carried_keys = {p.key for c in poller.carried(Tier.NORMAL)["gas"] for p in c.block.points}
    assert carried_keys
    assert carried_keys <= set(normal["gas"].values)
    assert not carried_keys & set(fast["gas"].values)  # the fast reading keeps to its own points


async def test_a_carried_point_is_read_by_its_own_tier_when_the_host_has_not_read(start: Start) -> None:
    _sim, poller = await start([("gas", "gas_detector")], transport="serial_over_tcp", baudrate=9600)
    before = poller.client.requests
    normal = await poller.async_poll(Tier.NORMAL)  # no fast read yet (as at start-up)
    assert normal["gas"].available
    assert poller.client.requests - before == poller.request_count(Tier.NORMAL) + 1


async def test_silent_units_back_off(start: Start) -> None:
    sim, poller = await start([("gas", "gas_detector"), ("tank", "fire_water_tank")])
    poller.offline_retry = 0.2
    sim.silence_unit("gas")
    asked: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < 3.2:
        before = poller.client.requests
        readings = await poller.async_poll(Tier.FAST)
        assert readings["tank"].available  # the other unit is read every cycle
        if poller.client.requests - before == 2:
            asked.append(time.monotonic() - started)
        assert readings["gas"].fault is DeviceFault.NO_ANSWER
        await asyncio.sleep(0.02)
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    # 0.2, 0.4, 0.8, 1.6 s (+ the 1 s timeout of each ask): each gap at least doubles the last retry
    assert len(asked) <= 5
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps))


async def test_safety_tier_keeps_its_period_on_an_overloaded_bus(start: Start) -> None:
    """Six call-point controllers (0.19 s of line per safety cycle at 9600 baud) against a 0.3 s safety
    period, beside measurement tiers asking far more than the line can carry. The safety tier keeps its
    period, and every other tier still completes cycles, stretched evenly (not starved)."""
    devices = [(f"bells{i}", "fire_bell_controller") for i in range(6)]
    devices += [(f"io{i}", "io_module") for i in range(4)]
    devices += [(f"meter{i}", "energy_meter") for i in range(2)]
    periods = {Tier.SAFETY: 0.3, Tier.FAST: 0.25, Tier.NORMAL: 1.0, Tier.SLOW: 2.0}
    _sim, poller = await start(devices, periods, transport="serial_over_tcp", baudrate=9600)
    bus = poller.client.bus
    assert bus is not None
    cycles = poller.cycles(bus)
    assert cycles[Tier.SAFETY] < periods[Tier.SAFETY] < 2 * cycles[Tier.SAFETY]
    demand = sum(cycles[t] / periods[t] for t in cycles)
    assert demand > 1.5  # far more than the line can carry
    done: dict[Tier, list[float]] = {tier: [] for tier in poller.tiers()}

    async def loop(tier: Tier) -> None:
        due = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            readings = await poller.async_poll(tier)
            assert all(r.available for r in readings.values()), tier
            done[tier].append(time.monotonic())
            due = max(due + poller.period(tier), time.monotonic())

    tasks = [asyncio.create_task(loop(tier)) for tier in done]
    await asyncio.sleep(11.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    gaps = [b - a for a, b in itertools.pairwise(done[Tier.SAFETY])]
    # The period plus at most one measurement transaction in flight when a cycle starts (~50 ms), with
    # margin for a loaded host; before the scheduler a measurement read went between every two safety reads
    # and the cycle took ~0.4 s.
    assert statistics.median(gaps) <= periods[Tier.SAFETY] * 1.1
    assert sorted(gaps)[int(len(gaps) * 0.9)] <= periods[Tier.SAFETY] + 0.1
    for tier in (Tier.FAST, Tier.NORMAL, Tier.SLOW):
        assert done[tier], tier  # not starved
    for tier in (Tier.FAST, Tier.NORMAL):
        assert poller.period(tier) > periods[tier]  # stretched
        assert len(done[tier]) >= int(11.0 / poller.period(tier)) - 1
    usage = poller.client.scheduler.usage()
    assert all(usage[Lane[tier.name]][0] for tier in (Tier.SAFETY, Tier.FAST, Tier.NORMAL))


async def test_gateway_no_answer_exception_is_a_silent_unit(start: Start) -> None:
    """A serial server answers 0x0B when the unit behind it is silent: that is no answer, not a fault."""
    sim, poller = await start([("gas", "gas_detector")], transport="serial_over_tcp", baudrate=9600)
    sim.buses["gw1"].server_timeout = 0.2  # the server gives up well before the client's 1 s timeout
    sim.silence_unit("gas")
    started = time.monotonic()
    readings = await poller.async_poll(Tier.FAST)
    assert time.monotonic() - started < 0.8  # answered (0x0B), not timed out
    assert readings["gas"].fault is DeviceFault.NO_ANSWER
    assert "did not answer (11)" in (readings["gas"].error or "")
