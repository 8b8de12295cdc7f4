"""The park as the fire monitoring centre sees it: ``gbt26875_map`` applied to HA's layout, states and audit.

``ParkModel.load`` builds the systems, components and analogue values from the layout HA gives
(``smart_park/centre/layout``); ``observe`` takes each HA state and says which units it touched; ``reading``
gives a unit's current state word (or value) and the time it took it; ``operation`` turns an audit entry into
an operation record. Pure: no I/O, no clock but the states' own timestamps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import gbt26875_map as m
from .gbt26875_codes import ComponentState, SystemState, SystemType
from .gbt26875_objects import component_address

OFF_STATES = frozenset({"off", "unknown", "", "none"})


@dataclass(frozen=True, slots=True)
class Component:
    key: str
    system_type: int
    system_address: int
    component_type: int
    component_address: int
    description: str
    anchor: str  # entity id whose availability is the device's
    bits: tuple[tuple[str, ComponentState], ...]


@dataclass(frozen=True, slots=True)
class Analogue:
    key: str
    component: Component
    analog_type: int
    entity_id: str
    deadband: float


@dataclass(frozen=True, slots=True)
class System:
    key: str
    system_type: int
    address: int
    name: str
    linkage_state: str | None
    linkage_fault: str | None
    faults: tuple[tuple[str, SystemState], ...]
    gateways: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reading:
    """A unit's current state word (types 1, 2) or value in its analogue unit (type 3), and since when."""

    value: int | float
    time: datetime


def component_key(system_type: int, address: int, component_type: int, comp_address: int) -> str:
    return f"2/{system_type}/{address}/{component_type}/{comp_address}"


