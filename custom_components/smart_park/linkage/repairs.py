"""The repair issue of a linkage group with faults (controller offline, mains, battery, bell circuit...).

One critical issue per group, raised while it has faults and removed when they clear or the park unloads.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN
from .groups import GroupRuntime


class FaultIssues:
    """Keeps each group's ``linkage_fault`` repair issue true to its faults."""

    def __init__(self, hass: HomeAssistant, profile_id: str) -> None:
        self.hass = hass
        self.profile_id = profile_id

    def _issue_id(self, group: GroupRuntime) -> str:
        return f"{self.profile_id}_linkage_{group.id}_fault"

    def update(self, group: GroupRuntime) -> None:
        """Raise, update or remove the group's issue after its faults may have changed."""
        faults = frozenset(group.faults())
        if faults == group.issue_faults:
            return
        group.issue_faults = faults
        if faults:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(group),
                is_fixable=False,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key="linkage_fault",
                translation_placeholders={"group": group.name, "faults": ", ".join(sorted(faults))},
            )
            group.raised_issue = True
        elif group.raised_issue:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(group))
            group.raised_issue = False

    def clear(self, groups: Iterable[GroupRuntime]) -> None:
        """Remove every issue raised (on unload)."""
        for group in groups:
            if group.raised_issue:
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(group))
                group.raised_issue = False
            group.issue_faults = frozenset()
