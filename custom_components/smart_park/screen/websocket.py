"""Websocket commands of the duty-room screen: its subscription, and the sync link's heartbeat.

``smart_park/screen/subscribe`` (any user: the duty room's operators need not be administrators; nothing
personal is sent): first ``{"type": "snapshot", "parks": [...]}``, then ``{"type": "delta", ...}`` per park
at most every 250 ms, ``{"type": "snapshot", "parks": [park]}`` for a park loaded later and
``{"type": "removed", ...}`` for one unloaded. ``smart_park/sync/heartbeat`` (administrators: park_sync's
token is one) records that the central acknowledged the add-on's uploads.
"""

from __future__ import annotations

from typing import Any, Final

import probatio as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND, ERR_UNKNOWN_ERROR
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.components.websocket_api.messages import construct_event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..entry import ATTR_CONFIG_ENTRY_ID, loaded_entries, websocket_entries
from .hub import DATA_SCREEN, Subscription
from .park import Payload

ENTRY_ID_FIELD: Final[dict[str | vol.Marker, Any]] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): str}
# The longest quiet time a heartbeat may announce: a day.
MAX_INTERVAL: Final = 86_400.0


def async_setup(hass: HomeAssistant) -> None:
    """Register the screen's websocket commands."""
    async_register_command(hass, ws_subscribe_screen)
    async_register_command(hass, ws_sync_heartbeat)


@websocket_command({vol.Required("type"): "smart_park/screen/subscribe", **ENTRY_ID_FIELD})
@async_response
async def ws_subscribe_screen(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The parks (one, or all with those loaded later): a snapshot, then coalesced deltas."""
    hub = hass.data[DATA_SCREEN]
    msg_id = msg["id"]
    entry_id = msg.get(ATTR_CONFIG_ENTRY_ID)
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return

    @callback
    def send(payload: Payload) -> None:
        connection.send_message(construct_event_message(msg_id, payload.json))

    subscription = Subscription(entry_id, send)
    parks = []
    try:
        for entry in entries:
            parks.append(await hub.async_park(entry))
    except RuntimeError as err:
        for park in parks:
            hub.stop_if_unwatched(park.entry.entry_id)
        connection.send_error(msg_id, ERR_UNKNOWN_ERROR, str(err))
        return
    # From here on nothing awaits: the snapshot and the first delta the subscription gets follow each other.
    connection.subscriptions[msg_id] = lambda: hub.release(subscription)
    connection.send_result(msg_id)
    send(Payload({"type": "snapshot", "parks": [park.snapshot() for park in parks]}))
    hub.track(subscription)
    for park in parks:
        hub.attach(subscription, park)


@websocket_command(
    {
        vol.Required("type"): "smart_park/sync/heartbeat",
        vol.Optional("park_id"): str,
        vol.Required("interval"): vol.All(vol.Coerce(float), vol.Range(min=1, max=MAX_INTERVAL)),
    }
)
@require_admin
@callback
def ws_sync_heartbeat(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The central acknowledged park_sync's uploads of ``park_id`` (every loaded park when left out)."""
    sync = hass.data[DATA_SCREEN].sync
    park_ids = {entry.runtime_data.profile.id for entry in loaded_entries(hass)}
    if (park_id := msg.get("park_id")) is not None:
        if park_id not in park_ids:
            connection.send_error(msg["id"], ERR_NOT_FOUND, f"No loaded park {park_id}")
            return
        park_ids = {park_id}
    now = dt_util.utcnow()
    for item in sorted(park_ids):
        sync.beat(item, msg["interval"], now)
    connection.send_result(msg["id"], {"parks": sorted(park_ids)})
