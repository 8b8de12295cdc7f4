"""Websocket commands of the volunteers: the roster with reachability, and the roll-calls (listed, followed).

For the duty-room screen and the park_sync add-on. Any user may read them (operators need not be
administrators); the phone, personal data, goes to administrators only, and the recipients' tokens (which
answer for a volunteer) to nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import probatio as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from ..entry import ATTR_CONFIG_ENTRY_ID, websocket_entries
from .model import RollCall
from .rollcall import SIGNAL_ROLLCALL_CHANGED

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry
    from . import VolunteerTeam

ENTRY_ID_FIELD: Final[dict[str | vol.Marker, Any]] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): str}


def async_setup(hass: HomeAssistant) -> None:
    """Register the volunteers' websocket commands."""
    async_register_command(hass, ws_list_volunteers)
    async_register_command(hass, ws_list_rollcalls)
    async_register_command(hass, ws_subscribe_rollcalls)


def volunteer_items(team: VolunteerTeam, *, personal: bool) -> list[dict[str, Any]]:
    """The roster as the screen shows it: who, role, place, on duty, reachable, the last notification."""
    roster = team.roster
    on_duty = {v.user_id for v in roster.on_duty()}
    items = []
    for volunteer in roster.volunteers():
        last = roster.last_delivery.get(volunteer.user_id)
        items.append(
            {
                **(volunteer.as_dict() if personal else volunteer.public_dict()),
                "park_id": roster.profile.id,
                "on_duty": volunteer.user_id in on_duty,
                "reachable": roster.reachable(volunteer.user_id),
                "phones": [
                    {"name": p.name, "local_push": p.local, "relay_push": p.relay}
                    for p in roster.phones(volunteer.user_id)
                ],
                "last_delivery": {"delivery": last[0].value, "path": last[1], "at": last[2].isoformat()}
                if last
                else None,
            }
        )
    return items


def rollcall_item(team: VolunteerTeam, rollcall: RollCall) -> dict[str, Any]:
    """A roll-call for the API: names, answers and figures, no tokens."""
    return {**rollcall.public_dict(), "park_id": team.roster.profile.id}


@websocket_command({vol.Required("type"): "smart_park/volunteers/list", **ENTRY_ID_FIELD})
@callback
def ws_list_volunteers(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The volunteers of one or every park."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    personal = connection.user.is_admin
    items = [item for e in entries for item in volunteer_items(e.runtime_data.volunteers, personal=personal)]
    connection.send_result(msg["id"], {"volunteers": items})


ROLLCALL_QUERY: Final[dict[str | vol.Marker, Any]] = {
    **ENTRY_ID_FIELD,
    vol.Optional("include_ended", default=False): bool,
}


def _rollcall_items(entries: list[SmartParkConfigEntry], include_ended: bool) -> list[dict[str, Any]]:
    return [
        rollcall_item(entry.runtime_data.volunteers, rollcall)
        for entry in entries
        for rollcall in entry.runtime_data.volunteers.rollcalls.rollcalls()
        if include_ended or rollcall.active
    ]


@websocket_command({vol.Required("type"): "smart_park/rollcalls/list", **ROLLCALL_QUERY})
@callback
def ws_list_rollcalls(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Active roll-calls (and ended ones kept, with ``include_ended``), oldest first."""
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    connection.send_result(msg["id"], {"rollcalls": _rollcall_items(entries, msg["include_ended"])})


@websocket_command({vol.Required("type"): "smart_park/rollcalls/subscribe", **ROLLCALL_QUERY})
@callback
def ws_subscribe_rollcalls(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """First ``{"rollcalls": [existing]}``, then ``{"rollcalls": [changed]}`` on every step or answer.

    Without ``config_entry_id`` parks set up or reloaded later are followed too.
    """
    if (entries := websocket_entries(hass, connection, msg)) is None:
        return
    entry_id = msg.get(ATTR_CONFIG_ENTRY_ID)
    msg_id = msg["id"]

    @callback
    def changed(changed_entry_id: str, team: VolunteerTeam, rollcall: RollCall) -> None:
        if entry_id is None or changed_entry_id == entry_id:
            connection.send_message(event_message(msg_id, {"rollcalls": [rollcall_item(team, rollcall)]}))

    connection.subscriptions[msg_id] = async_dispatcher_connect(hass, SIGNAL_ROLLCALL_CHANGED, changed)
    connection.send_result(msg_id)
    connection.send_message(
        event_message(msg_id, {"rollcalls": _rollcall_items(entries, msg["include_ended"])})
    )
