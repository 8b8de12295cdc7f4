"""Websocket commands park_sync calls as the park's GB/T 26875.3 device (administrators: its token is one).

``smart_park/centre/layout``: every loaded park's layout (:mod:`.layout`), or the one named by ``park_id``.
``smart_park/centre/report``: something the centre did (``rollcall`` with the minutes it waits,
``clock_sync`` with the clock offset seen, ``initialise``), for the duty room and the audit log.
"""

from __future__ import annotations

from typing import Any, Final

import probatio as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import async_response, require_admin, websocket_command
from homeassistant.core import HomeAssistant, callback

from ..coordinator import SmartParkConfigEntry
from ..entry import loaded_entries
from .desk import desk
from .layout import park_layout

EVENTS: Final = ("rollcall", "clock_sync", "initialise")


def async_setup(hass: HomeAssistant) -> None:
    """Register the centre link's websocket commands."""
    async_register_command(hass, ws_layout)
    async_register_command(hass, ws_report)


def _parks(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> list[SmartParkConfigEntry] | None:
    """The loaded parks a command is for (``park_id`` or all); a not_found error (and None) otherwise."""
    entries = loaded_entries(hass)
    if (park_id := msg.get("park_id")) is None:
        return entries
    found = [e for e in entries if e.runtime_data.profile.id == park_id]
    if not found:
        connection.send_error(msg["id"], ERR_NOT_FOUND, f"No loaded park {park_id}")
        return None
    return found


@websocket_command({vol.Required("type"): "smart_park/centre/layout", vol.Optional("park_id"): str})
@require_admin
@callback
def ws_layout(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The parks' buildings, enterprises' names and points with their entities and places."""
    if (entries := _parks(hass, connection, msg)) is None:
        return
    connection.send_result(msg["id"], {"parks": [park_layout(hass, entry) for entry in entries]})


@websocket_command(
    {
        vol.Required("type"): "smart_park/centre/report",
        vol.Optional("park_id"): str,
        vol.Required("event"): vol.In(EVENTS),
        vol.Optional("minutes", default=0): vol.All(int, vol.Range(min=0, max=255)),
        vol.Optional("offset"): vol.All(vol.Coerce(float), vol.Range(min=-1e9, max=1e9)),
        vol.Optional("centre_time"): str,
    }
)
@require_admin
@async_response
async def ws_report(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The centre asked for a roll-call, synchronised the clock or initialised the device."""
    if (entries := _parks(hass, connection, msg)) is None:
        return
    centre = desk(hass)
    for entry in entries:
        if msg["event"] == "rollcall":
            await centre.async_rollcall(entry, msg["minutes"])
        elif msg["event"] == "clock_sync":
            centre.record(entry, "clock_sync", offset=msg.get("offset"), centre_time=msg.get("centre_time"))
        else:
            centre.record(entry, "initialise")
    connection.send_result(msg["id"], {"parks": [e.runtime_data.profile.id for e in entries]})
