"""Setup, unload, devices in the registry and setup failures."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_park.const import CONF_PROFILE, DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from simulator.server import ParkSimulator

from .conftest import DEVICE_TYPES, PARK_ID, PARK_NAME, entry_options, park_document
from .helpers import find_device, find_entity

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _entry(document: dict[str, Any], port: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=PARK_NAME,
        unique_id=PARK_ID,
        data={CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_PROFILE: document},
        options=entry_options(),
    )


async def test_setup_and_unload(hass: HomeAssistant, init_integration: SmartParkConfigEntry) -> None:
    """The park loads with one coordinator per tier of its gateway and closes its connection on unload."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert {tier for (_gw, tier) in entry.runtime_data.coordinators} == {"safety", "fast", "normal", "slow"}
    client = entry.runtime_data.clients["gw1"]
    assert client.connected
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not client.connected


async def test_devices(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    device_registry: dr.DeviceRegistry,
    area_registry: ar.AreaRegistry,
) -> None:
    """A gateway device, and every field device reached through it, placed in its building's area."""
    gateway = find_device(device_registry, (DOMAIN, f"{PARK_ID}_gw1"))
    assert gateway is not None
    assert gateway.name == "Gateway 1"
    assert gateway.model == "Modbus TCP gateway"
    tank = find_device(device_registry, (DOMAIN, f"{PARK_ID}_fire_water_tank"))
    assert tank is not None
    assert tank.via_device_id == gateway.id
    assert tank.name == "Fire Water Tank"
    assert tank.model == "Tank level/pressure RTU"
    assert tank.model_id == "fire_water_tank"
    assert tank.manufacturer == "Generic"
    area = area_registry.async_get_area(tank.area_id)
    assert area is not None
    assert area.name == "1号楼"
    park = find_device(device_registry, (DOMAIN, f"{PARK_ID}_park"))
    assert park is not None
    assert park.entry_type is dr.DeviceEntryType.SERVICE
    devices = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    # The field devices, the gateway, the park, enterprise e001, building b1 (its fire-inspection list) and
    # b1's fire-bell linkage group.
    assert len(devices) == len(DEVICE_TYPES) + 5
    building = find_device(device_registry, (DOMAIN, f"{PARK_ID}_building.b1"))
    assert building is not None
    assert building.name == "1号楼"
    assert building.via_device_id == park.id


async def test_gateway_offline_at_setup(hass: HomeAssistant) -> None:
    """An unreachable gateway means retry later, with a translated reason."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    entry = _entry(park_document(port), port)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "gateway_offline"
    assert entry.reason is not None
    assert "Gateway gw1 cannot be reached" in entry.reason


async def test_invalid_stored_profile(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    """A stored profile that no longer validates stops setup with a translated error (no retry loop)."""
    document = park_document(simulator.ports["gw1"])
    document["devices"][0]["type"] = "retired_type"
    entry = _entry(document, simulator.ports["gw1"])
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "stored_profile_invalid"


async def test_devices_removed_from_profile_leave_the_registry(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """After the profile drops a device and the park reloads, its HA device is gone."""
    entry = init_integration
    document = dict(entry.data[CONF_PROFILE])
    document["devices"] = [d for d in document["devices"] if d["id"] != "gas_detector"]
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PROFILE: document})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert find_device(device_registry, (DOMAIN, f"{PARK_ID}_gas_detector")) is None
    assert find_device(device_registry, (DOMAIN, f"{PARK_ID}_smoke_detector")) is not None
    assert find_entity(hass, "binary_sensor", "test_park_gas_detector_gas_alarm") is None


async def test_connections_closed_when_home_assistant_stops(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry
) -> None:
    """Stopping HA closes the gateway connections even though entries are not unloaded."""
    client = init_integration.runtime_data.clients["gw1"]
    assert client.connected
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not client.connected
