"""The duty-room screen's layout: buildings, floors, enterprises, devices and special places of one park.

No Home Assistant here: the layout is built once from the park profile and the enterprise registry's places,
and tells, for every device, which of its points colour which place (a call point colours its channel's
floor, a fault point its own device). :mod:`.state` keeps the states of these places up to date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from ..engine.profile import Device, ParkProfile


class State(StrEnum):
    """A place's state on the map, the worst first (see :data:`ORDER`)."""

    FIRE = "fire"
    ONE_KEY = "one_key"
    GAS = "gas"
    FAULT = "fault"  # a device fault or offline, a linkage fault
    SILENCED = "silenced"
    TEST = "test"  # bell test or drill
    NORMAL = "normal"


ORDER: Final = {state: rank for rank, state in enumerate(State)}


def worst(states: Iterable[State]) -> State:
    """The worst of ``states`` (normal when there are none)."""
    found = State.NORMAL
    for state in states:
        if ORDER[state] < ORDER[found]:
            found = state
    return found


# Points whose true value is an alarm, by key (channel points by their declared key), and what it shows.
ALARM_POINTS: Final[Mapping[str, State]] = {
    "call_point_{n}": State.FIRE,
    "smoke_alarm": State.FIRE,
    "alarm_active": State.ONE_KEY,
    "gas_alarm": State.GAS,
    "electrical_alarm": State.FAULT,
}
# An IO module input serving a one-key terminal (channel function) is that terminal's alarm.
CHANNEL_FUNCTIONS: Final[Mapping[str, State]] = {"one_key_alarm": State.ONE_KEY}
# Values the map shows, by device type: a tank's level and pressure, an air station's pollutants.
SHOWN_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "fire_water_tank": ("level", "pressure"),
    "air_quality_station": ("so2", "pm25", "pm10"),
}
SPECIAL_KINDS: Final[Mapping[str, str]] = {"fire_water_tank": "tank", "air_quality_station": "air_station"}

type PlaceKey = tuple[str, int | None]
"""A building and a floor in it (None: the building as a whole)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A point that colours a place while it is true: an alarm input, or a fault."""

    key: str
    state: State
    place: PlaceKey | None  # None: the park (a device in no building)
    enterprise: str | None


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """A device as the screen places it."""

    id: str
    name: str
    type: str
    building: str | None
    floor: int | None
    enterprise: str | None
    rules: tuple[Rule, ...]
    shown: tuple[str, ...]

    @property
    def place(self) -> PlaceKey | None:
        """Where the device itself is (its offline or fault state shows there)."""
        return (self.building, self.floor) if self.building is not None else None

    def places(self) -> set[PlaceKey]:
        """Every place the device can colour."""
        out = {rule.place for rule in self.rules if rule.place is not None}
        if self.place is not None:
            out.add(self.place)
        return out


@dataclass(frozen=True, slots=True)
class EnterprisePlace:
    """Where an enterprise is (from the registry: its records may move it)."""

    id: str
    name: str
    building: str | None
    floor: int | None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class SpecialPlace:
    """A place the duty room looks for on the map: a fire-water tank, the air station, the duty room."""

    id: str
    kind: str
    device: str | None
    name: str
    building: str | None
    floor: int | None


