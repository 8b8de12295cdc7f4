"""Incident records, press counters and terminal discovery, without Home Assistant running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.smart_park.engine.profile import parse_profile
from custom_components.smart_park.incidents import (
    EVENT_INCIDENT_UPDATED,
    Incident,
    IncidentKind,
    IncidentState,
    counter_step,
    find_terminals,
)
from custom_components.smart_park.logbook import describe_audit, describe_incident, place

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_incident_round_trip_and_state() -> None:
    incident = Incident(
        id="p-i3",
        kind=IncidentKind.ONE_KEY,
        source="io1:3",
        opened_at=T0,
        updated_at=T0,
        building="b1",
        floor=-1,
        enterprise="e001",
        detail={"press_count": 4},
    )
    assert incident.state is IncidentState.OPEN
    assert Incident.from_dict(incident.as_dict()) == incident
    acknowledged = Incident.from_dict(
        {
            **incident.as_dict(),
            "acknowledged_by": "u1",
            "acknowledged_at": (T0 + timedelta(seconds=30)).isoformat(),
        }
    )
    assert (acknowledged.state, acknowledged.is_open) == (IncidentState.ACKNOWLEDGED, True)
    closed = Incident.from_dict(
        {**acknowledged.as_dict(), "closed_at": (T0 + timedelta(minutes=5)).isoformat()}
    )
    assert (closed.state, closed.is_open) == (IncidentState.CLOSED, False)
    # A record from an older version without updated_at/repeats/detail still loads.
    minimal = Incident.from_dict({"id": "p-i1", "kind": "gas", "source": "g1", "opened_at": T0.isoformat()})
    assert (minimal.updated_at, minimal.repeats, minimal.detail) == (T0, 0, {})


@pytest.mark.parametrize(
    ("before", "now", "step"),
    [
        (0, 0, 0),
        (0, 1, 1),
        (5, 8, 3),
        (65535, 0, 1),  # wraps
        (65534, 2, 4),
        (10, 3, None),  # fell back: the terminal restarted
        (0, 65535, None),
    ],
)
def test_counter_step(before: int, now: int, step: int | None) -> None:
    assert counter_step(before, now) == step


def test_place_wording() -> None:
    assert place({"building_name": "1号楼", "floor": -1}) == "1号楼 floor -1"
    assert place({"building": "b2"}) == "b2"
    assert place({"enterprise_name": "恒达"}) == "恒达"
    assert place({}) == ""


def test_terminals_found_by_points_and_channel_function() -> None:
    profile = parse_profile(
        {
            "park": {"id": "p", "name": "P"},
            "gateways": [{"id": "gw1", "host": "127.0.0.1"}],
            "buildings": [{"id": "b1", "floors": 5}],
            "enterprises": [{"id": "e1", "name": "E1"}, {"id": "e2", "name": "E2"}],
            "devices": [
                {
                    "id": "t1",
                    "type": "one_key_alarm",
                    "unit": 1,
                    "building": "b1",
                    "floor": 2,
                    "enterprise": "e1",
                },
                {
                    "id": "io1",
                    "type": "io_module",
                    "unit": 2,
                    "building": "b1",
                    "floor": 1,
                    "enterprise": "e1",
                    "channel_map": {
                        2: {"function": "one_key_alarm", "floor": 4, "enterprise": "e2", "name": "E2 door"},
                        5: {"function": "one_key_alarm"},
                        6: {"name": "plain input"},
                    },
                },
            ],
        }
    )
    terminals = find_terminals(profile.devices)
    assert list(terminals) == ["t1", "io1:2", "io1:5"]
    t1, ch2, ch5 = terminals.values()
    assert (t1.press_key, t1.lamp_key, t1.floor, t1.enterprise) == (
        "press_count",
        "acknowledge_lamp",
        2,
        "e1",
    )
    assert (ch2.alarm_key, ch2.lamp_key, ch2.press_key) == ("input_2", "output_2", None)
    assert (ch2.floor, ch2.enterprise, ch2.name) == (4, "e2", "E2 door")
    # A channel without its own place is where its module is.
    assert (ch5.floor, ch5.enterprise, ch5.name) == (1, "e1", None)


def test_update_wording() -> None:
    """The logbook says what an update was: a new alarm input (place) or the same alarm again."""
    data = {"kind": "fire", "id": "p-i2", "building_name": "1号楼", "floor": 5, "change": "new_input"}
    assert describe_incident(EVENT_INCIDENT_UPDATED, data) == (
        "Fire incident",
        "new alarm input at 1号楼 floor 5 (p-i2)",
    )
    repeat = {"kind": "one_key", "id": "p-i3", "enterprise_name": "恒达", "change": "repeat"}
    assert describe_incident(EVENT_INCIDENT_UPDATED, repeat) == (
        "One-key alarm incident",
        "alarm repeated at 恒达 (p-i3)",
    )
    assert describe_audit({"action": "update_incident", "target": "p-i2"}) == (
        "incident moved to a new alarm input: p-i2"
    )
