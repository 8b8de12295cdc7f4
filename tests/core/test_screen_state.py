"""The duty-room screen's layout and incremental states: the HA-free part of smart_park/screen."""

from __future__ import annotations

from typing import Any

from custom_components.smart_park.engine.profile import parse_profile
from custom_components.smart_park.screen.model import EnterprisePlace, State, build_layout, worst
from custom_components.smart_park.screen.state import GroupMark, IncidentMark, ParkState
from simulator.reference import reference_profile


def park() -> ParkState:
    """The 5-enterprise reference park (one building b1, six floors), every device read once, all quiet."""
    profile = parse_profile(reference_profile(5))
    places = [EnterprisePlace(e.id, e.name, e.building, e.floor) for e in profile.enterprises.values()]
    state = ParkState(build_layout(profile, places))
    for device_id in profile.devices:
        state.take_reading(device_id, "fast", True, {})
    state.flush()
    return state


def test_worst_order() -> None:
    assert worst([]) is State.NORMAL
    assert worst([State.TEST, State.SILENCED, State.NORMAL]) is State.SILENCED
    assert worst([State.FAULT, State.GAS, State.ONE_KEY]) is State.ONE_KEY
    assert worst([State.ONE_KEY, State.FIRE]) is State.FIRE


def test_a_call_point_colours_its_channels_floor_not_the_controllers() -> None:
    state = park()
    assert state.flush().__bool__() is False  # nothing changed: nothing recomputed, nothing reported
    assert state.take_reading("b1_bells", "safety", True, {"call_point_3": True, "call_point_1": False})
    assert not state.take_reading("b1_bells", "safety", True, {"call_point_3": True})  # same again
    changes = state.flush()
    assert changes.places == {("b1", 3): State.FIRE}
    assert changes.buildings == {"b1": State.FIRE}
    assert changes.devices["b1_bells"] == {"state": "fire", "available": True}
    assert state.place_states[("b1", 1)] is State.NORMAL  # the controller itself is on floor 1


def test_offline_is_a_fault_of_the_device_its_floor_and_enterprise() -> None:
    state = park()
    assert state.take_reading("e002_energy_meter", "normal", False, {})
    changes = state.flush()
    assert changes.devices["e002_energy_meter"]["available"] is False
    assert changes.enterprises == {"e002": State.FAULT}
    assert changes.places == {("b1", 2): State.FAULT}
    assert changes.offline_changed
    assert state.offline == {"e002_energy_meter"}
    # Another tier of the same device still fails: still offline until every tier reads again.
    state.take_reading("e002_energy_meter", "slow", False, {})
    state.take_reading("e002_energy_meter", "normal", True, {})
    assert not state.flush().devices
    state.take_reading("e002_energy_meter", "slow", True, {})
    assert state.flush().enterprises == {"e002": State.NORMAL}


def test_incidents_and_linkage_marks() -> None:
    state = park()
    state.set_incident("i1", IncidentMark("i1", State.GAS, ("b1", 4), "e004", None))
    changes = state.flush()
    assert changes.places == {("b1", 4): State.GAS}
    assert changes.enterprises == {"e004": State.GAS}
    state.set_group("b1@b1", GroupMark("b1", State.TEST, every_floor=True))
    changes = state.flush()
    # Every floor but 4 (gas stays worse), and the building's own place.
    assert set(changes.places) == {("b1", f) for f in (None, 1, 2, 3, 5, 6)}
    assert state.building_states["b1"] is State.GAS
    state.set_incident("i1", None)
    state.set_group("b1@b1", GroupMark("b1", State.NORMAL))
    changes = state.flush()
    assert state.building_states["b1"] is State.NORMAL
    assert changes.enterprises == {"e004": State.NORMAL}


def test_shown_values_are_rounded_and_only_changes_count() -> None:
    state = park()
    values: dict[str, Any] = {"level": 3.501, "pressure": 330.0}
    assert state.take_reading("b1_tank", "normal", True, values)
    assert state.flush().devices["b1_tank"]["values"] == {"level": 3.5, "pressure": 330.0}
    assert not state.take_reading("b1_tank", "normal", True, {"level": 3.499, "pressure": 330.001})
    layout = state.layout
    assert [p.kind for p in layout.special] == ["tank", "air_station"]