@dataclass(slots=True)
class Layout:
    """The park's map: what is where, and what each place holds."""

    park_id: str
    name: str
    buildings: dict[str, tuple[str, int, int]]  # id -> (name, floors, basements)
    devices: dict[str, DevicePlan]
    enterprises: dict[str, EnterprisePlace]
    special: list[SpecialPlace]
    # What colours a place: devices with a rule or their own place there, enterprises there.
    place_devices: dict[PlaceKey, set[str]] = field(default_factory=dict)
    place_enterprises: dict[PlaceKey, set[str]] = field(default_factory=dict)
    enterprise_devices: dict[str, set[str]] = field(default_factory=dict)

    def floors(self, building: str) -> list[int]:
        """The floors of a building from the lowest basement up (there is no floor 0)."""
        _name, floors, basements = self.buildings[building]
        return [f for f in range(-basements, floors + 1) if f != 0]

    def place_enterprise(self, enterprise: EnterprisePlace) -> None:
        """Add or move an enterprise."""
        if (old := self.enterprises.get(enterprise.id)) is not None and old.building is not None:
            self.place_enterprises.get((old.building, old.floor), set()).discard(old.id)
        self.enterprises[enterprise.id] = enterprise
        if enterprise.building in self.buildings:
            place = (enterprise.building, enterprise.floor)
            self.place_enterprises.setdefault(place, set()).add(enterprise.id)


def _rules(device: Device) -> tuple[Rule, ...]:
    rules = []
    for point in device.points:
        building, floor, enterprise = device.building, device.floor, device.enterprise
        state = ALARM_POINTS.get(point.template or point.key)
        if point.channel is not None:
            channel = device.channel(point.channel)
            building = channel.building or building
            floor = channel.floor if channel.floor is not None else floor
            enterprise = channel.enterprise or enterprise
            if state is None and channel.function is not None and point.key.startswith("input_"):
                state = CHANNEL_FUNCTIONS.get(channel.function)
        if state is None and point.device_class == "problem":
            state = State.FAULT
        if state is not None:
            place = (building, floor) if building is not None else None
            rules.append(Rule(point.key, state, place, enterprise))
    return tuple(rules)


def device_plan(device: Device) -> DevicePlan:
    """The screen's view of one profile device."""
    return DevicePlan(
        id=device.id,
        name=device.name,
        type=device.device_type.type,
        building=device.building,
        floor=device.floor,
        enterprise=device.enterprise,
        rules=_rules(device),
        shown=SHOWN_VALUES.get(device.device_type.type, ()),
    )


def _duty_room(raw: Mapping[str, Any], buildings: Mapping[str, Any]) -> SpecialPlace | None:
    """The duty room when the profile's ``park`` declares one: ``duty_room: {building, floor, name}``."""
    park = raw.get("park")
    declared = park.get("duty_room") if isinstance(park, Mapping) else None
    if not isinstance(declared, Mapping):
        return None
    building = declared.get("building")
    floor = declared.get("floor")
    name = declared.get("name")
    return SpecialPlace(
        id="duty_room",
        kind="duty_room",
        device=None,
        name=name if isinstance(name, str) and name else "值班室 Duty room",
        building=building if building in buildings else None,
        floor=floor if isinstance(floor, int) and not isinstance(floor, bool) else None,
    )


def build_layout(profile: ParkProfile, enterprises: Iterable[EnterprisePlace]) -> Layout:
    """The map of a park: its buildings, devices and their rules, enterprises and special places."""
    layout = Layout(
        park_id=profile.id,
        name=profile.name,
        buildings={b.id: (b.name, b.floors, b.basements) for b in profile.buildings.values()},
        devices={device.id: device_plan(device) for device in profile.devices.values()},
        enterprises={},
        special=[],
    )
    for plan in layout.devices.values():
        for place in plan.places():
            layout.place_devices.setdefault(place, set()).add(plan.id)
        enterprises_served = {rule.enterprise for rule in plan.rules} | {plan.enterprise}
        for enterprise_id in enterprises_served - {None}:
            layout.enterprise_devices.setdefault(str(enterprise_id), set()).add(plan.id)
        if (kind := SPECIAL_KINDS.get(plan.type)) is not None:
            layout.special.append(SpecialPlace(plan.id, kind, plan.id, plan.name, plan.building, plan.floor))
    for enterprise in enterprises:
        layout.place_enterprise(enterprise)
    if (duty_room := _duty_room(profile.raw, layout.buildings)) is not None:
        layout.special.append(duty_room)
    return layout
