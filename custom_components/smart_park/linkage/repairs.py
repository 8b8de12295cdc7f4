"""The repair issue of a linkage group with faults (controller offline, mains, battery, bell circuit...).

One critical issue per group, raised while it has faults and removed when they clear; the park's
:class:`~..repairs.RepairIssues` removes it on unload.
"""

from __future__ import annotations

from homeassistant.helpers import issue_registry as ir

from ..repairs import RepairIssues
from .groups import GroupRuntime


class FaultIssues:
    """Keeps each group's ``linkage_fault`` repair issue true to its faults."""

    def __init__(self, repairs: RepairIssues, profile_id: str) -> None:
        self.repairs = repairs
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
            self.repairs.create(
                self._issue_id(group),
                "linkage_fault",
                severity=ir.IssueSeverity.CRITICAL,
                placeholders={"group": group.name, "faults": ", ".join(sorted(faults))},
            )
        else:
            self.repairs.delete(self._issue_id(group))
