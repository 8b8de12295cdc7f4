"""A poll writes the states of the points whose value or availability changed, and no others.

A tier's coordinator tells its entities whenever any device of the tier changed; an entity whose own point
did not change must not write (no ``state_changed``, no ``state_reported``: each write costs hass CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component

from custom_components.smart_park import ids
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import PointPlatform, Tier
from simulator.server import ParkSimulator

from .conftest import PARK_ID
from .helpers import async_poll, async_poll_until_recovered, find_entity

pytestmark = pytest.mark.usefixtures("socket_enabled")


def point_entities(hass: HomeAssistant, entry: SmartParkConfigEntry, tier: Tier) -> dict[str, str]:
    """Entity id -> "device.point" of every sensor and binary sensor point of ``tier``."""
    entities = {}
    for device in entry.runtime_data.profile.devices.values():
        for point in device.points:
            platform = point.platform
            if point.tier is not tier or platform not in (PointPlatform.SENSOR, PointPlatform.BINARY_SENSOR):
                continue
            entity_id = find_entity(hass, str(platform), ids.point(PARK_ID, device.id, point.key))
            if entity_id is not None and hass.states.get(entity_id) is not None:
                entities[entity_id] = f"{device.id}.{point.key}"
    return entities


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


@contextmanager
def writes(hass: HomeAssistant, watched: dict[str, str]) -> Iterator[list[str]]:
    """The "device.point" of every state write (changed or reported) of ``watched`` entities meanwhile."""
    written: list[str] = []

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in watched

    @callback
    def record(event: Event[Any]) -> None:
        written.append(watched[event.data["entity_id"]])

    removers: list[Callable[[], None]] = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, record, event_filter=ours),
        hass.bus.async_listen(EVENT_STATE_REPORTED, record, event_filter=ours),
    ]
    try:
        yield written
    finally:
        for remove in removers:
            remove()


async def test_only_the_changed_point_is_written(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """One meter's power changes: its state alone is written, not the meter's voltage nor the tank's level."""
    entities = point_entities(hass, init_integration, Tier.NORMAL)
    # The tier holds other devices' points and the meter's other points: what must not be written.
    assert {"energy_meter.voltage", "fire_water_tank.level", "gas_detector.gas_concentration"} <= set(
        entities.values()
    )
    await async_poll(hass, init_integration, Tier.NORMAL)

    with writes(hass, entities) as written:
        await async_poll(hass, init_integration, Tier.NORMAL)
    assert written == []  # nothing changed at all

    simulator.set_value("energy_meter", "power", 20000)
    with writes(hass, entities) as written:
        await async_poll(hass, init_integration, Tier.NORMAL)
    assert written == ["energy_meter.power"]
    power = next(e for e, name in entities.items() if name == "energy_meter.power")
    assert state_of(hass, power) == "20000"


async def test_only_the_silent_device_goes_unavailable(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A unit stops answering: its points are written unavailable, then available again; no others."""
    entities = point_entities(hass, init_integration, Tier.NORMAL)
    tank = {name for name in entities.values() if name.startswith("fire_water_tank.")}
    assert tank
    assert len(tank) < len(entities)
    await async_poll(hass, init_integration, Tier.NORMAL)

    simulator.silence_unit("fire_water_tank")
    with writes(hass, entities) as written:
        await async_poll(hass, init_integration, Tier.NORMAL)
    assert sorted(written) == sorted(tank)
    for entity_id, name in entities.items():
        state = state_of(hass, entity_id)
        assert (state == STATE_UNAVAILABLE) is (name in tank), name

    simulator.silence_unit("fire_water_tank", silent=False)
    with writes(hass, entities) as written:
        await async_poll(hass, init_integration, Tier.NORMAL)
    assert sorted(written) == sorted(tank)
    assert all(state_of(hass, e) != STATE_UNAVAILABLE for e in entities)


async def test_gateway_down_writes_every_point_of_the_tier(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A failed poll makes the whole tier unavailable, although no device's last reading changed."""
    entities = point_entities(hass, init_integration, Tier.NORMAL)
    await async_poll(hass, init_integration, Tier.NORMAL)

    await simulator.gateway_down("gw1")
    with writes(hass, entities) as written:
        await async_poll(hass, init_integration, Tier.NORMAL)
    assert sorted(written) == sorted(entities.values())
    assert all(state_of(hass, e) == STATE_UNAVAILABLE for e in entities)

    await simulator.gateway_up("gw1")
    with writes(hass, entities) as written:
        await async_poll_until_recovered(hass, init_integration)
    assert sorted(set(written)) == sorted(entities.values())
    assert all(state_of(hass, e) != STATE_UNAVAILABLE for e in entities)


async def test_update_entity_service_polls_the_tier(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """homeassistant.update_entity on a point polls its coordinator now, as a CoordinatorEntity would."""
    entities = point_entities(hass, init_integration, Tier.NORMAL)
    power = next(e for e, name in entities.items() if name == "energy_meter.power")
    await async_poll(hass, init_integration, Tier.NORMAL)
    simulator.set_value("energy_meter", "power", 21000)
    assert state_of(hass, power) == "15000"
    await async_setup_component(hass, "homeassistant", {})
    await hass.services.async_call("homeassistant", "update_entity", {"entity_id": power}, blocking=True)
    await hass.async_block_till_done()
    assert state_of(hass, power) == "21000"
