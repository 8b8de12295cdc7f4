"""Issue #11 item 2: reload, options save and HA stop with the poll loops running and requests in flight.

pymodbus 3.13 turns a request's cancellation into ``ModbusIOException``; when that was read as "the unit did
not answer", a stopping poll loop polled on, unload waited for it forever and the park was left dead.
Here the real loops run at the default intervals (safety tier every 0.1 s) and the simulator holds reads in
flight, so every stop lands on a request.
"""

from __future__ import annotations

import asyncio
import time
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.smart_park.const import (
    CONF_LINKAGE_CONFIRMATION,
    CONF_LINKAGE_SCOPE,
    CONF_LINKAGE_TEST_DURATION,
    CONF_LINKAGE_TRIGGERS,
    DOMAIN,
)
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.linkage import LinkageState
from simulator.server import ParkSimulator

from .conftest import ParkFactory
from .safety_park import bells_on, safety_document, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

RELOADS = 20
UNLOAD_WITHIN = 2.0  # the bound, with requests in flight
RING_WITHIN = 2.0  # generous: one safety poll (0.1 s) plus a verified write
# Reads of these units take this long: the safety and slow polls always have a request in flight.
SLOW_UNITS = ("bells_b", "meter_1")
SLOW_REPLY = 0.2


def poll_tasks() -> list[asyncio.Task[object]]:
    """The poll loops still running anywhere in the event loop."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith(f"{DOMAIN} poll") and not t.done()]


async def requests_in_flight(sim: ParkSimulator) -> None:
    await wait_until("a read in flight", lambda: sim.replies_pending > 0, 5)


async def assert_polling_stopped(sim: ParkSimulator) -> None:
    """No loop left, and the simulator receives no more requests."""
    assert poll_tasks() == []
    await asyncio.sleep(SLOW_REPLY + 0.1)
    count = sim.total_requests()
    await asyncio.sleep(0.5)
    assert sim.total_requests() == count


async def assert_rings(hass: HomeAssistant, entry: SmartParkConfigEntry, sim: ParkSimulator) -> None:
    """A call point pressed now rings its building's bells within the usual latency."""
    sim.press_call_point("bells_c", 2)
    await wait_until("b2 bells on", lambda: bells_on(sim, "bells_c"), RING_WITHIN)
    assert entry.runtime_data.linkage.groups["b2"].group.state is LinkageState.ALARM


async def test_reloads_and_options_save_with_requests_in_flight_then_the_bells_ring(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    entry, sim = await park_factory(safety_document(), options={})
    for device_id in SLOW_UNITS:
        sim.delay_replies(device_id, SLOW_REPLY)
    coordinators = len(entry.runtime_data.coordinators)
    for n in range(RELOADS):
        await requests_in_flight(sim)
        async with asyncio.timeout(10):
            assert await hass.config_entries.async_reload(entry.entry_id), n
        assert entry.state is ConfigEntryState.LOADED, n
        # The old loops are gone: exactly one loop per coordinator of the new entry.
        assert len(poll_tasks()) == coordinators, n

    # An options Save schedules the reload itself.
    before = entry.runtime_data
    await requests_in_flight(sim)
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {"next_step_id": "linkage"})
    done = await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {
            CONF_LINKAGE_SCOPE: "building",
            CONF_LINKAGE_CONFIRMATION: "single",
            CONF_LINKAGE_TRIGGERS: [],
            CONF_LINKAGE_TEST_DURATION: 15,
        },
    )
    assert done["type"] == "create_entry"
    await wait_until(
        "reloaded after the options save",
        lambda: entry.state is ConfigEntryState.LOADED
        and getattr(entry, "runtime_data", before) is not before,
        10,
    )
    assert entry.runtime_data.linkage.test_duration == 15
    await assert_rings(hass, entry, sim)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_with_requests_in_flight_ends_quickly_and_stops_every_poll(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    entry, sim = await park_factory(safety_document(), options={})
    for device_id in SLOW_UNITS:
        sim.delay_replies(device_id, SLOW_REPLY)
    client = entry.runtime_data.clients["gw1"]
    await requests_in_flight(sim)
    started = time.monotonic()
    async with asyncio.timeout(10):
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert time.monotonic() - started < UNLOAD_WITHIN
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not client.connected
    await assert_polling_stopped(sim)
    # Set up again, it rings.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await assert_rings(hass, entry, sim)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_home_assistant_stop_with_polls_running(hass: HomeAssistant, park_factory: ParkFactory) -> None:
    """HA's shutdown cancels the loops and fires the stop event: both paths must end, quickly."""
    entry, sim = await park_factory(safety_document(), options={})
    for device_id in SLOW_UNITS:
        sim.delay_replies(device_id, SLOW_REPLY)
    client = entry.runtime_data.clients["gw1"]
    await requests_in_flight(sim)
    started = time.monotonic()
    async with asyncio.timeout(20):
        await hass.async_stop()
    assert time.monotonic() - started < 5
    assert not client.connected
    await assert_polling_stopped(sim)


@pytest.mark.parametrize("stage", ["first polls", "capabilities"])
async def test_setup_cancelled_closes_its_connections(
    hass: HomeAssistant, park_factory: ParkFactory, stage: str
) -> None:
    """A set-up cancelled at shutdown (mid first polls or later) leaves no connection open (on-unload)."""
    entry, sim = await park_factory(safety_document(), options={}, setup=False)
    reached = asyncio.Event()

    async def hang(_self: object) -> None:
        reached.set()
        await asyncio.Event().wait()

    if stage == "first polls":
        for device_id in SLOW_UNITS:
            sim.delay_replies(device_id, 5.0)  # the first polls are in flight when the set-up is cancelled
    with patch("custom_components.smart_park.lifecycle.AuditLog.async_load", hang):
        setup = asyncio.create_task(hass.config_entries.async_setup(entry.entry_id))
        if stage == "first polls":
            await requests_in_flight(sim)
        else:
            await asyncio.wait_for(reached.wait(), 5)  # after the first polls, while loading the audit log
        assert sim.connection_ids("gw1")
        setup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await setup
    await wait_until("the gateway connection closed", lambda: not sim.connection_ids("gw1"), 2)
    assert poll_tasks() == []


async def test_unexpected_setup_error_is_translated_and_leaks_nothing(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    """A capability failing in an unforeseen way: a translated set-up error, connections released."""
    entry, sim = await park_factory(safety_document(), options={}, setup=False)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("controller map broken")

    with patch("custom_components.smart_park.lifecycle.async_setup_broadcast", broken):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "setup_failed"
    assert entry.error_reason_translation_placeholders == {"error": "controller map broken"}
    await wait_until("the gateway connection closed", lambda: not sim.connection_ids("gw1"), 2)
    assert poll_tasks() == []
