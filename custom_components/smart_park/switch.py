"""Switches: enable or disable each fire-bell linkage group (maintenance), admin or PIN only, audited."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartParkConfigEntry
from .entity import LinkageGroupEntity
from .linkage import FireLinkage, GroupRuntime

# The linkage does the I/O and serialises its own writes.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a linkage switch per group."""
    linkage = entry.runtime_data.linkage
    async_add_entities(LinkageSwitch(linkage, group) for group in linkage.groups.values())


class LinkageSwitch(LinkageGroupEntity, SwitchEntity):
    """On while the group's linkage is enabled; off means its bells will not sound (maintenance)."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_translation_key = "linkage_enabled"

    def __init__(self, linkage: FireLinkage, group: GroupRuntime) -> None:
        """Initialise the switch."""
        super().__init__(linkage, group, "enabled")

    @property
    def is_on(self) -> bool:
        """Whether the linkage is enabled."""
        return not self.linkage_group.group.disabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the linkage (a latched alarm then sounds)."""
        await self.linkage.async_set_disabled(self.linkage_group.id, False, self._context)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the linkage."""
        await self.linkage.async_set_disabled(self.linkage_group.id, True, self._context)
