"""Helpers shared by the integration tests."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier


async def async_poll(hass: HomeAssistant, entry: SmartParkConfigEntry, *tiers: Tier) -> None:
    """Run one poll of the given tiers (all when none given) and let the states settle."""
    for (_gateway, tier), coordinator in entry.runtime_data.coordinators.items():
        if not tiers or tier in tiers:
            await coordinator.async_refresh()
    await hass.async_block_till_done()


async def async_poll_until_recovered(
    hass: HomeAssistant, entry: SmartParkConfigEntry, timeout: float = 15
) -> None:
    """Poll every tier until all succeed; a reconnect waits out the engine's backoff."""
    async with asyncio.timeout(timeout):
        while True:
            await async_poll(hass, entry)
            if all(c.last_update_success for c in entry.runtime_data.coordinators.values()):
                return
            await asyncio.sleep(0.2)


def find_device(device_registry: dr.DeviceRegistry, identifier: tuple[str, str]) -> dr.DeviceEntry | None:
    """The device with ``identifier`` (tests hold one park entry; HA's own lookup needs the entry id)."""
    return next((d for d in device_registry.devices if identifier in d.identifiers), None)


def find_entity(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    """The entity id of a smart_park entity by unique id (HA prefixes new entity ids with the area)."""
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)


def eid(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id of a smart_park entity that must exist, found by unique id."""
    entity_id = find_entity(hass, platform, unique_id)
    assert entity_id is not None, f"no {platform} entity with unique id {unique_id}"
    return entity_id


def entity_state(hass: HomeAssistant, platform: str, unique_id: str) -> State:
    """The state of a smart_park entity, found by unique id."""
    state = hass.states.get(eid(hass, platform, unique_id))
    assert state is not None, unique_id
    return state
