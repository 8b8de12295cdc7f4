"""The register image on the wire matches the catalogue encoding, for every device type."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusTcpClient

from custom_components.smart_park.engine.catalogue import Table
from custom_components.smart_park.engine.codec import encode_registers
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile


async def _read(
    client: AsyncModbusTcpClient, table: Table, address: int, count: int, unit: int
) -> list[int] | list[bool]:
    method = {
        Table.COIL: client.read_coils,
        Table.DISCRETE_INPUT: client.read_discrete_inputs,
        Table.HOLDING_REGISTER: client.read_holding_registers,
        Table.INPUT_REGISTER: client.read_input_registers,
    }[table]
    response = await method(address, count=count, device_id=unit)
    assert not response.isError(), f"{table} {address}+{count} unit {unit}: {response}"
    return response.bits[:count] if table.is_bit else response.registers


async def test_every_point_encodes_its_base(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    """Each point reads back as the codec's encoding of simulate.base (0 without a hint)."""
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    checked = 0
    for device in sim.profile.devices.values():
        if device.gateway != "gw1":
            continue
        for point in device.points:
            words = await _read(client, point.table, point.address, point.count, device.unit)
            if point.table.is_bit:
                assert words == [bool(point.simulate.get("base", False))], f"{device.id}.{point.key}"
            else:
                base = point.simulate.get("base", 0)
                expected = encode_registers(base, point.data_type, point.word_order)
                assert words == expected, f"{device.id}.{point.key}"
            checked += 1
    assert checked > 50


async def test_literal_encodings(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    """Hand-computed words, so an encoder bug cannot hide behind itself."""
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    meter = sim.device("energy_meter").unit
    # energy_import uint32 big-endian 1200000 = 0x00124F80, power int32 15000, voltage 3800 (380.0 V)
    assert await _read(client, Table.INPUT_REGISTER, 0, 6, meter) == [0x0012, 0x4F80, 0, 15000, 3800, 2300]
    assert sim.get_value("energy_meter", "energy_import") == 12000.0
    assert sim.get_value("air_quality_station", "temperature") == 21.5
    sim.set_value("air_quality_station", "temperature", -3.2)
    air = sim.device("air_quality_station").unit
    assert await _read(client, Table.INPUT_REGISTER, 4, 1, air) == [0x10000 - 32]  # int16 two's complement


async def test_gaps_read_zero_and_past_end_is_illegal(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    """A 6-channel bell box answers its whole 66-input map (gaps as 0) and nothing past it."""
    sim = await park_simulator(every_type_profile())
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device("fire_bell_controller").unit
    sim.press_call_point("fire_bell_controller", 2)
    bits = await _read(client, Table.DISCRETE_INPUT, 0, 66, unit)
    assert bits[1] is True
    assert sum(bits) == 1
    response = await client.read_discrete_inputs(60, count=10, device_id=unit)
    assert response.isError()
    assert response.exception_code == 2


async def test_gateways_are_separate(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    """Two gateways, two ports; unit 1 is a different device on each."""
    sim = await park_simulator(every_type_profile())
    assert set(sim.ports) == {"gw1", "gw2"}
    assert sim.ports["gw1"] != sim.ports["gw2"]
    sim.set_value("tank2", "level", 1.23)
    client2 = await modbus_client(sim.ports["gw2"])
    assert await _read(client2, Table.INPUT_REGISTER, 0, 1, 1) == [123]
    client1 = await modbus_client(sim.ports["gw1"])
    unit1 = sim.profile.devices["air_quality_station"].unit
    assert unit1 == 1
    assert await _read(client1, Table.INPUT_REGISTER, 0, 1, 1) == [12]  # so2 base


@pytest.mark.parametrize("value", [70000, -1])
async def test_set_value_out_of_range(park_simulator: SimulatorFactory, value: int) -> None:
    """A value the data type cannot carry is refused, naming the field."""
    sim = await park_simulator(every_type_profile())
    with pytest.raises(ValueError, match="out of range") as err:
        sim.set_value("air_quality_station", "so2", value)
    assert getattr(err.value, "field", None) == "value"
