"""Logbook: the audit log and the incident events as readable lines.

HA does not translate logbook messages; they are English, with the park's own names (buildings, enterprises)
as written in the profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from . import ids
from .audit import EVENT_AUDIT
from .const import DOMAIN
from .incidents import (
    CHANGE_NEW_INPUT,
    CHANGE_REPEAT,
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
)

NAME: Final = "Smart Park"
KIND_NAMES: Final = {"fire": "Fire", "one_key": "One-key alarm", "gas": "Gas"}
INCIDENT_VERBS: Final = {
    EVENT_INCIDENT_OPENED: "opened",
    EVENT_INCIDENT_UPDATED: "updated",
    EVENT_INCIDENT_ACKNOWLEDGED: "acknowledged",
    EVENT_INCIDENT_CLOSED: "closed",
}
UPDATE_VERBS: Final = {CHANGE_NEW_INPUT: "new alarm input", CHANGE_REPEAT: "alarm repeated"}
# Audit actions worded for the logbook; others (a capability's own) read as their name with spaces.
AUDIT_PHRASES: Final = {
    "open_incident": "incident opened",
    "acknowledge_incident": "incident acknowledged",
    "close_incident": "incident closed",
    "update_incident": "incident moved to a new alarm input",
    "alarm_button_pressed": "alarm button pressed",
    "alarm_cancelled": "alarm cancelled at the terminal",
    "acknowledge_lamp": "acknowledge lamp",
    "gas_alarm_cleared": "gas alarm cleared",
}


def place(data: Mapping[str, Any]) -> str:
    """'1号楼 floor 3, 恒达机械有限公司' from an incident's names and ids; empty when it has no place."""
    parts = []
    if building := data.get("building_name") or data.get("building"):
        parts.append(f"{building} floor {data['floor']}" if data.get("floor") is not None else str(building))
    if enterprise := data.get("enterprise_name") or data.get("enterprise"):
        parts.append(str(enterprise))
    return ", ".join(parts)


def describe_incident(event_type: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """Logbook name and message of an incident event."""
    kind = KIND_NAMES.get(str(data.get("kind")), str(data.get("kind", "")).replace("_", " ").capitalize())
    where = place(data)
    verb = INCIDENT_VERBS[event_type]
    if event_type == EVENT_INCIDENT_UPDATED:
        # Say what changed: the alarm reached a new input (place), or the same source alarmed again.
        verb = UPDATE_VERBS.get(str(data.get("change")), verb)
    message = verb + (f" at {where}" if where else "") + f" ({data.get('id')})"
    return f"{kind} incident", message


def describe_audit(data: Mapping[str, Any]) -> str:
    """Logbook message of an audit entry."""
    action = str(data.get("action", ""))
    details: Mapping[str, Any] = data.get("data") or {}
    text = AUDIT_PHRASES.get(action, action.replace("_", " "))
    if action == "acknowledge_lamp" and "on" in details:
        text += " on" if details["on"] else " off"
    if target := data.get("target"):
        text += f": {target}"
    outcome = data.get("outcome", "ok")
    if outcome != "ok":
        why = details.get("reason") or details.get("error")
        text = f"{outcome}: {text}" + (f" ({why})" if why else "")
    return text


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the audit and incident events."""

    @callback
    def audit(event: Event) -> dict[str, Any]:
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: describe_audit(event.data)}

    def incident(event_type: str) -> Callable[[Event], dict[str, Any]]:
        @callback
        def describe(event: Event) -> dict[str, Any]:
            name, message = describe_incident(event_type, event.data)
            described = {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}
            # Shown in the history of the park's open-incidents sensor too.
            unique_id = ids.open_incidents(str(event.data.get("park_id")))
            if entity_id := er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id):
                described[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
            return described

        return describe

    async_describe_event(DOMAIN, EVENT_AUDIT, audit)
    for event_type in INCIDENT_VERBS:
        async_describe_event(DOMAIN, event_type, incident(event_type))
