"""Which park an action or websocket command is for.

Every action takes an optional ``config_entry_id``; with one park loaded it may be left out. The capabilities
import these helpers from here (not from ``services``, which imports the capabilities to register them).
"""

from __future__ import annotations

from typing import Any

import probatio as vol
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import DOMAIN
from .coordinator import SmartParkConfigEntry

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ENTRY_FIELD = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}


def loaded_entries(hass: HomeAssistant) -> list[SmartParkConfigEntry]:
    """Every loaded park (websocket commands without an entry id cover them all)."""
    return [
        entry for entry in hass.config_entries.async_entries(DOMAIN) if entry.state is ConfigEntryState.LOADED
    ]


def resolve_entry(hass: HomeAssistant, data: dict[str, Any]) -> SmartParkConfigEntry:
    """The loaded park an action (or websocket command) is for; translated errors otherwise."""
    entry_id = data.get(ATTR_CONFIG_ENTRY_ID)
    loaded: list[SmartParkConfigEntry] = [
        entry for entry in hass.config_entries.async_entries(DOMAIN) if entry.state is ConfigEntryState.LOADED
    ]
    if entry_id is None:
        if len(loaded) == 1:
            return loaded[0]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_required" if loaded else "no_park_loaded",
        )
    for entry in loaded:
        if entry.entry_id == entry_id:
            return entry
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="entry_not_loaded",
        translation_placeholders={"entry_id": str(entry_id)},
    )


def call_entry(call: ServiceCall) -> SmartParkConfigEntry:
    """The park a service call is for."""
    return resolve_entry(call.hass, dict(call.data))


def websocket_entries(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> list[SmartParkConfigEntry] | None:
    """The parks a websocket command is for: every loaded one, or the one its ``config_entry_id`` names.

    For an unknown entry it sends the command a not_found error and returns None.
    """
    loaded = loaded_entries(hass)
    if (entry_id := msg.get(ATTR_CONFIG_ENTRY_ID)) is None:
        return loaded
    found = [entry for entry in loaded if entry.entry_id == entry_id]
    if not found:
        connection.send_error(msg["id"], ERR_NOT_FOUND, f"No loaded park with entry {entry_id}")
        return None
    return found
