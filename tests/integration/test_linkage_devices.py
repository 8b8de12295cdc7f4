"""Linkage group devices are kept across reloads and restarts, with what the user set on them (#11 item 4)."""

from __future__ import annotations

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.entity import linkage_group_identifier

from .conftest import PARK_ID
from .helpers import find_device


async def test_linkage_group_device_keeps_area_name_and_entity_ids(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry
) -> None:
    """Area, user-given name and a renamed entity id of a linkage group survive a reload and a restart.

    The group's device was once missing from the devices setup keeps, so every setup deleted it (and its
    entities) and the platforms created it again.
    """
    entry = init_integration
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    identifier = linkage_group_identifier(entry.runtime_data.profile, "b1")
    device = find_device(devices, identifier)
    assert device is not None
    area = ar.async_get(hass).async_create("Duty room")
    devices.async_update_device(device.id, area_id=area.id, name_by_user="Building 1 bells")
    state_id = entities.async_get_entity_id("sensor", DOMAIN, f"{PARK_ID}_linkage_b1_state")
    fault_id = entities.async_get_entity_id("binary_sensor", DOMAIN, f"{PARK_ID}_linkage_b1_fault")
    assert state_id is not None
    assert fault_id is not None
    entities.async_update_entity(state_id, new_entity_id="sensor.building_1_bells")
    await hass.async_block_till_done()

    removed: list[str] = []

    @callback
    def on_device_event(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove":
            removed.append(event.data["device_id"])

    unsubscribe = hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, on_device_event)

    def assert_kept(when: str) -> None:
        kept = find_device(devices, identifier)
        assert kept is not None, when
        assert (kept.id, kept.area_id, kept.name_by_user) == (device.id, area.id, "Building 1 bells"), when
        assert entities.async_get_entity_id("sensor", DOMAIN, f"{PARK_ID}_linkage_b1_state") == (
            "sensor.building_1_bells"
        ), when
        assert entities.async_get_entity_id("binary_sensor", DOMAIN, f"{PARK_ID}_linkage_b1_fault") == (
            fault_id
        ), when
        state = hass.states.get("sensor.building_1_bells")
        assert state is not None, when
        assert state.state == "normal", when
        assert device.id not in removed, when

    # Reload (options change, the user's reload).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert_kept("reload")

    # Restart: the entry unloads and sets up again on the same storage.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert_kept("restart")
    unsubscribe()
