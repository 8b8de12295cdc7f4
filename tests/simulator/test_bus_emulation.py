"""Bus emulation (#16): a serial gateway answers one transaction at a time, each after the model's time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from custom_components.smart_park.engine.bus import Request, SerialLine
from custom_components.smart_park.engine.catalogue import Table
from custom_components.smart_park.engine.planner import ReadBlock, plan_blocks
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile

READS = 12
# The broadcast controller's holding registers, one block (16 registers at the time of writing).
DEVICE = "broadcast_controller"


def _serial_profile() -> dict[str, Any]:
    profile = every_type_profile()
    profile["gateways"][0].update(transport="serial_over_tcp", baudrate=9600)
    return profile


def _block(sim: Any) -> ReadBlock:
    points = [p for p in sim.device(DEVICE).points if p.table is Table.HOLDING_REGISTER]
    return max(plan_blocks(points), key=lambda block: block.count)


async def _reads(client: AsyncModbusTcpClient, unit: int, block: ReadBlock, n: int) -> None:
    for _ in range(n):
        response = await client.read_holding_registers(block.address, count=block.count, device_id=unit)
        assert not response.isError()
        assert len(response.registers) == block.count


async def test_sequential_reads_take_the_models_time(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(_serial_profile(), emulate_buses=True)
    assert set(sim.buses) == {"gw1"}  # gw2 is TCP-native: no line to emulate
    block = _block(sim)
    each = SerialLine(9600).transaction_time(Request.read(block))
    assert each > 0.04  # 16 registers: (8 + 37) chars + gaps + turnaround = 64.2 ms
    client = await modbus_client(sim.ports["gw1"], timeout=2.0)
    started = time.monotonic()
    await _reads(client, sim.device(DEVICE).unit, block, READS)
    elapsed = time.monotonic() - started
    # A real clock: never faster than the line, and not much slower (loopback adds ~1 ms a request).
    assert READS * each * 0.95 <= elapsed <= READS * each * 1.5 + 0.5
    assert sim.buses["gw1"].transactions == READS
    assert sim.buses["gw1"].busy >= READS * each * 0.95


async def test_two_clients_are_serialised_on_one_line(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(_serial_profile(), emulate_buses=True)
    block = _block(sim)
    each = SerialLine(9600).transaction_time(Request.read(block))
    first = await modbus_client(sim.ports["gw1"], timeout=5.0)
    second = await modbus_client(sim.ports["gw1"], timeout=5.0)
    unit = sim.device(DEVICE).unit
    started = time.monotonic()
    await asyncio.gather(_reads(first, unit, block, READS), _reads(second, unit, block, READS))
    elapsed = time.monotonic() - started
    # In parallel they would take READS x each; one line makes it twice that.
    assert elapsed >= 2 * READS * each * 0.95
    assert elapsed <= 2 * READS * each * 1.5 + 0.5


async def test_without_emulation_serial_gateways_answer_at_once(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(_serial_profile())
    assert sim.buses == {}
    block = _block(sim)
    each = SerialLine(9600).transaction_time(Request.read(block))
    client = await modbus_client(sim.ports["gw1"])
    started = time.monotonic()
    await _reads(client, sim.device(DEVICE).unit, block, READS)
    assert time.monotonic() - started < READS * each / 2


async def test_writes_take_line_time_too(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    sim = await park_simulator(_serial_profile(), emulate_buses=True)
    line = SerialLine(9600)
    client = await modbus_client(sim.ports["gw1"], timeout=0.5)
    bells = sim.device("fire_bell_controller").unit
    started = time.monotonic()
    response = await client.write_coil(0, True, device_id=bells)
    assert not response.isError()
    assert time.monotonic() - started >= line.transaction_time(Request(5, 1)) * 0.95
    assert sim.buses["gw1"].transactions == 1
