"""The ``smart_park.broadcast`` and ``smart_park.stop_broadcast`` actions.

Each call is checked whole (incident, zones, message) before anything is written, so a bad call changes
nothing; the schemas leave the message fields loose so that the handler can name the bad field in a translated
error. The park is the call's ``config_entry_id`` (optional with one park loaded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util.json import JsonValueType

from ..const import DOMAIN
from ..entry import ENTRY_FIELD, call_entry
from ..errors import invalid
from .manager import BroadcastManager
from .model import (
    ATTR_ALL,
    ATTR_BROADCAST_ID,
    ATTR_BUILDINGS,
    ATTR_INCIDENT_ID,
    ATTR_LANGUAGE,
    ATTR_MESSAGE,
    ATTR_PIN,
    ATTR_PRESET,
    ATTR_PRIORITY,
    ATTR_QUEUE,
    ATTR_QUEUE_TIMEOUT,
    ATTR_REPEAT,
    ATTR_TTS_ENGINE,
    ATTR_VOLUME,
    ATTR_ZONES,
    DEFAULT_QUEUE_TIMEOUT,
    Message,
    Priority,
    Zone,
)

PRIORITY_LABELS: Final = [p.label for p in Priority]
TARGET_FIELDS: Final = {
    vol.Optional(ATTR_ZONES): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_BUILDINGS): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_ALL, default=False): cv.boolean,
    vol.Optional(ATTR_PIN): cv.string,
}
BROADCAST_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        **TARGET_FIELDS,
        # Checked in the handler, so that each bad value gets a translated error naming its field.
        vol.Optional(ATTR_PRESET): vol.Any(cv.string, int),
        vol.Optional(ATTR_MESSAGE): vol.Any(None, cv.string),
        vol.Optional(ATTR_LANGUAGE): cv.string,
        vol.Optional(ATTR_TTS_ENGINE): cv.string,
        vol.Optional(ATTR_PRIORITY, default=Priority.NOTICE.label): vol.In(PRIORITY_LABELS),
        vol.Optional(ATTR_REPEAT, default=1): vol.All(vol.Coerce(int), vol.Range(min=0, max=99)),
        vol.Optional(ATTR_VOLUME): vol.All(vol.Coerce(int), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_QUEUE, default=False): cv.boolean,
        vol.Optional(ATTR_QUEUE_TIMEOUT, default=DEFAULT_QUEUE_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=86400)
        ),
        vol.Optional(ATTR_INCIDENT_ID): cv.string,
    }
)
STOP_SCHEMA: Final = vol.Schema({**ENTRY_FIELD, **TARGET_FIELDS, vol.Optional(ATTR_BROADCAST_ID): cv.string})


async def async_message_from(
    manager: BroadcastManager, data: Mapping[str, Any], zones: Sequence[Zone]
) -> Message:
    """The message of an action: exactly one of a preset or a non-empty text; translated errors."""
    preset, text = data.get(ATTR_PRESET), data.get(ATTR_MESSAGE)
    if preset is not None and text is not None:
        raise invalid("broadcast_preset_and_message", field=ATTR_PRESET)
    if preset is None and text is None:
        raise invalid("broadcast_no_message", field=ATTR_MESSAGE)
    if text is not None:
        if not text.strip():
            raise invalid("broadcast_empty_message", field=ATTR_MESSAGE)
        return await manager.async_tts_message(
            text.strip(), data.get(ATTR_LANGUAGE), data.get(ATTR_TTS_ENGINE)
        )
    return await manager.async_preset_message(zones, str(preset).strip())


async def _async_broadcast(call: ServiceCall) -> ServiceResponse:
    entry = call_entry(call)
    manager = entry.runtime_data.broadcast
    data = call.data
    # Everything is checked before anything is written: a bad call changes nothing.
    if (incident_id := data.get(ATTR_INCIDENT_ID)) is not None and entry.runtime_data.incidents.get(
        incident_id
    ) is None:
        raise invalid("incident_not_found", incident_id=incident_id)
    zones = manager.resolve_zones(data.get(ATTR_ZONES), data.get(ATTR_BUILDINGS), data[ATTR_ALL])
    message = await async_message_from(manager, data, zones)
    broadcast = await manager.async_broadcast(
        zones=zones,
        message=message,
        priority=Priority.from_label(data[ATTR_PRIORITY]),
        repeat=data[ATTR_REPEAT],
        volume=data.get(ATTR_VOLUME),
        queue=data[ATTR_QUEUE],
        queue_timeout=data[ATTR_QUEUE_TIMEOUT],
        context=call.context,
        pin=data.get(ATTR_PIN),
        incident_id=incident_id,
    )
    return {ATTR_BROADCAST_ID: broadcast.id, "status": broadcast.status.value}


async def _async_stop_broadcast(call: ServiceCall) -> ServiceResponse:
    manager = call_entry(call).runtime_data.broadcast
    data = call.data
    zones: tuple[Zone, ...] | None = None
    if data.get(ATTR_ZONES) or data.get(ATTR_BUILDINGS):
        zones = manager.resolve_zones(data.get(ATTR_ZONES), data.get(ATTR_BUILDINGS), data[ATTR_ALL])
    stopped = await manager.async_stop(
        zones=zones, broadcast_id=data.get(ATTR_BROADCAST_ID), context=call.context, pin=data.get(ATTR_PIN)
    )
    return {"stopped": list[JsonValueType](stopped)}


def async_register_services(hass: HomeAssistant) -> None:
    """Register ``smart_park.broadcast`` and ``smart_park.stop_broadcast``."""
    hass.services.async_register(
        DOMAIN,
        "broadcast",
        _async_broadcast,
        schema=BROADCAST_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "stop_broadcast",
        _async_stop_broadcast,
        schema=STOP_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
