"""Scenarios and dynamics: call points, one-key alarms, gas leaks, tank drains, broadcasts, writes."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import pytest

from custom_components.smart_park.engine.catalogue import builtin_device_types
from simulator.server import WriteRecord
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile


async def test_call_point_press_release(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("fire_bell_controller").unit
    sim.press_call_point("fire_bell_controller", 3)
    assert (await client.read_discrete_inputs(0, count=6, device_id=unit)).bits[:6] == [0, 0, 1, 0, 0, 0]
    sim.release_call_point("fire_bell_controller", 3)
    assert not any((await client.read_discrete_inputs(0, count=6, device_id=unit)).bits[:6])


async def test_alarm_press_cancel_counters(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("one_key_alarm").unit
    sim.press_alarm_button("one_key_alarm")
    sim.press_alarm_button("one_key_alarm")
    assert (await client.read_discrete_inputs(0, count=1, device_id=unit)).bits[0] is True
    assert (await client.read_input_registers(0, count=2, device_id=unit)).registers == [2, 0]
    sim.cancel_alarm("one_key_alarm")
    assert (await client.read_discrete_inputs(0, count=1, device_id=unit)).bits[0] is False
    assert (await client.read_input_registers(0, count=2, device_id=unit)).registers == [2, 1]
    with pytest.raises(ValueError, match="not a one-key alarm"):
        sim.press_alarm_button("gas_detector")


async def test_gas_leak_raises_alarm_and_clears(park_simulator: SimulatorFactory) -> None:
    sim = await park_simulator(every_type_profile(), tick=0.02)
    assert sim.get_value("gas_detector", "gas_alarm") is False
    sim.start_gas_leak("gas_detector", rate=200.0)  # %LEL/s: over the 20 %LEL threshold within ~0.1 s
    await _until(lambda: sim.get_value("gas_detector", "gas_alarm") is True)
    assert sim.get_value("gas_detector", "gas_concentration") > 20
    sim.stop_gas_leak("gas_detector", rate=200.0)
    await _until(lambda: sim.get_value("gas_detector", "gas_concentration") == 0.5)
    assert sim.get_value("gas_detector", "gas_alarm") is False


async def test_drain_tank_low_level_alarm(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile(), tick=0.02)
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("fire_water_tank").unit
    sim.drain_tank("fire_water_tank", rate_m_per_s=10.0)
    await asyncio.sleep(0.1)
    level = (await client.read_input_registers(0, count=1, device_id=unit)).registers[0]
    assert level < 350
    await _until(lambda: sim.get_value("fire_water_tank", "low_level_alarm") is True)
    assert (await client.read_discrete_inputs(0, count=1, device_id=unit)).bits[0] is True
    assert sim.get_value("fire_water_tank", "level") < 1.0
    sim.refill_tank("fire_water_tank", rate_m_per_s=20.0)
    await _until(lambda: sim.get_value("fire_water_tank", "level") == 3.5)
    assert sim.get_value("fire_water_tank", "low_level_alarm") is False


async def test_set_value_drives_derived_bit(park_simulator: SimulatorFactory) -> None:
    sim = await park_simulator(every_type_profile())
    sim.set_value("electrical_safety", "residual_current", 301)
    assert sim.get_value("electrical_safety", "electrical_alarm") is True
    sim.set_value("electrical_safety", "residual_current", 300)
    assert sim.get_value("electrical_safety", "electrical_alarm") is False


async def test_dynamics_are_deterministic_and_believable(park_simulator: SimulatorFactory) -> None:
    runs = []
    for _ in range(2):
        sim = await park_simulator(every_type_profile(), dynamics=True, seed=42, tick=3600)
        for _step in range(20):
            sim.dynamics.step(1.0)
        runs.append(sim.state()["devices"])
        await sim.stop()
    assert runs[0] == runs[1]
    values = runs[0]
    # The counter advances by its catalogue rate (raw litres per second); registers hold whole litres.
    water = builtin_device_types()["water_meter"].point("volume")
    expected_litres = math.floor(water.simulate["base"] + 20 * water.simulate["rate"])
    assert values["water_meter"]["values"]["volume"] == pytest.approx(expected_litres * water.scale)
    assert values["energy_meter"]["values"]["energy_import"] > 12000.0
    assert 340 <= values["air_quality_station"]["values"]["co2"] <= 470
    assert values["air_quality_station"]["values"]["so2"] != 12
    assert 3.3 <= values["fire_water_tank"]["values"]["level"] <= 3.7
    other = await park_simulator(every_type_profile(), dynamics=True, seed=7, tick=3600)
    for _step in range(20):
        other.dynamics.step(1.0)
    assert other.state()["devices"] != runs[0]


async def test_writes_recorded_with_callbacks(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    seen: list[tuple[WriteRecord, bool]] = []
    # The callback runs as the write is applied: the coil is already set when it is called.
    sim.on_write.append(lambda r: seen.append((r, sim.get_value(r.device_id, "bell_1") is True)))
    unit = sim.device("fire_bell_controller").unit
    before_ts, before_ns = time.time(), time.monotonic_ns()
    waiter = asyncio.create_task(sim.wait_for_write(device_id="fire_bell_controller", table="coil"))
    assert not (await client.write_coils(0, [True] * 6, device_id=unit)).isError()
    record = await waiter
    assert record.values == [True] * 6
    assert (record.gateway, record.unit, record.address, record.function_code) == ("gw1", unit, 0, 15)
    assert before_ts <= record.ts <= time.time()
    assert before_ns <= record.mono_ns <= time.monotonic_ns()
    assert seen == [(record, True)]
    assert sim.writes == [record]
    assert (await client.read_coils(0, count=6, device_id=unit)).bits[:6] == [True] * 6

    lamp = sim.device("one_key_alarm").unit
    await client.write_coil(0, True, device_id=lamp)
    assert sim.get_value("one_key_alarm", "acknowledge_lamp") is True
    assert sim.writes[-1].table == "coil"
    assert sim.writes[-1].values == [True]

    # Input registers and read-only tables are not writable.
    response = await client.write_register(0, 1, device_id=sim.device("energy_meter").unit)
    assert response.exception_code == 2
    assert sim.writes[-1].accepted is False
    with pytest.raises(TimeoutError):
        await sim.wait_for_write(device_id="nobody", timeout=0.05)


async def test_broadcast_command(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("broadcast_controller").unit
    # zone_mask, message_slot, command, volume, priority, repeat_count
    await client.write_registers(0, [0b101, 7, 1, 80, 9, 3], device_id=unit)
    assert (await client.read_input_registers(0, count=3, device_id=unit)).registers == [1, 7, 0b101]
    [played] = sim.broadcasts
    assert (played.command, played.zones, played.message_slot, played.volume, played.priority) == (
        1,
        [1, 3],
        7,
        80,
        9,
    )
    assert sim.writes[-1].table == "holding_register"
    assert sim.writes[-1].values == [0b101, 7, 1, 80, 9, 3]
    await client.write_register(2, 2, device_id=unit)
    assert sim.get_value("broadcast_controller", "play_state") == 2
    await client.write_register(2, 0, device_id=unit)
    assert (await client.read_input_registers(0, count=3, device_id=unit)).registers[::2] == [0, 0]
    assert [b.command for b in sim.broadcasts] == [1, 2, 0]


async def test_request_counters(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("energy_meter").unit
    for _ in range(3):
        await client.read_input_registers(0, count=6, device_id=unit)
    await client.read_discrete_inputs(0, count=1, device_id=unit)
    assert sim.requests["gw1"][4] == 3
    assert sim.total_requests("gw1") == 4
    assert sim.total_requests() == 4
    assert sim.total_requests("gw2") == 0
    sim.reset_counters()
    assert sim.total_requests() == 0


async def _until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)
