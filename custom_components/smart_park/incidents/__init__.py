"""Incidents: a fire alarm, a one-key alarm or a gas alarm, from opening through acknowledgement to closing.

- :mod:`.model`: the incident record, its kinds and states, the names of the incident events;
- :mod:`.manager`: :class:`IncidentManager`, the incidents of one park (Store, audit, events, subscribers);
- :mod:`.gas`: gas detectors' alarms open gas incidents (triggering concentration and peak);
- :mod:`.terminals` and :mod:`.one_key`: one-key alarm terminals (presses, event entities, acknowledge lamp);
- :mod:`.actions`: the ``acknowledge_incident`` and ``close_incident`` actions.

What the rest of the integration uses is re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .actions import async_register_services
from .gas import GAS_ALARM_KEY, GAS_CONCENTRATION_KEY, GAS_PEAK_KEY, GasAlarms, async_watch_gas
from .manager import (
    ATTR_INCIDENT_ID,
    SERVICE_ACKNOWLEDGE,
    SERVICE_CLOSE,
    SIGNAL_INCIDENT_CHANGED,
    IncidentListener,
    IncidentManager,
)
from .model import (
    CHANGE_NEW_INPUT,
    CHANGE_REPEAT,
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
    Incident,
    IncidentKind,
    IncidentState,
)
from .one_key import EVENT_CANCELLED, EVENT_PRESSED, EVENT_TYPES, OneKeyAlarms, async_setup_one_key
from .terminals import Terminal, counter_step, find_terminals

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from ..audit import AuditLog
    from ..data import ParkPolls, SmartParkConfigEntry

__all__ = [
    "ATTR_INCIDENT_ID",
    "CHANGE_NEW_INPUT",
    "CHANGE_REPEAT",
    "EVENT_CANCELLED",
    "EVENT_INCIDENT_ACKNOWLEDGED",
    "EVENT_INCIDENT_CLOSED",
    "EVENT_INCIDENT_OPENED",
    "EVENT_INCIDENT_UPDATED",
    "EVENT_PRESSED",
    "EVENT_TYPES",
    "GAS_ALARM_KEY",
    "GAS_CONCENTRATION_KEY",
    "GAS_PEAK_KEY",
    "SERVICE_ACKNOWLEDGE",
    "SERVICE_CLOSE",
    "SIGNAL_INCIDENT_CHANGED",
    "GasAlarms",
    "Incident",
    "IncidentKind",
    "IncidentListener",
    "IncidentManager",
    "IncidentState",
    "OneKeyAlarms",
    "Terminal",
    "async_register_services",
    "async_setup_incidents",
    "async_setup_one_key",
    "counter_step",
    "find_terminals",
]


async def async_setup_incidents(
    hass: HomeAssistant, entry: SmartParkConfigEntry, polls: ParkPolls, audit: AuditLog
) -> IncidentManager:
    """Load the park's incidents and watch its gas detectors."""
    manager = IncidentManager(hass, entry, polls.profile, audit)
    await manager.async_load()
    entry.async_on_unload(manager.async_flush)
    await async_watch_gas(polls, manager, audit)
    return manager
