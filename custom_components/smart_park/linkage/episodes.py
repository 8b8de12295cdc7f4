"""Alarm episodes and their fire incidents: each group's alarm, from latching until reset, is one episode.

A new episode opens a fire incident; an input not seen before while latched moves that incident to the new
place. The episode's incident id is persisted with the groups, so a restart mid-alarm keeps following it.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import Context

from ..engine.profile import ParkProfile
from ..incidents import IncidentKind, IncidentManager
from .groups import GroupRuntime, InputRef
from .state import Transition


class Episodes:
    """The fire incident of each group's current alarm episode (from the alarm until its reset)."""

    def __init__(self, incidents: IncidentManager, profile: ParkProfile) -> None:
        self.incidents = incidents
        self.profile = profile
        self.incident_ids: dict[str, str] = {}

    def restore(self, stored: Mapping[str, str], groups: Mapping[str, GroupRuntime]) -> None:
        """Take back the episodes of the groups still latched after a restart."""
        incidents = self.incidents
        for group_id, group in groups.items():
            if not group.machine.latched:
                continue
            if (incident_id := stored.get(group_id)) is not None:
                self.incident_ids[group_id] = incident_id
            elif (open_one := incidents.find_open(IncidentKind.FIRE, f"linkage:{group_id}")) is not None:
                # Stored before episodes were kept: the group's open fire incident is its episode's.
                self.incident_ids[group_id] = open_one.id

    def end(self, group_id: str) -> None:
        """The group was reset; its incident stays open for the duty room to close."""
        self.incident_ids.pop(group_id, None)

    def as_dict(self) -> dict[str, str]:
        """Plain data for the linkage's Store."""
        return dict(self.incident_ids)

    def _place(self, group: GroupRuntime, ref: InputRef | None) -> tuple[str | None, int | None]:
        """Building and floor of an input (a park-wide group's input is in its device's building)."""
        if ref is None:
            return group.building, None
        return group.building or self.profile.devices[ref.device_id].building, ref.floor

    def track(self, group: GroupRuntime, transition: Transition, context: Context | None) -> None:
        """A new alarm episode opens a fire incident; a new input while latched moves it to the new place.

        A new episode (the first alarm after a reset) always opens a new incident, even while the last
        episode's is still open, so ``smart_park_incident_opened`` announces every fire.
        """
        incidents = self.incidents
        first = next((group.inputs[i] for i in transition.inputs if i in group.inputs), None)
        building, floor = self._place(group, first)
        detail = {"group": group.id, "inputs": sorted(group.machine.seen)}
        if (episode := self.incident_ids.get(group.id)) is not None:
            current = incidents.get(episode)
            if current is not None and current.is_open:
                if first is not None:
                    incidents.update_place(
                        current.id, building=building, floor=floor, detail=detail, context=context
                    )
                return
            # Its incident was closed while the alarm is still latched: the bells ring, so open another.
        opened = incidents.open(
            IncidentKind.FIRE,
            source=f"linkage:{group.id}",
            building=building,
            floor=floor,
            detail=detail,
            context=context,
            merge=False,
        )
        self.incident_ids[group.id] = opened.id
