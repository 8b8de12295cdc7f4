"""The gateway client times each answered request into its bus model (#16), against the simulator's
emulated 9600-baud line over real TCP. No Home Assistant."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from custom_components.smart_park.engine.bus import BusModel, Request, SerialLine
from custom_components.smart_park.engine.catalogue import Table, Tier
from custom_components.smart_park.engine.modbus import (
    DeviceExceptionError,
    DeviceNotRespondingError,
    GatewayClient,
    GatewayPoller,
)
from custom_components.smart_park.engine.profile import parse_profile
from simulator.server import ParkSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

DEVICES = ("broadcast_controller", "energy_meter", "fire_bell_controller")

Start = Callable[..., Awaitable[tuple[ParkSimulator, GatewayPoller]]]


def _document(port: int = 5020, **gateway: Any) -> dict[str, Any]:
    return {
        "park": {"id": "t", "name": "T"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 1.0, **gateway}],
        "buildings": [{"id": "b1", "floors": 6}],
        "devices": [{"id": t, "type": t, "unit": i + 1, "building": "b1"} for i, t in enumerate(DEVICES)],
    }


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """``await start(**gateway)``: the simulator (buses emulated) and a poller whose client talks to it."""
    opened: list[tuple[ParkSimulator, GatewayClient]] = []

    async def factory(**gateway: Any) -> tuple[ParkSimulator, GatewayPoller]:
        sim = ParkSimulator(
            parse_profile(_document(**gateway)), port_override={"gw1": 0}, dynamics=False, emulate_buses=True
        )
        await sim.start()
        profile = parse_profile(_document(sim.ports["gw1"], **gateway))
        client = GatewayClient(profile.gateways["gw1"])
        opened.append((sim, client))
        return sim, GatewayPoller(client, profile.devices.values())

    yield factory
    for sim, client in opened:
        await client.async_close()
        await sim.stop()


async def _poll_every_tier(poller: GatewayPoller) -> None:
    for tier in Tier:
        for device_id, reading in (await poller.async_poll(tier)).items():
            assert reading.available, (device_id, reading.error)


def _model(poller: GatewayPoller) -> BusModel:
    assert poller.client.bus is not None
    return poller.client.bus


async def test_every_answered_read_is_measured_and_matches_the_model(start: Start) -> None:
    sim, poller = await start(transport="serial_over_tcp", baudrate=9600)
    model = _model(poller)
    assert model.samples == 0
    await _poll_every_tier(poller)
    await _poll_every_tier(poller)
    assert model.samples == poller.client.requests == sim.buses["gw1"].transactions > 10
    # The emulated line is timed by the same model, so measured/modelled is ~1 (loopback and pymodbus add a
    # little; generous bounds for a loaded machine).
    assert 0.95 <= model.ratio <= 1.6


async def test_a_line_slower_than_declared_shows_in_the_ratio(start: Start) -> None:
    sim, poller = await start(transport="serial_over_tcp", baudrate=9600)
    emulated = sim.buses["gw1"]
    # The devices answer after 60 ms, the profile declares the default 10 ms.
    emulated.line = dataclasses.replace(emulated.line, turnaround=0.06)
    for _ in range(3):
        await _poll_every_tier(poller)
    request = Request(3, 1)
    expected = emulated.line.transaction_time(request) / SerialLine(9600).transaction_time(request)
    assert expected > 2.0  # 83 ms against 33 ms for one register
    model = _model(poller)
    # Reads of other sizes differ a little in ratio; the weighted mean stays near one register's.
    assert expected * 0.7 <= model.ratio <= expected * 1.5
    assert model.estimate(request) >= 0.06


async def test_timeouts_and_exception_replies_are_not_measurements(start: Start) -> None:
    sim, poller = await start(transport="serial_over_tcp", baudrate=9600)
    client = poller.client
    model = _model(poller)
    sim.silence_unit("energy_meter")
    with pytest.raises(DeviceNotRespondingError):
        await client.async_read(2, Table.HOLDING_REGISTER, 0, 2)
    sim.silence_unit("energy_meter", False)
    sim.set_exception("energy_meter", 4)
    with pytest.raises(DeviceExceptionError):
        await client.async_read(2, Table.HOLDING_REGISTER, 0, 2)
    assert client.requests == 2
    assert model.samples == 0


async def test_a_verified_write_is_measured_with_its_read_back(start: Start) -> None:
    _sim, poller = await start(transport="serial_over_tcp", baudrate=9600)
    bells = poller.devices["fire_bell_controller"]
    point = next(p for p in bells.points if p.table is Table.COIL)
    await poller.client.async_write_coils(bells.unit, point.address, [True])
    assert _model(poller).samples == 2  # the write and its read-back


async def test_no_declared_transport_no_model(start: Start) -> None:
    # As before #16: no model, nothing recorded, the park reads as it did.
    sim, poller = await start()
    assert poller.client.bus is None
    assert sim.buses == {}
    await _poll_every_tier(poller)
    assert poller.client.requests > 5


async def test_declared_tcp_learns_a_mean_without_a_line(start: Start) -> None:
    _sim, poller = await start(transport="tcp")
    await _poll_every_tier(poller)
    model = _model(poller)
    assert model.line is None
    assert model.samples == poller.client.requests
    assert 0 < model.mean < 0.1  # loopback, no line emulated
