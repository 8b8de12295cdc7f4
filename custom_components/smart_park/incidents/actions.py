"""The duty room's actions: ``smart_park.acknowledge_incident`` and ``smart_park.close_incident``.

Both take the incident id and an optional ``config_entry_id``; without one the park is the one that keeps the
incident (or the only park loaded). The steps themselves, their audit and refusals are the manager's.
"""

from __future__ import annotations

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import config_validation as cv

from ..const import DOMAIN
from ..entry import ATTR_CONFIG_ENTRY_ID, ENTRY_FIELD, call_entry, loaded_entries
from ..errors import invalid
from .manager import ATTR_INCIDENT_ID, SERVICE_ACKNOWLEDGE, SERVICE_CLOSE, IncidentManager

SERVICE_SCHEMA = vol.Schema(ENTRY_FIELD).extend({vol.Required(ATTR_INCIDENT_ID): cv.string})


def _manager(call: ServiceCall) -> IncidentManager:
    """The park of the incident: named by config_entry_id, found by incident id, or the only park."""
    incident_id = call.data[ATTR_INCIDENT_ID]
    if ATTR_CONFIG_ENTRY_ID not in call.data:
        loaded = loaded_entries(call.hass)
        for entry in loaded:
            if entry.runtime_data.incidents.get(incident_id) is not None:
                return entry.runtime_data.incidents
        if len(loaded) > 1:
            raise invalid("incident_not_found", incident_id=incident_id)
    return call_entry(call).runtime_data.incidents


async def _async_acknowledge(call: ServiceCall) -> None:
    _manager(call).acknowledge(call.data[ATTR_INCIDENT_ID], context=call.context)


async def _async_close(call: ServiceCall) -> None:
    _manager(call).close(call.data[ATTR_INCIDENT_ID], context=call.context)


def async_register_services(hass: HomeAssistant) -> None:
    """Register ``smart_park.acknowledge_incident`` and ``smart_park.close_incident``."""
    hass.services.async_register(DOMAIN, SERVICE_ACKNOWLEDGE, _async_acknowledge, schema=SERVICE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_CLOSE, _async_close, schema=SERVICE_SCHEMA)
