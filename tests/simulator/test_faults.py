"""Fault injection: silent units, exception replies, absent units, a gateway going down and up."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymodbus.exceptions import ConnectionException, ModbusIOException

from simulator import ctl
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile


async def test_silenced_unit_times_out_while_others_answer(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"], timeout=0.3)
    tank, meter = sim.device("fire_water_tank").unit, sim.device("energy_meter").unit
    sim.silence_unit("fire_water_tank")
    started = time.monotonic()
    with pytest.raises(ModbusIOException):
        await client.read_input_registers(0, count=2, device_id=tank)
    assert time.monotonic() - started >= 0.25  # no reply at all, not an exception response
    started = time.monotonic()
    response = await client.read_input_registers(0, count=1, device_id=meter)
    assert not response.isError()
    assert time.monotonic() - started < 0.2
    sim.silence_unit("fire_water_tank", False)
    response = await client.read_input_registers(0, count=1, device_id=tank)
    assert response.registers == [350]
    assert sim.requests["gw1"][4] == 3  # the unanswered request is counted too


async def test_absent_unit_gets_no_answer(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"], timeout=0.2)
    with pytest.raises(ModbusIOException):
        await client.read_holding_registers(0, count=1, device_id=200)
    assert sim.unit_requests["gw1"][200] == 1


async def test_exception_reply(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("one_key_alarm").unit
    sim.set_exception("one_key_alarm", 4)
    response = await client.read_discrete_inputs(0, count=2, device_id=unit)
    assert response.isError()
    assert response.exception_code == 4
    response = await client.write_coil(0, True, device_id=unit)
    assert response.exception_code == 4
    assert sim.writes[-1].accepted is False
    assert sim.get_value("one_key_alarm", "acknowledge_lamp") is False
    sim.set_exception("one_key_alarm", None)
    assert not (await client.read_discrete_inputs(0, count=2, device_id=unit)).isError()
    with pytest.raises(ValueError, match="exception code 99"):
        sim.set_exception("one_key_alarm", 99)


async def test_gateway_down_and_up(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    sim = await park_simulator(every_type_profile())
    port = sim.ports["gw1"]
    client = await modbus_client(port, timeout=0.3, reconnect_delay=0)
    unit = sim.device("fire_water_tank").unit
    assert not (await client.read_input_registers(0, count=1, device_id=unit)).isError()

    await sim.gateway_down("gw1")
    assert not sim.gateway_is_up("gw1")
    with pytest.raises((ModbusIOException, ConnectionException)):
        await client.read_input_registers(0, count=1, device_id=unit)
    assert not client.connected
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    # The other gateway is untouched.
    other = await modbus_client(sim.ports["gw2"])
    assert (await other.read_input_registers(0, count=1, device_id=1)).registers == [350]

    await sim.gateway_up("gw1")
    assert sim.ports["gw1"] == port
    fresh = await modbus_client(port)
    assert (await fresh.read_input_registers(0, count=1, device_id=unit)).registers == [350]


async def test_unknown_names_raise_keyerror(park_simulator: SimulatorFactory) -> None:
    sim = await park_simulator(every_type_profile())
    with pytest.raises(KeyError, match="no device nope"):
        sim.silence_unit("nope")
    with pytest.raises(KeyError, match="no gateway gw9"):
        await sim.gateway_down("gw9")
    with pytest.raises(KeyError, match="no channel 7"):
        sim.press_call_point("fire_bell_controller", 7)
    with pytest.raises(ValueError, match="not a tank"):
        sim.drain_tank("energy_meter")


async def test_bad_replies(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    """A unit's read replies come back empty, short or under the other function code; others are intact."""
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    bells, tank = sim.device("fire_bell_controller").unit, sim.device("fire_water_tank").unit
    sim.bad_reply("fire_bell_controller", "empty")
    assert (await client.read_discrete_inputs(0, count=6, device_id=bells)).bits == []
    assert (await client.read_input_registers(0, count=1, device_id=tank)).registers == [350]
    sim.bad_reply("fire_bell_controller", "short")
    assert len((await client.read_coils(0, count=12, device_id=bells)).bits) == 8
    sim.bad_reply("fire_water_tank", "short")
    assert (await client.read_input_registers(0, count=2, device_id=tank)).registers == [350]
    sim.bad_reply("fire_bell_controller", "wrong_function")
    response = await client.read_discrete_inputs(0, count=6, device_id=bells)
    assert response.function_code == 1
    assert sim.state(["fire_bell_controller"])["devices"]["fire_bell_controller"]["bad_reply"] == (
        "wrong_function"
    )
    # Writes are answered properly.
    assert not (await client.write_coil(0, True, device_id=bells)).isError()
    sim.bad_reply("fire_bell_controller", None)
    assert len((await client.read_discrete_inputs(0, count=6, device_id=bells)).bits) == 8
    with pytest.raises(ValueError, match="bad reply mode 'garbage'"):
        sim.bad_reply("fire_bell_controller", "garbage")


async def test_delayed_replies(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    """A slow unit keeps its requests in flight for the delay (reload tests need requests in flight)."""
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"], timeout=2)
    tank = sim.device("fire_water_tank").unit
    sim.delay_replies("fire_water_tank", 0.3)
    started = time.monotonic()
    read = asyncio.ensure_future(client.read_input_registers(0, count=1, device_id=tank))
    await asyncio.sleep(0.1)
    assert sim.replies_pending == 1
    assert (await read).registers == [350]
    assert time.monotonic() - started >= 0.3
    assert sim.replies_pending == 0
    sim.delay_replies("fire_water_tank", None)
    started = time.monotonic()
    await client.read_input_registers(0, count=1, device_id=tank)
    assert time.monotonic() - started < 0.25


async def test_bad_reply_and_delay_over_the_control_api(park_simulator: SimulatorFactory) -> None:
    """The demo and manual tests inject the same faults over HTTP and with ``python -m simulator.ctl``."""
    sim = await park_simulator(every_type_profile(), control_port=0)
    url = ["--url", sim.control_url or ""]
    loop = asyncio.get_running_loop()

    async def ctl_main(*args: str) -> int:
        return await loop.run_in_executor(None, ctl.main, [*url, *args])

    assert await ctl_main("bad-reply", "fire_bell_controller", "short") == 0
    assert sim.bad_replies == {"fire_bell_controller": "short"}
    assert await ctl_main("bad-reply", "fire_bell_controller", "garbage") == 1
    assert await ctl_main("bad-reply", "fire_bell_controller", "none") == 0
    assert sim.bad_replies == {}
    assert await ctl_main("delay-replies", "fire_water_tank", "0.5") == 0
    assert sim.reply_delays == {"fire_water_tank": 0.5}
    assert await ctl_main("delay-replies", "fire_water_tank", "-1") == 1
