"""The states of a park's places on the screen, kept incrementally: only what a change touches is recomputed.

No Home Assistant here. The park feeds :class:`ParkState` what happens (a device's reading, an incident
opened or closed, a linkage group's state); each input marks the devices, enterprises and places it can
change as dirty, and :meth:`ParkState.flush` recomputes those alone and returns what really changed. A poll
of a 200-enterprise park that changes nothing costs a dictionary lookup per device and no recomputation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .model import DevicePlan, Layout, PlaceKey, State, worst

# Shown values are rounded so that read noise below what the map shows sends nothing.
VALUE_DIGITS: Final = 2


@dataclass(frozen=True, slots=True)
class IncidentMark:
    """An open incident as it colours the map: its kind's state at its place, enterprise and device."""

    id: str
    state: State
    place: PlaceKey | None
    enterprise: str | None
    device: str | None


@dataclass(frozen=True, slots=True)
class GroupMark:
    """A linkage group's colour: its state on its building, on the floors of its alarm, or on every floor."""

    building: str | None
    state: State
    floors: frozenset[int] = frozenset()
    every_floor: bool = False


@dataclass(slots=True)
class DeviceStatus:
    """What the polls said of a device."""

    offline_tiers: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    values: dict[str, float | None] = field(default_factory=dict)


@dataclass(slots=True)
class Changes:
    """What one flush found changed (empty collections: nothing)."""

    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    enterprises: dict[str, State] = field(default_factory=dict)
    places: dict[PlaceKey, State] = field(default_factory=dict)
    buildings: dict[str, State] = field(default_factory=dict)
    offline_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.devices or self.enterprises or self.places or self.buildings or self.offline_changed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return round(float(value), VALUE_DIGITS)


