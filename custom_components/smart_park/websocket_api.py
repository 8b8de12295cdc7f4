"""Websocket API: list and subscribe to incidents, audit entries and the enterprise registry.

Used by the dashboard and by the park_sync add-on (``smart_park/incidents/subscribe`` and friends). A
subscription first sends what exists (so a reconnecting client catches up), then every change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

import probatio as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import require_admin, websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util

from .audit import EVENT_AUDIT
from .centre import websocket as centre_websocket
from .coordinator import SmartParkConfigEntry
from .enterprises import SIGNAL_ENTERPRISES_CHANGED, redacted
from .entry import ATTR_CONFIG_ENTRY_ID, websocket_entries
from .incidents import SIGNAL_INCIDENT_CHANGED, Incident, IncidentManager
from .volunteers import websocket as volunteers_websocket


def async_setup(hass: HomeAssistant) -> None:
    """Register the websocket commands."""
    async_register_command(hass, ws_list_incidents)
    async_register_command(hass, ws_subscribe_incidents)
    async_register_command(hass, ws_list_audit)
    async_register_command(hass, ws_subscribe_audit)
    async_register_command(hass, ws_list_enterprises)
    async_register_command(hass, ws_subscribe_enterprises)
    # Each capability adds its commands here.
    volunteers_websocket.async_setup(hass)
    centre_websocket.async_setup(hass)


# --- incidents and audit ------------------------------------------------------------------------------
# Without config_entry_id a command covers every loaded park, and a subscription also follows parks set up
# or reloaded later (park_sync subscribes once per session with no arguments). Incidents are readable by
# any user (the duty room's operators need not be administrators); the audit log, a security record of who
# silenced, reset or was refused what, is for administrators (park_sync uses an admin's token or the
# Supervisor's, which is an administrator).

# Closed incidents changed this recently are in a subscription's first event, so a client that was away
# overnight learns how the incidents it knew open were closed.
RECENT_INCIDENTS: Final = timedelta(hours=24)
# Existing items are sent in several events of at most this many: a client's message size limit (aiohttp's
# default is 4 MiB) must not be hit by a full audit log.
CHUNK: Final = 500

ENTRY_ID_FIELD: Final[dict[str | vol.Marker, Any]] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): str}


def _send_chunked(connection: ActiveConnection, msg_id: int, key: str, items: list[Any]) -> None:
    for start in range(0, len(items), CHUNK):
        connection.send_message(event_message(msg_id, {key: items[start : start + CHUNK]}))


def _incident_items(managers: Iterable[IncidentManager], wanted: Any) -> list[dict[str, Any]]:
    items = [
        manager.describe(incident)
        for manager in managers
        for incident in manager.incidents()
        if wanted(incident)
    ]
    return sorted(items, key=lambda item: str(item["opened_at"]))


@websocket_command(
    {
        vol.Required("type"): "smart_park/incidents/list",
        **ENTRY_ID_FIELD,
        vol.Optional("include_closed", default=True): bool,
    }
)
@callback
def ws_list_incidents(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Incidents of one or every park, oldest first."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    include_closed = msg["include_closed"]
    managers = [entry.runtime_data.incidents for entry in entries]
    items = _incident_items(managers, lambda incident: include_closed or incident.is_open)
    connection.send_result(msg["id"], {"incidents": items})


@websocket_command({vol.Required("type"): "smart_park/incidents/subscribe", **ENTRY_ID_FIELD})
@callback
def ws_subscribe_incidents(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """First ``{"incidents": [open and recently changed]}``, then ``{"incidents": [incident]}`` per change."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    entry_id = msg.get(ATTR_CONFIG_ENTRY_ID)
    msg_id = msg["id"]

    @callback
    def changed(manager: IncidentManager, incident: Incident) -> None:
        if entry_id is None or manager.entry.entry_id == entry_id:
            connection.send_message(event_message(msg_id, {"incidents": [manager.describe(incident)]}))

    connection.subscriptions[msg_id] = async_dispatcher_connect(hass, SIGNAL_INCIDENT_CHANGED, changed)
    connection.send_result(msg_id)
    since = dt_util.utcnow() - RECENT_INCIDENTS
    managers = [entry.runtime_data.incidents for entry in entries]
    items = _incident_items(managers, lambda incident: incident.is_open or incident.updated_at >= since)
    _send_chunked(connection, msg_id, "incidents", items)
    if not items:
        connection.send_message(event_message(msg_id, {"incidents": []}))


