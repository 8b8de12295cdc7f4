"""Broadcast controllers' audio side: the HTTP API, real URL fetches over TCP, and playback times."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from simulator.audio import FETCH_UNKNOWN_TICKET
from simulator.server import ParkSimulator
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile

AUDIO = b"ID3" + bytes(range(256)) * 40
CONTROLLER = "broadcast_controller"
PLAY_SECONDS = 0.3
# zone_mask, message_slot, command, volume, priority, repeat_count
HOLDING = 0


@pytest.fixture
async def audio_url() -> AsyncIterator[str]:
    """A real HTTP server on 127.0.0.1 serving an mp3 at /speech.mp3 (and 404 elsewhere)."""

    async def speech(_request: web.Request) -> web.Response:
        return web.Response(body=AUDIO, content_type="audio/mpeg")

    app = web.Application()
    app.add_routes([web.get("/speech.mp3", speech)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _sim(park_simulator: SimulatorFactory) -> ParkSimulator:
    return await park_simulator(every_type_profile(), http_audio=True, broadcast_seconds=PLAY_SECONDS)


async def _put(sim: ParkSimulator, body: object) -> tuple[int, dict[str, object]]:
    port = int(sim.get_value(CONTROLLER, "http_port"))
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"http://127.0.0.1:{port}/audio", json=body) as response,
    ):
        return response.status, await response.json()


async def _wait_idle(sim: ParkSimulator, timeout: float = 3.0) -> None:
    await sim.audio.controllers[CONTROLLER].wait_idle(timeout)
    assert sim.get_value(CONTROLLER, "play_state") == 0


async def test_url_is_fetched_over_http_then_plays_its_time(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory, audio_url: str
) -> None:
    """PUT /audio gives a ticket; command 2 with it makes the controller GET the URL and play, then idle."""
    sim = await _sim(park_simulator)
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device(CONTROLLER).unit
    port = (await client.read_input_registers(4, count=1, device_id=unit)).registers[0]
    assert port == sim.audio.controllers[CONTROLLER].port > 0
    status, body = await _put(sim, {"url": f"{audio_url}/speech.mp3"})
    assert status == 201
    ticket = body["ticket"]
    assert isinstance(ticket, int)

    await client.write_registers(HOLDING, [0b11, ticket, 2, 90, 4, 2], device_id=unit)
    assert sim.get_value(CONTROLLER, "play_state") == 2
    fetch = await sim.audio.wait_for_fetch()
    assert (fetch.status, fetch.bytes, fetch.content_type, fetch.ok) == (200, len(AUDIO), "audio/mpeg", True)
    assert (fetch.device_id, fetch.ticket, fetch.url) == (CONTROLLER, ticket, f"{audio_url}/speech.mp3")
    [played] = sim.broadcasts
    assert (played.command, played.zones, played.url, played.repeat_count) == (2, [1, 2], fetch.url, 2)
    registers = (await client.read_input_registers(0, count=4, device_id=unit)).registers
    assert registers == [2, ticket, 0b11, 200]
    # Two repeats of PLAY_SECONDS each, then idle; not before.
    await asyncio.sleep(PLAY_SECONDS * 1.5)
    assert sim.get_value(CONTROLLER, "play_state") == 2
    await _wait_idle(sim)
    assert sim.get_value(CONTROLLER, "active_zones") == 0


async def test_failed_fetch_and_unknown_ticket_go_idle_with_a_status(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory, audio_url: str
) -> None:
    """A 404 and a ticket never issued end the play at once, with fetch_status saying why."""
    sim = await _sim(park_simulator)
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device(CONTROLLER).unit
    _status, body = await _put(sim, {"url": f"{audio_url}/missing.mp3"})
    await client.write_registers(HOLDING, [1, int(str(body["ticket"])), 2], device_id=unit)
    fetch = await sim.audio.wait_for_fetch()
    assert (fetch.status, fetch.ok) == (404, False)
    await _wait_idle(sim)
    assert sim.get_value(CONTROLLER, "fetch_status") == 404

    await client.write_registers(HOLDING, [1, 999, 2], device_id=unit)
    await _wait_idle(sim)
    assert sim.get_value(CONTROLLER, "fetch_status") == FETCH_UNKNOWN_TICKET
    assert len(sim.audio.fetches) == 1


async def test_bad_audio_requests_are_refused(park_simulator: SimulatorFactory) -> None:
    """The HTTP API answers 400 naming the field for a missing or non-http URL."""
    sim = await _sim(park_simulator)
    assert await _put(sim, {"url": "ftp://x/y.mp3"}) == (
        400,
        {"error": "url must be an http(s) URL", "field": "url"},
    )
    assert (await _put(sim, {}))[0] == 400


async def test_preset_plays_its_repeats_or_until_stopped(
    park_simulator: SimulatorFactory, modbus_client: ClientFactory
) -> None:
    """Repeat n plays n × the play time; repeat 0 plays until command 0; zone_mask changes zones live."""
    sim = await _sim(park_simulator)
    client = await modbus_client(sim.ports["gw1"])
    unit = sim.device(CONTROLLER).unit
    await client.write_registers(HOLDING, [0b101, 1, 1, 0, 1, 1], device_id=unit)
    assert sim.get_value(CONTROLLER, "play_state") == 1
    await _wait_idle(sim, PLAY_SECONDS * 4)

    await client.write_registers(HOLDING, [0b101, 3, 1, 0, 3, 0], device_id=unit)
    await asyncio.sleep(PLAY_SECONDS * 2)
    assert sim.get_value(CONTROLLER, "play_state") == 1
    await client.write_register(HOLDING, 0b100, device_id=unit)  # zone 1 leaves
    assert sim.get_value(CONTROLLER, "active_zones") == 0b100
    await client.write_register(HOLDING + 2, 0, device_id=unit)
    assert sim.get_value(CONTROLLER, "play_state") == 0
    assert [b.command for b in sim.broadcasts] == [1, 1, 0]


async def test_http_port_stays_zero_without_http_audio(park_simulator: SimulatorFactory) -> None:
    """By default controllers have no HTTP API (their register map reads as its base values)."""
    sim = await park_simulator(every_type_profile())
    assert sim.get_value(CONTROLLER, "http_port") == 0
    assert sim.audio.controllers[CONTROLLER].port == 0
