"""The Modbus engine against the park simulator over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from custom_components.smart_park.engine.catalogue import Table, Tier, builtin_device_types
from custom_components.smart_park.engine.modbus import (
    SAFETY_OFFLINE_RETRY,
    DeviceExceptionError,
    DeviceFault,
    GatewayClient,
    GatewayOfflineError,
    GatewayPoller,
    InvalidReplyError,
    WriteVerifyError,
    async_test_connection,
    decode_point,
    plan_blocks,
)
from custom_components.smart_park.engine.profile import ParkProfile, parse_profile
from simulator.reference import reference_profile
from simulator.server import ParkSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _one_of_each() -> dict[str, Any]:
    """A small park with one device of every built-in type on one gateway."""
    types = sorted(builtin_device_types())  # a new catalogue type is covered without touching this test
    return {
        "park": {"id": "t", "name": "T"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": 5020, "timeout": 0.3}],
        "buildings": [{"id": "b1", "floors": 6}],
        "devices": [{"id": t, "type": t, "unit": i + 1, "building": "b1"} for i, t in enumerate(types)],
    }


@pytest.fixture
async def park() -> AsyncIterator[tuple[ParkSimulator, ParkProfile, GatewayPoller]]:
    profile = parse_profile(_one_of_each())
    sim = ParkSimulator(profile, port_override={"gw1": 0}, dynamics=False)
    await sim.start()
    data = _one_of_each()
    data["gateways"][0]["port"] = sim.ports["gw1"]
    client_profile = parse_profile(data)
    client = GatewayClient(client_profile.gateways["gw1"])
    poller = GatewayPoller(client, client_profile.devices.values(), offline_retry=0.5)
    yield sim, client_profile, poller
    await client.async_close()
    await sim.stop()


async def _poll_all(poller: GatewayPoller) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for tier in Tier:
        for device_id, reading in (await poller.async_poll(tier)).items():
            assert reading.available, (device_id, reading.error)
            values.setdefault(device_id, {}).update(reading.values)
    return values


async def test_every_point_of_every_type_reads_what_the_simulator_holds(park: Any) -> None:
    sim, profile, poller = park
    sim.set_value("fire_water_tank", "level", 3.21)
    sim.set_value("energy_meter", "energy_import", 12345.67)
    sim.set_value("air_quality_station", "temperature", -4.5)
    sim.press_call_point("fire_bell_controller", 4)
    values = await _poll_all(poller)
    for device in profile.devices.values():
        for point in device.points:
            expected = sim.get_value(device.id, point.key)
            got = values[device.id][point.key]
            if point.options:
                expected = point.options.get(int(expected))
            assert got == pytest.approx(expected), (device.id, point.key)
    assert values["fire_water_tank"]["level"] == 3.21
    assert values["energy_meter"]["energy_import"] == 12345.67
    assert values["air_quality_station"]["temperature"] == -4.5
    assert values["fire_bell_controller"]["call_point_4"] is True
    assert values["fire_bell_controller"]["call_point_3"] is False


async def test_requests_per_cycle_match_the_plan(park: Any) -> None:
    sim, _, poller = park
    for tier in Tier:
        sim.reset_counters()
        await poller.async_poll(tier)
        assert sim.total_requests() == poller.request_count(tier), tier


async def test_silent_unit_goes_offline_once_and_does_not_stall_others(
    park: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sim, _, poller = park
    caplog.set_level(logging.INFO, logger="custom_components.smart_park.engine.modbus")
    sim.silence_unit("gas_detector")
    for _ in range(3):
        readings = await poller.async_poll(Tier.NORMAL)
        assert not readings["gas_detector"].available
        assert readings["fire_water_tank"].available
    # Skipped while waiting to retry: later cycles cost no timeout.
    started = time.monotonic()
    await poller.async_poll(Tier.NORMAL)
    assert time.monotonic() - started < 0.25
    offline = [r for r in caplog.records if "gas_detector" in r.getMessage()]
    assert len(offline) == 1
    assert offline[0].levelno == logging.WARNING
    sim.silence_unit("gas_detector", silent=False)
    await asyncio.sleep(0.6)
    readings = await poller.async_poll(Tier.NORMAL)
    assert readings["gas_detector"].available
    await poller.async_poll(Tier.NORMAL)
    lines = [r.getMessage() for r in caplog.records if "gas_detector" in r.getMessage()]
    assert len(lines) == 2
    assert "available again" in lines[1]


async def test_exception_reply_marks_device_unavailable_with_code(park: Any) -> None:
    sim, profile, poller = park
    sim.set_exception("water_meter", 4)
    reading = (await poller.async_poll(Tier.SLOW))["water_meter"]
    assert not reading.available
    assert "exception 4" in (reading.error or "")
    with pytest.raises(DeviceExceptionError) as info:
        await poller.client.async_read(
            profile.devices["water_meter"].unit, poller.plan(Tier.SLOW)["water_meter"][0].table, 0, 2
        )
    assert info.value.exception_code == 4


async def test_gateway_down_and_up(park: Any) -> None:
    sim, _, poller = park
    await poller.async_poll(Tier.FAST)
    await sim.gateway_down("gw1")
    with pytest.raises(GatewayOfflineError):
        await poller.async_poll(Tier.FAST)
    await sim.gateway_up("gw1")
    for _ in range(40):  # reconnect backoff starts at 0.5 s
        try:
            readings = await poller.async_poll(Tier.FAST)
            break
        except GatewayOfflineError:
            await asyncio.sleep(0.1)
    else:
        pytest.fail("gateway did not come back")
    assert all(r.available for r in readings.values())


async def test_verified_writes(park: Any) -> None:
    sim, profile, poller = park
    await poller.async_write_point("fire_bell_controller", "bell_2", True)
    assert sim.get_value("fire_bell_controller", "bell_2") is True
    await poller.async_write_point("broadcast_controller", "volume", 70)
    assert sim.get_value("broadcast_controller", "volume") == 70
    record = sim.writes[-1]
    assert (record.unit, record.table, record.address, record.values) == (
        profile.devices["broadcast_controller"].unit,
        "holding_register",
        3,
        [70],
    )
    with pytest.raises(ValueError, match="no writable point"):
        await poller.async_write_point("fire_water_tank", "level", 1)


async def test_write_not_holding_is_reported(park: Any) -> None:
    sim, profile, poller = park
    unit = profile.devices["io_module"].unit
    # A device that refuses writes answers with an exception: the write raises, nothing is claimed.
    sim.set_exception("io_module", 4)
    with pytest.raises(DeviceExceptionError):
        await poller.client.async_write_coils(unit, 0, [True])
    sim.set_exception("io_module", None)
    # Writing to an address the catalogue does not declare reads back different values.
    with pytest.raises((WriteVerifyError, DeviceExceptionError)):
        await poller.client.async_write_coils(unit, 500, [True])


async def test_connection_test() -> None:
    async with ParkSimulator(
        parse_profile(reference_profile(1)), port_override={"gw1": 0}, dynamics=False
    ) as sim:
        await async_test_connection("127.0.0.1", sim.ports["gw1"])
        port = sim.ports["gw1"]
    with pytest.raises(GatewayOfflineError):
        await async_test_connection("127.0.0.1", port, timeout=0.5)


async def test_safety_tier_retries_an_unanswering_controller_within_a_second(park: Any) -> None:
    """A missed answer must not leave call points unread for the whole offline retry (30 s by default)."""
    sim, _profile, poller = park
    poller.offline_retry = 30.0
    sim.silence_unit("fire_bell_controller")
    assert not (await poller.async_poll(Tier.SAFETY))["fire_bell_controller"].available
    sim.silence_unit("fire_bell_controller", silent=False)
    sim.press_call_point("fire_bell_controller", 2)
    # The normal tier waits out the offline retry; the safety tier asks again within SAFETY_OFFLINE_RETRY.
    assert not (await poller.async_poll(Tier.NORMAL))["fire_bell_controller"].available
    await asyncio.sleep(SAFETY_OFFLINE_RETRY + 0.1)
    reading = (await poller.async_poll(Tier.SAFETY))["fire_bell_controller"]
    assert reading.available
    assert reading.values["call_point_2"] is True


def _two_controllers(port: int) -> dict[str, Any]:
    """Two buildings' fire-bell controllers behind one gateway (a bad one must not blind the other)."""
    return {
        "park": {"id": "t2", "name": "T2"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [{"id": "b1", "floors": 6}, {"id": "b2", "floors": 12}],
        "devices": [
            {"id": "bells_1", "type": "fire_bell_controller", "unit": 1, "building": "b1"},
            # 12 channels: two bytes of call points, so a "short" reply still carries one.
            {"id": "bells_2", "type": "fire_bell_controller", "unit": 2, "building": "b2", "channels": 12},
        ],
    }


@pytest.mark.parametrize("bad", ["bells_1", "bells_2"])
@pytest.mark.parametrize("mode", ["empty", "short", "wrong_function"])
async def test_bad_reply_faults_only_that_device(bad: str, mode: str) -> None:
    """A unit answering short, empty or mislabelled replies is faulted; the others are still read."""
    sim = ParkSimulator(parse_profile(_two_controllers(5020)), port_override={"gw1": 0}, dynamics=False)
    async with sim:
        profile = parse_profile(_two_controllers(sim.ports["gw1"]))
        client = GatewayClient(profile.gateways["gw1"])
        poller = GatewayPoller(client, profile.devices.values(), offline_retry=0.0)
        try:
            good = "bells_2" if bad == "bells_1" else "bells_1"
            sim.bad_reply(bad, mode)
            sim.press_call_point(good, 3)
            for tier in (Tier.SAFETY, Tier.NORMAL):
                readings = await poller.async_poll(tier)
                assert not readings[bad].available
                assert readings[bad].fault is DeviceFault.INVALID_REPLY
                assert "invalid reply" in (readings[bad].error or "")
                assert readings[good].available, readings[good].error
            readings = await poller.async_poll(Tier.SAFETY)
            assert readings[good].values["call_point_3"] is True
            # A verified write to the bad unit fails (its read-back is not trusted) instead of passing.
            with pytest.raises(InvalidReplyError):
                await poller.async_write_point(bad, "bell_1", True)
            # Healed: the unit is read again (offline_retry 0) and available.
            sim.bad_reply(bad, None)
            readings = await poller.async_poll(Tier.SAFETY)
            assert readings[bad].available
            assert readings[bad].fault is None
        finally:
            await client.async_close()


def test_decode_point_refuses_data_that_does_not_cover_the_point() -> None:
    profile = parse_profile(_two_controllers(5020))
    [block] = [b for b in plan_blocks(profile.devices["bells_1"].points) if b.table is Table.DISCRETE_INPUT][
        :1
    ]
    point = block.points[0]
    with pytest.raises(ValueError, match="do not cover"):
        decode_point(point, block, [])


async def test_cancelling_a_poll_with_a_read_in_flight_propagates(park: Any) -> None:
    """pymodbus turns the cancellation into ModbusIOException; the engine must not read it as "no answer"."""
    sim, _profile, poller = park
    sim.delay_replies("fire_water_tank", 0.25)
    task = asyncio.create_task(poller.async_poll(Tier.NORMAL))
    for _ in range(1000):
        if sim.replies_pending:
            break
        await asyncio.sleep(0.005)
    else:
        pytest.fail("no read in flight")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert poller.is_online("fire_water_tank")  # a cancelled read is not an outage
