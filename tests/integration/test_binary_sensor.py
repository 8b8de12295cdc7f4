"""Binary sensors: call points, alarm buttons, alarms and faults from the park simulator."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import async_poll, eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    park_factory: ParkFactory,
) -> None:
    """Every binary sensor's registry entry and state."""
    entry, _sim = await park_factory(park_document(), platforms=[Platform.BINARY_SENSOR])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_call_point_and_alarm_button(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A pressed call point shows on the next safety poll, a one-key alarm on the next fast poll."""
    assert (
        entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_3").state == STATE_OFF
    )
    assert entity_state(hass, "binary_sensor", f"{PARK_ID}_one_key_alarm_alarm_active").state == STATE_OFF
    simulator.press_call_point("fire_bell_controller", 3)
    simulator.press_alarm_button("one_key_alarm")
    await async_poll(hass, init_integration, Tier.SAFETY, Tier.FAST)
    assert (
        entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_3").state == STATE_ON
    )
    assert (
        entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_2").state == STATE_OFF
    )
    assert entity_state(hass, "binary_sensor", f"{PARK_ID}_one_key_alarm_alarm_active").state == STATE_ON
    simulator.release_call_point("fire_bell_controller", 3)
    await async_poll(hass, init_integration, Tier.SAFETY)
    assert (
        entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_3").state == STATE_OFF
    )


async def test_channels_follow_the_profile(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_integration: SmartParkConfigEntry
) -> None:
    """A six-floor bell controller gets six call points (of 32 possible); channel n is in the name."""
    call_points = [
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
        if entry.unique_id.startswith(f"{PARK_ID}_fire_bell_controller_call_point_")
    ]
    assert len(call_points) == 6
    state = entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_6")
    assert state.attributes["friendly_name"] == "Fire Bell Controller Call point 6"
    assert state.attributes["device_class"] == "safety"
    # All call points share one translation, with the channel as placeholder.
    entry = entity_registry.async_get(
        eid(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_6")
    )
    assert entry.translation_key == "call_point"