class ParkModel:
    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self.park_id: str | None = None
        self.systems: dict[str, System] = {}
        self.components: dict[str, Component] = {}
        self.analogues: dict[str, Analogue] = {}
        self.states: dict[str, tuple[str, dict[str, Any], datetime]] = {}
        self._index: dict[str, set[str]] = defaultdict(set)  # entity id -> unit keys it feeds
        self._gateway_probes: dict[str, list[str]] = {}  # gateway -> one entity per device
        self.incident_buildings: dict[str, int] = {}  # incident id -> building number
        self.building_numbers: dict[str, int] = {}

    # --- layout ---------------------------------------------------------------------------------------------
    def load(self, park: dict[str, Any]) -> None:
        """(Re)build every unit from one park's layout; states already seen are kept."""
        self.park_id = str(park.get("park_id"))
        self.systems, self.components, self.analogues = {}, {}, {}
        self._index = defaultdict(set)
        self._gateway_probes = defaultdict(list)
        buildings = {b["id"]: b for b in park.get("buildings", [])}
        self.building_numbers = {bid: int(b["number"]) for bid, b in buildings.items()}
        enterprises: dict[str, str] = park.get("enterprises", {})
        seq: dict[tuple[int, int], int] = defaultdict(int)
        gateways_of: dict[int, set[str]] = defaultdict(set)
        for device in park.get("devices", []):
            points = {p["key"]: p for p in device.get("points", [])}
            if points:
                first = next(iter(points.values()))["entity_id"]
                self._gateway_probes[device["gateway"]].append(first)
                gateways_of[self.building_numbers.get(device.get("building") or "", 0)].add(device["gateway"])
            for rule in m.COMPONENTS:
                if rule.device_type != device.get("type"):
                    continue
                for point in points.values():
                    if m.pattern_of(point["key"], point.get("channel")) != rule.anchor:
                        continue
                    self._add_component(rule, point, points, buildings, enterprises, seq)
        for building_id, number in self.building_numbers.items():
            self._add_system(number, buildings[building_id]["name"], park, gateways_of[number], building_id)
        if gateways_of.get(0):
            self._add_system(0, str(park.get("name", "")), park, gateways_of[0], None)
        for gateway, probes in self._gateway_probes.items():
            for system in self.systems.values():
                if gateway in system.gateways:
                    for entity_id in probes:
                        self._index[entity_id].add(system.key)

    def _add_component(
        self,
        rule: m.ComponentRule,
        point: dict[str, Any],
        points: dict[str, dict[str, Any]],
        buildings: dict[str, dict[str, Any]],
        enterprises: dict[str, str],
        seq: dict[tuple[int, int], int],
    ) -> None:
        channel = point.get("channel")
        number = self.building_numbers.get(point.get("building") or "", 0)
        code = m.floor_code(point.get("floor"))
        slot = (number, code)  # a read names a component by its address alone: unique in the building
        seq[slot] += 1
        if seq[slot] > 99:
            return  # documented limit: 99 components per floor
        address = component_address(number, code * 100 + seq[slot])
        building = buildings.get(point.get("building") or "", {}).get("name")
        what = enterprises.get(point.get("enterprise") or "") or rule.label
        bits = tuple(
            (points[k]["entity_id"], bit)
            for pattern, bit in rule.bits.items()
            if (k := m.expand(pattern, channel)) in points
        )
        key = component_key(int(rule.system_type), number, int(rule.component_type), address)
        component = Component(
            key,
            int(rule.system_type),
            number,
            int(rule.component_type),
            address,
            m.describe(building, point.get("floor"), what),
            point["entity_id"],
            bits,
        )
        self.components[key] = component
        for entity_id in {component.anchor, *(e for e, _ in bits)}:
            self._index[entity_id].add(key)
        for analogue in m.ANALOGUES:
            if analogue.device_type == rule.device_type and analogue.key in points:
                akey = f"{component.key.replace('2/', '3/', 1)}/{int(analogue.analog_type)}"
                entity_id = points[analogue.key]["entity_id"]
                self.analogues[akey] = Analogue(
                    akey, component, int(analogue.analog_type), entity_id, analogue.deadband
                )
                self._index[entity_id].add(akey)

    def _add_system(
        self, number: int, name: str, park: dict[str, Any], gateways: set[str], building_id: str | None
    ) -> None:
        group = next((g for g in park.get("linkage", []) if g.get("building") == building_id), None)
        faults = tuple(
            (p["entity_id"], bit)
            for d in park.get("devices", [])
            if d.get("type") == "fire_bell_controller" and d.get("building") == building_id
            for p in d.get("points", [])
            if (bit := m.CONTROLLER_FAULTS.get(p["key"])) is not None
        )
        key = f"1/{int(SystemType.FIRE_ALARM)}/{number}"
        system = System(
            key,
            int(SystemType.FIRE_ALARM),
            number,
            name,
            group.get("state") if group else None,
            group.get("fault") if group else None,
            faults,
            tuple(sorted(gateways)),
        )
        self.systems[key] = system
        for entity_id in (system.linkage_state, system.linkage_fault, *(e for e, _ in faults)):
            if entity_id:
                self._index[entity_id].add(key)

    # --- states ---------------------------------------------------------------------------------------------
    def local(self, iso: str | None) -> datetime:
        when = datetime.fromisoformat(iso) if iso else datetime.now(self.tz)
        if when.tzinfo is None:
            return when
        return when.astimezone(self.tz).replace(tzinfo=None)

    def observe(self, state: dict[str, Any]) -> set[str]:
        """Take an HA state; the keys of the units it feeds (empty for entities the centre does not see)."""
        entity_id = str(state.get("entity_id"))
        self.states[entity_id] = (
            str(state.get("state")),
            dict(state.get("attributes") or {}),
            self.local(state.get("last_changed") or state.get("last_updated")),
        )
        return set(self._index.get(entity_id, ()))

    def keys(self) -> Iterable[str]:
        return [*self.systems, *self.components, *self.analogues]

    def _state(self, entity_id: str | None) -> str | None:
        found = self.states.get(entity_id or "")
        return found[0] if found else None

    def _since(self, entity_ids: Iterable[str | None]) -> datetime:
        times = [self.states[e][2] for e in entity_ids if e and e in self.states]
        return max(times) if times else datetime.now(self.tz).replace(tzinfo=None)

    def reading(self, key: str) -> Reading | None:
        """The unit's current state word or value; None while HA has not said (unknown, no state yet)."""
        if (component := self.components.get(key)) is not None:
            return self._component(component)
        if (analogue := self.analogues.get(key)) is not None:
            return self._analogue(analogue)
        if (system := self.systems.get(key)) is not None:
            return self._system(system)
        return None

    def _component(self, component: Component) -> Reading | None:
        anchor = self._state(component.anchor)
        if anchor is None or anchor == "unknown":
            return None
        entity_ids = [component.anchor, *(e for e, _ in component.bits)]
        if anchor == "unavailable":
            return Reading(int(ComponentState.NORMAL | ComponentState.FAULT), self._since(entity_ids))
        state = ComponentState.NORMAL
        for entity_id, bit in component.bits:
            if (
                (value := self._state(entity_id)) is not None
                and value not in OFF_STATES
                and value != "unavailable"
            ):
                state |= bit
        return Reading(int(state), self._since(entity_ids))

    def _analogue(self, analogue: Analogue) -> Reading | None:
        found = self.states.get(analogue.entity_id)
        if found is None:
            return None
        try:
            return Reading(float(found[0]), found[2])
        except ValueError:
            return None  # unavailable / unknown: the component's FAULT bit says it

    def _system(self, system: System) -> Reading | None:
        linkage = self._state(system.linkage_state)
        state = SystemState.NORMAL
        if linkage is not None and linkage in m.LINKAGE_STATES:
            state |= m.LINKAGE_STATES[linkage]
            attributes = self.states[system.linkage_state or ""][1]
            if linkage == "normal" and attributes.get("bells_on"):
                state = (state & ~SystemState.NORMAL) | SystemState.STARTED  # a bell test
        elif linkage == "unavailable":
            state |= SystemState.FAULT
        if self._state(system.linkage_fault) == "on":
            state |= SystemState.FAULT
        for entity_id, bit in system.faults:
            if self._state(entity_id) == "on":
                state |= bit
        if any(self._bus_down(g) for g in system.gateways):
            state |= SystemState.BUS_FAULT
        watched = [system.linkage_state, system.linkage_fault, *(e for e, _ in system.faults)]
        known = any(self._state(e) for e in watched) or any(self._gateway_known(g) for g in system.gateways)
        if linkage is None and not known:
            return None
        return Reading(int(state), self._since(watched))

    def _gateway_known(self, gateway: str) -> bool:
        return any(self._state(e) is not None for e in self._gateway_probes.get(gateway, ()))

    def _bus_down(self, gateway: str) -> bool:
        probes = self._gateway_probes.get(gateway, ())
        return bool(probes) and all(self._state(e) == "unavailable" for e in probes)

    def any_fire(self) -> bool:
        """Some building's fire alarm system is in alarm (the device relays a fire: UITD state FIRE)."""
        for system in self.systems.values():
            reading = self._system(system)
            if reading is not None and int(reading.value) & SystemState.FIRE:
                return True
        return False

    # --- audit ----------------------------------------------------------------------------------------------
    def observe_incident(self, incident: dict[str, Any]) -> None:
        """Remember an incident's building (its acknowledge goes to that building's system)."""
        if incident.get("id") is not None:
            self.incident_buildings[str(incident["id"])] = self.building_numbers.get(
                str(incident.get("building") or ""), 0
            )

    def operation(self, entry: dict[str, Any]) -> tuple[int, int, int, datetime] | None:
        """(type flag 4 or 24, operation bits, system address, time) of an audit entry, or None."""
        if entry.get("outcome", "ok") != "ok":
            return None
        category, action = str(entry.get("category")), str(entry.get("action"))
        data = entry.get("data") or {}
        if category == "incident" and data.get("kind") not in m.FIRE_INCIDENT_KINDS:
            return None
        when = self.local(entry.get("at"))
        target = str(entry.get("target") or "")
        if (uitd := m.UITD_OPERATIONS.get((category, action))) is not None:
            return 24, int(uitd), 0, when
        if (flag := m.FACILITY_OPERATIONS.get((category, action))) is not None:
            if category == "linkage":
                address = self.building_numbers.get(target, 0)
            else:
                address = self.incident_buildings.get(target, 0)
            return 4, int(flag), address, when
        return None
