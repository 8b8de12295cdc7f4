"""The alarm's persistent notification: a new fire or one-key incident shows in HA's notifications.

Raised from the incident events (every park, with or without a screen open) as
``smart_park_<incident id>_alarm`` in Home Assistant's language, moved when a fire reaches a new place, and
dismissed when the incident is closed. Texts are the ``exceptions.screen_*`` strings (en, zh-Hans), the way
the integration renders its other texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..incidents import (
    CHANGE_NEW_INPUT,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
)

ALERT_KINDS: Final = frozenset({"fire", "one_key"})
# English when a translation is missing (the keys are in strings.json; a broken file must not lose an alarm).
FALLBACK: Final = {
    "screen_alarm_fire": "Fire alarm",
    "screen_alarm_one_key": "One-key alarm",
    "screen_alarm_title": "{kind}: {place}",
    "screen_alarm_message": "{kind} at {place}, {time}. Acknowledge it on the duty-room screen: {url}",
    "screen_place_floor": "{building}, floor {floor}",
    "screen_place_park": "the park",
}
SCREEN_URL: Final = "/smart-park"


def notification_id(incident_id: str) -> str:
    """The persistent notification of an incident's alarm."""
    return f"{DOMAIN}_{incident_id}_alarm"


async def _async_texts(hass: HomeAssistant) -> dict[str, str]:
    translations = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
    prefix = f"component.{DOMAIN}.exceptions."
    return {key: translations.get(f"{prefix}{key}.message", text) for key, text in FALLBACK.items()}


def _format(texts: Mapping[str, str], key: str, **values: Any) -> str:
    try:
        return texts[key].format(**values)
    except (KeyError, IndexError, ValueError):
        return FALLBACK[key].format(**values)


def render(texts: Mapping[str, str], incident: Mapping[str, Any]) -> tuple[str, str]:
    """Title and message of an incident's alarm (``incident`` as the incident events carry it)."""
    building = incident.get("building_name") or incident.get("building")
    if building and incident.get("floor") is not None:
        place = _format(texts, "screen_place_floor", building=building, floor=incident["floor"])
    else:
        place = str(building or _format(texts, "screen_place_park"))
    if incident.get("enterprise_name"):
        place = f"{place} · {incident['enterprise_name']}"
    kind = _format(texts, f"screen_alarm_{incident['kind']}")
    opened = dt_util.parse_datetime(str(incident.get("opened_at"))) or dt_util.utcnow()
    time = dt_util.as_local(opened).strftime("%H:%M:%S")
    title = _format(texts, "screen_alarm_title", kind=kind, place=place)
    message = _format(texts, "screen_alarm_message", kind=kind, place=place, time=time, url=SCREEN_URL)
    return title, message


@callback
def async_follow_alarms(hass: HomeAssistant) -> CALLBACK_TYPE:
    """Raise, move and dismiss the alarm notifications of every park; returns the stop callback."""
    # Raises waiting for their texts, with the newest data: a close meanwhile cancels the raise (it would
    # outlive the incident), a second raise meanwhile is done by the first with its data.
    raising: dict[str, dict[str, Any]] = {}

    async def async_raise(incident: dict[str, Any]) -> None:
        incident_id = str(incident["id"])
        raising[incident_id] = incident
        texts = await _async_texts(hass)
        if (newest := raising.pop(incident_id, None)) is None:
            return
        title, message = render(texts, newest)
        persistent_notification.async_create(
            hass, message, title=title, notification_id=notification_id(incident_id)
        )

    async def opened(event: Event[dict[str, Any]]) -> None:
        if event.data.get("kind") in ALERT_KINDS:
            await async_raise(event.data)

    async def updated(event: Event[dict[str, Any]]) -> None:
        data = event.data
        moved = data.get("change") == CHANGE_NEW_INPUT and not data.get("closed_at")
        if data.get("kind") in ALERT_KINDS and moved:
            await async_raise(data)

    @callback
    def closed(event: Event[dict[str, Any]]) -> None:
        if event.data.get("kind") in ALERT_KINDS:
            raising.pop(str(event.data["id"]), None)
            persistent_notification.async_dismiss(hass, notification_id(str(event.data["id"])))

    stops = [
        hass.bus.async_listen(EVENT_INCIDENT_OPENED, opened),
        hass.bus.async_listen(EVENT_INCIDENT_UPDATED, updated),
        hass.bus.async_listen(EVENT_INCIDENT_CLOSED, closed),
    ]

    @callback
    def stop() -> None:
        for unsubscribe in stops:
            unsubscribe()

    return stop