def _audit_items(
    entries: list[SmartParkConfigEntry], after_seq: int, limit: int | None
) -> list[dict[str, Any]]:
    """Entries after ``after_seq`` (each park counts its own), oldest first; with ``limit`` the newest."""
    items = [
        audit_entry.as_dict()
        for entry in entries
        for audit_entry in entry.runtime_data.audit.entries(after_seq=after_seq, limit=limit)
    ]
    items.sort(key=lambda item: str(item["at"]))
    return items[-limit:] if limit else items


AUDIT_QUERY: Final[dict[str | vol.Marker, Any]] = {
    **ENTRY_ID_FIELD,
    vol.Optional("after_seq", default=0): vol.All(int, vol.Range(min=0)),
    vol.Optional("limit"): vol.All(int, vol.Range(min=1)),
}


@websocket_command({vol.Required("type"): "smart_park/audit/list", **AUDIT_QUERY})
@require_admin
@callback
def ws_list_audit(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Audit entries of one or every park, oldest first."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    connection.send_result(msg["id"], {"entries": _audit_items(entries, msg["after_seq"], msg.get("limit"))})


@websocket_command({vol.Required("type"): "smart_park/audit/subscribe", **AUDIT_QUERY})
@require_admin
@callback
def ws_subscribe_audit(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """First ``{"entries": [existing, after after_seq]}``, then ``{"entries": [entry]}`` per new entry."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    msg_id = msg["id"]
    # Entry ids are "<park id>-a<seq>": the bus event tells the park without a lookup.
    parks = {entry.runtime_data.profile.id for entry in entries} if ATTR_CONFIG_ENTRY_ID in msg else None

    @callback
    def recorded(event: Event[dict[str, Any]]) -> None:
        if parks is None or str(event.data.get("id", "")).rpartition("-a")[0] in parks:
            connection.send_message(event_message(msg_id, {"entries": [event.data]}))

    connection.subscriptions[msg_id] = hass.bus.async_listen(EVENT_AUDIT, recorded)
    connection.send_result(msg_id)
    items = _audit_items(entries, msg["after_seq"], msg.get("limit"))
    _send_chunked(connection, msg_id, "entries", items)
    if not items:
        connection.send_message(event_message(msg_id, {"entries": []}))


# --- enterprise registry ---
# Records with their figures; ``updated_at`` moves with every change of either. Personal fields (USCC, contact
# name and phone) go to administrators only (park_sync's token is one: whether it forwards them is its own
# configuration); other users get them redacted.


def _enterprise_items(entries: list[SmartParkConfigEntry], personal: bool) -> list[dict[str, Any]]:
    return [item for entry in entries for item in entry.runtime_data.enterprises.items(personal=personal)]


@websocket_command({vol.Required("type"): "smart_park/enterprises/list", **ENTRY_ID_FIELD})
@callback
def ws_list_enterprises(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Enterprises of one or every park, each with its figures."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    items = _enterprise_items(entries, connection.user.is_admin)
    connection.send_result(msg["id"], {"enterprises": items})


@websocket_command({vol.Required("type"): "smart_park/enterprises/subscribe", **ENTRY_ID_FIELD})
@callback
def ws_subscribe_enterprises(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """First ``{"enterprises": [every enterprise]}``, then ``{"enterprises": [changed]}`` per change.

    A park set up or reloaded later sends all of its enterprises as changed.
    """
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    entry_id = msg.get(ATTR_CONFIG_ENTRY_ID)
    msg_id = msg["id"]
    personal = connection.user.is_admin

    @callback
    def changed(changed_entry_id: str, items: list[dict[str, Any]]) -> None:
        if entry_id is None or changed_entry_id == entry_id:
            sent = items if personal else [redacted(item) for item in items]
            connection.send_message(event_message(msg_id, {"enterprises": sent}))

    connection.subscriptions[msg_id] = async_dispatcher_connect(hass, SIGNAL_ENTERPRISES_CHANGED, changed)
    connection.send_result(msg_id)
    items = _enterprise_items(entries, personal)
    _send_chunked(connection, msg_id, "enterprises", items)
    if not items:
        connection.send_message(event_message(msg_id, {"enterprises": []}))
