"""Repair issues of one park: raised and removed by id, and all removed when the park unloads.

The offline gateways and devices, the linkage groups' faults and the amplifiers' faults all keep issues true
to the field; this tracker is the one place that knows which issues the entry raised, so unload (or a failed
set-up) leaves none behind.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN


class RepairIssues:
    """The repair issues raised by one entry."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._raised: set[str] = set()

    def is_raised(self, issue_id: str) -> bool:
        """Whether the entry has raised ``issue_id`` and not removed it since."""
        return issue_id in self._raised

    @callback
    def create(
        self,
        issue_id: str,
        translation_key: str,
        *,
        severity: ir.IssueSeverity,
        placeholders: Mapping[str, str] | None = None,
        is_persistent: bool = False,
    ) -> None:
        """Raise the issue, or update its placeholders when already raised."""
        self._raised.add(issue_id)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=is_persistent,
            severity=severity,
            translation_key=translation_key,
            translation_placeholders=dict(placeholders) if placeholders is not None else None,
        )

    @callback
    def delete(self, issue_id: str) -> None:
        """Remove the issue if the entry raised it."""
        if issue_id in self._raised:
            self._raised.discard(issue_id)
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def async_clear_all(self) -> None:
        """Remove every issue the entry raised (on unload)."""
        for issue_id in list(self._raised):
            self.delete(issue_id)
