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
from .volunteers import EVENT_DISPATCHED, EVENT_ENDED, EVENT_ESCALATED, EVENT_RESPONDED

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


RESPONSE_PHRASES: Final = {"on_my_way": "on the way", "cannot_come": "cannot come", "arrived": "arrived"}
ROLLCALL_NAME: Final = "Volunteer roll-call"


def _seconds(value: Any) -> str:
    return f"{float(value):.0f} s" if isinstance(value, int | float) else "-"


def describe_rollcall(event_type: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """Logbook name and message of a roll-call event: volunteers by name, with the figures that matter."""
    where = place(data)
    kind = KIND_NAMES.get(str(data.get("kind")), data.get("kind"))
    incident = f"{kind} at {where or 'the park'} ({data.get('incident_id')})"
    if event_type == EVENT_RESPONDED:
        via = " by radio" if data.get("via") == "radio" else ""
        phrase = RESPONSE_PHRASES.get(str(data.get("response")), str(data.get("response")))
        return (
            f"Volunteer {data.get('name')}",
            f"{phrase}{via}: {incident}, {_seconds(data.get('seconds'))} after the alarm",
        )
    counts = f"{data.get('on_my_way', 0)}/{data.get('quorum', 0)} on the way"
    if event_type == EVENT_DISPATCHED:
        return ROLLCALL_NAME, f"{data.get('asked', 0)} volunteers asked: {incident}"
    if event_type == EVENT_ESCALATED:
        step = (
            "nobody on the way, everyone on the roster asked"
            if data.get("step") == "repeat_all"
            else "below quorum, help called for"
        )
        return ROLLCALL_NAME, f"{step} ({counts}): {incident}"
    return ROLLCALL_NAME, (
        f"ended, {counts}, {data.get('arrived', 0)} arrived, first on the way after "
        f"{_seconds(data.get('first_on_my_way_s'))}: {incident}"
    )


def describe_audit(data: Mapping[str, Any]) -> str:
    """Logbook message of an audit entry."""
    action = str(data.get("action", ""))
    details: Mapping[str, Any] = data.get("data") or {}
    text = AUDIT_PHRASES.get(action, action.replace("_", " "))
    if action == "acknowledge_lamp" and "on" in details:
        text += " on" if details["on"] else " off"
    if target := data.get("target"):
        text += f": {target}"
    if data.get("category") == "volunteer" and (name := details.get("volunteer_name")):
        text += f" ({name})"
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

    def rollcall(event_type: str) -> Callable[[Event], dict[str, Any]]:
        @callback
        def describe(event: Event) -> dict[str, Any]:
            name, message = describe_rollcall(event_type, event.data)
            return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}

        return describe

    async_describe_event(DOMAIN, EVENT_AUDIT, audit)
    for event_type in (EVENT_DISPATCHED, EVENT_RESPONDED, EVENT_ESCALATED, EVENT_ENDED):
        async_describe_event(DOMAIN, event_type, rollcall(event_type))
    for event_type in INCIDENT_VERBS:
        async_describe_event(DOMAIN, event_type, incident(event_type))
