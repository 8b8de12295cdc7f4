"""Sirens: one per bell circuit of each fire-bell controller, for a manual sound or check.

The linkage owns the bells: a siren shows the bell's confirmed state and can sound it by hand; stopping a bell
that the group's alarm is sounding is refused (silence the alarm instead), as all bells of a group start and
stop together.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.siren import SirenEntity
from homeassistant.components.siren.const import SirenEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ids
from .coordinator import SmartParkConfigEntry
from .entity import park_device_info
from .linkage import BellController, FireLinkage

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a siren per bell circuit."""
    linkage = entry.runtime_data.linkage
    async_add_entities(
        BellSiren(linkage, controller, n)
        for _group, controller in linkage.controllers.values()
        for n in range(1, controller.bells + 1)
    )


class BellSiren(SirenEntity):
    """One bell circuit (usually one floor) of a fire-bell controller."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_supported_features = SirenEntityFeature.TURN_ON | SirenEntityFeature.TURN_OFF
    _attr_translation_key = "bell"

    def __init__(self, linkage: FireLinkage, controller: BellController, channel: int) -> None:
        """Initialise the siren."""
        self.linkage = linkage
        self.controller = controller
        self.channel = channel
        self._attr_unique_id = ids.bell(linkage.profile.id, controller.id, channel)
        self._attr_translation_placeholders = {"n": str(channel)}
        self._attr_device_info = park_device_info(linkage.profile, controller.device)

    async def async_added_to_hass(self) -> None:
        """Follow the linkage."""
        self.async_on_remove(self.linkage.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Unavailable while the controller does not answer."""
        return self.controller.online

    @property
    def is_on(self) -> bool | None:
        """The bell's state as last confirmed by read-back (unknown while unconfirmed)."""
        return self.linkage.bell_state(self.controller.id, self.channel)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Sound the bell by hand."""
        await self.linkage.async_set_manual(self.controller.id, self.channel, True, self._context)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop a bell sounded by hand."""
        await self.linkage.async_set_manual(self.controller.id, self.channel, False, self._context)