class ParkState:
    """Every place's state of one park, recomputed only where an input changed something."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.status: dict[str, DeviceStatus] = {d: DeviceStatus() for d in layout.devices}
        self.incidents: dict[str, IncidentMark] = {}
        self.groups: dict[str, GroupMark] = {}
        self.offline: set[str] = set()
        # Last computed states: what a flush compares against.
        self.device_states: dict[str, State] = dict.fromkeys(layout.devices, State.NORMAL)
        self.device_views: dict[str, dict[str, Any]] = {}
        self.enterprise_states: dict[str, State] = dict.fromkeys(layout.enterprises, State.NORMAL)
        self.place_states: dict[PlaceKey, State] = {}
        self.building_states: dict[str, State] = dict.fromkeys(layout.buildings, State.NORMAL)
        self._dirty_devices: set[str] = set(layout.devices)
        self._dirty_enterprises: set[str] = set(layout.enterprises)
        self._dirty_places: set[PlaceKey] = {
            (b, f) for b in layout.buildings for f in [None, *layout.floors(b)]
        }

    @property
    def dirty(self) -> bool:
        """Whether a flush has anything to recompute."""
        return bool(self._dirty_devices or self._dirty_enterprises or self._dirty_places)

    # --- inputs ---------------------------------------------------------------------------------------

    def take_reading(self, device_id: str, tier: str, available: bool, values: Mapping[str, Any]) -> bool:
        """One device's reading of one poll tier; True when it changed anything the screen shows."""
        plan = self.layout.devices.get(device_id)
        if plan is None:
            return False
        status = self.status[device_id]
        changed = False
        if not available:
            if tier not in status.offline_tiers:
                status.offline_tiers.add(tier)
                changed = True
        else:
            if tier in status.offline_tiers:
                status.offline_tiers.discard(tier)
                changed = True
            for rule in plan.rules:
                value = values.get(rule.key)
                if value is None:
                    continue  # another tier's point, or not read
                if bool(value) != (rule.key in status.active):
                    (status.active.add if value else status.active.discard)(rule.key)
                    changed = True
            for key in plan.shown:
                if key in values and (number := _number(values[key])) != status.values.get(key, 0.5):
                    status.values[key] = number
                    changed = True
        if changed:
            self._dirty_devices.add(device_id)
        return changed

    def set_incident(self, incident_id: str, mark: IncidentMark | None) -> None:
        """An incident opened or changed (its mark), or closed (None)."""
        old = self.incidents.pop(incident_id, None)
        if mark is not None:
            self.incidents[incident_id] = mark
        if old == mark:
            return
        for item in (old, mark):
            if item is None:
                continue
            if item.place is not None:
                self._dirty_places.add(item.place)
            if item.enterprise is not None:
                self._dirty_enterprises.add(item.enterprise)
            if item.device in self.layout.devices:
                self._dirty_devices.add(item.device)

    def set_group(self, group_id: str, mark: GroupMark) -> None:
        """A linkage group's current mark."""
        old = self.groups.get(group_id)
        if old == mark:
            return
        self.groups[group_id] = mark
        for item in (old, mark):
            if item is None or item.building not in self.layout.buildings:
                continue
            floors = self.layout.floors(item.building) if item.every_floor else item.floors
            self._dirty_places.add((item.building, None))
            self._dirty_places.update((item.building, floor) for floor in floors)

    def moved_enterprise(self, enterprise_id: str, old: PlaceKey | None) -> None:
        """An enterprise was added or moved (the layout has its new place): recompute both places."""
        self._dirty_enterprises.add(enterprise_id)
        self.enterprise_states.setdefault(enterprise_id, State.NORMAL)
        if old is not None:
            self._dirty_places.add(old)
        new = self.layout.enterprises[enterprise_id]
        if new.building is not None:
            self._dirty_places.add((new.building, new.floor))

    # --- computation ----------------------------------------------------------------------------------

    def _device_state(self, plan: DevicePlan) -> State:
        status = self.status[plan.id]
        states = [rule.state for rule in plan.rules if rule.key in status.active]
        if status.offline_tiers:
            states.append(State.FAULT)
        states += [mark.state for mark in self.incidents.values() if mark.device == plan.id]
        return worst(states)

    def _contribution(self, plan: DevicePlan, place: PlaceKey) -> State:
        """What a device shows at one place: its rules there, and its offline state at its own place."""
        status = self.status[plan.id]
        states = [rule.state for rule in plan.rules if rule.place == place and rule.key in status.active]
        if status.offline_tiers and plan.place == place:
            states.append(State.FAULT)
        return worst(states)

    def _enterprise_state(self, enterprise_id: str) -> State:
        states = []
        for device_id in self.layout.enterprise_devices.get(enterprise_id, ()):
            plan = self.layout.devices[device_id]
            status = self.status[device_id]
            states += [
                r.state for r in plan.rules if r.enterprise == enterprise_id and r.key in status.active
            ]
            if status.offline_tiers and plan.enterprise == enterprise_id:
                states.append(State.FAULT)
        states += [mark.state for mark in self.incidents.values() if mark.enterprise == enterprise_id]
        return worst(states)

    def _place_state(self, place: PlaceKey) -> State:
        layout = self.layout
        states = [self._contribution(layout.devices[d], place) for d in layout.place_devices.get(place, ())]
        states += [self.enterprise_states[e] for e in layout.place_enterprises.get(place, ())]
        states += [mark.state for mark in self.incidents.values() if mark.place == place]
        building, floor = place
        for group in self.groups.values():
            if group.building == building and (floor is None or group.every_floor or floor in group.floors):
                states.append(group.state)
        return worst(states)

    def flush(self) -> Changes:
        """Recompute what is dirty, devices first, then enterprises, places and buildings; what changed."""
        changes = Changes()
        for device_id in self._dirty_devices:
            self._flush_device(device_id, changes)
        self._dirty_devices.clear()
        for enterprise_id in self._dirty_enterprises:
            if (enterprise := self.layout.enterprises.get(enterprise_id)) is None:
                continue
            state = self._enterprise_state(enterprise_id)
            if state != self.enterprise_states.get(enterprise_id):
                self.enterprise_states[enterprise_id] = state
                changes.enterprises[enterprise_id] = state
            if enterprise.building is not None:
                self._dirty_places.add((enterprise.building, enterprise.floor))
        self._dirty_enterprises.clear()
        buildings: set[str] = set()
        for place in self._dirty_places:
            if place[0] not in self.layout.buildings:
                continue
            state = self._place_state(place)
            if state != self.place_states.get(place):
                self.place_states[place] = state
                changes.places[place] = state
                buildings.add(place[0])
        self._dirty_places.clear()
        for building in buildings:
            floors = [
                self.place_states.get((building, f), State.NORMAL) for f in self.layout.floors(building)
            ]
            state = worst([*floors, self.place_states.get((building, None), State.NORMAL)])
            if state != self.building_states.get(building):
                self.building_states[building] = state
                changes.buildings[building] = state
        return changes

    def _flush_device(self, device_id: str, changes: Changes) -> None:
        """Recompute a device; its places and enterprises are recomputed after it."""
        plan = self.layout.devices[device_id]
        status = self.status[device_id]
        state = self._device_state(plan)
        available = not status.offline_tiers
        if available == (device_id in self.offline):
            (self.offline.discard if available else self.offline.add)(device_id)
            changes.offline_changed = True
        view: dict[str, Any] = {"state": state.value, "available": available}
        if plan.shown:
            view["values"] = {key: status.values.get(key) for key in plan.shown}
        if view != self.device_views.get(device_id):
            self.device_views[device_id] = view
            changes.devices[device_id] = view
        self.device_states[device_id] = state
        self._dirty_places.update(plan.places())
        self._dirty_enterprises.update(rule.enterprise for rule in plan.rules if rule.enterprise)
        if plan.enterprise is not None:
            self._dirty_enterprises.add(plan.enterprise)
