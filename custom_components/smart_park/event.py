"""Events: a one-key alarm terminal's ``pressed`` and ``cancelled``.

No device class: ``doorbell`` would make voice assistants and HomeKit announce a visitor, and ``button`` is
meant for remote controls; this is an emergency call, shown by its own name and icon. The terminal's
``alarm_active`` binary sensor (or the IO module's input) stays the "alarm is active" entity.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from . import ids
from .coordinator import SmartParkConfigEntry, SmartParkCoordinator
from .entity import park_device_info
from .incidents import EVENT_TYPES, OneKeyAlarms, Terminal

# Events come from the coordinators' hooks; entities do no I/O.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an event entity for every one-key alarm terminal."""
    runtime = entry.runtime_data
    alarms = runtime.one_key
    entities = []
    for terminal in alarms.terminals.values():
        point = next(p for p in terminal.device.points if p.key == terminal.alarm_key)
        coordinator = runtime.coordinators[(terminal.device.gateway, point.tier)]
        entities.append(OneKeyAlarmEvent(coordinator, alarms, terminal))
    async_add_entities(entities)


class OneKeyAlarmEvent(CoordinatorEntity[SmartParkCoordinator], EventEntity):
    """Presses and cancels of one alarm terminal (available while its device answers)."""

    _attr_has_entity_name = True
    _attr_event_types = EVENT_TYPES

    def __init__(self, coordinator: SmartParkCoordinator, alarms: OneKeyAlarms, terminal: Terminal) -> None:
        """Initialise the event entity."""
        super().__init__(coordinator)
        profile = coordinator.config_entry.runtime_data.profile
        self._alarms = alarms
        self._terminal = terminal
        self._attr_device_info = park_device_info(profile, terminal.device)
        if terminal.channel is None:
            self._attr_unique_id = ids.alarm_button(profile.id, terminal.device.id, None)
            self._attr_translation_key = "alarm_button"
        else:
            self._attr_unique_id = ids.alarm_button(profile.id, terminal.device.id, terminal.channel)
            if terminal.name:
                self._attr_name = terminal.name
            else:
                self._attr_translation_key = "alarm_button_channel"
                self._attr_translation_placeholders = {"n": str(terminal.channel)}

    @property
    def available(self) -> bool:
        """Unavailable when the gateway is down or the terminal did not answer."""
        reading = (self.coordinator.data or {}).get(self._terminal.device.id)
        return super().available and reading is not None and reading.available

    async def async_added_to_hass(self) -> None:
        """Listen to the terminal's presses and cancels."""
        await super().async_added_to_hass()
        self.async_on_remove(self._alarms.async_subscribe_events(self._terminal.key, self._handle_event))

    @callback
    def _handle_event(self, event_type: str, attributes: dict[str, Any]) -> None:
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
