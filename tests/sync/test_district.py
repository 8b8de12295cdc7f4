"""central/district.py's pure aggregation: counter maths, statistics, month windows, odd records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from central.district import (
    district,
    energy_by_month,
    incidents,
    month_of,
    month_window,
    output_by_month,
    readings_since,
    response_times,
    stats,
)


def _reading(entity: str, ts: str, state: Any, unit: str = "kWh", park: str = "p") -> dict[str, Any]:
    return {"park_id": park, "entity_id": entity, "ts": ts, "state": state, "unit": unit}


def test_months_are_china_time_and_the_window_ends_with_the_current_month() -> None:
    # 2026-11-30T17:00Z is 1 December 01:00 in China.
    assert month_of("2026-11-30T17:00:00+00:00") == "2026-12"
    assert month_of("2026-11-30T15:59:59+00:00") == "2026-11"
    assert month_of("not a time") is None
    assert month_of(None) is None
    now = datetime(2026, 1, 15, tzinfo=UTC)
    assert month_window(now, 3) == ["2025-11", "2025-12", "2026-01"]
    # One month before the window, in UTC: 2025-10-01T00:00+08:00.
    assert readings_since(now, 3) == "2025-09-30T16:00:00+00:00"


def test_energy_counts_increases_in_the_month_of_the_reading_with_resets_and_jitter() -> None:
    readings = [
        _reading("sensor.m1", "2026-10-05T00:00:00+00:00", "1000"),
        _reading("sensor.m1", "2026-10-20T00:00:00+00:00", "1100"),
        _reading("sensor.m1", "2026-11-02T00:00:00+00:00", "1150"),
        _reading("sensor.m1", "2026-11-03T00:00:00+00:00", "1149.5"),  # jitter: baseline stays 1150
        _reading("sensor.m1", "2026-11-04T00:00:00+00:00", "1160"),
        _reading("sensor.m1", "2026-11-05T00:00:00+00:00", "unavailable"),
        _reading("sensor.m2", "2026-11-02T00:00:00+00:00", "5000000", unit="Wh"),
        _reading("sensor.m2", "2026-11-09T00:00:00+00:00", "5200000", unit="Wh"),
        _reading("sensor.m3", "2026-11-02T00:00:00+00:00", "500"),
        _reading("sensor.m3", "2026-11-03T00:00:00+00:00", "20"),  # replaced meter: a reset, not -480
        _reading("sensor.m3", "2026-11-04T00:00:00+00:00", "35"),
        _reading("sensor.x_electricity_this_month", "2026-11-02T00:00:00+00:00", "0"),
        _reading("sensor.x_electricity_this_month", "2026-11-04T00:00:00+00:00", "999"),
        _reading("sensor.odd_unit", "2026-11-02T00:00:00+00:00", "1", unit="kcal"),
        _reading("sensor.odd_unit", "2026-11-04T00:00:00+00:00", "9", unit="kcal"),
        _reading("sensor.m1", "2026-11-02T00:00:00+00:00", "7", park="q"),  # another park's series
        _reading("sensor.m1", "2026-11-03T00:00:00+00:00", "9", park="q"),
    ]
    assert energy_by_month(readings) == {"p": {"2026-10": 100.0, "2026-11": 275.0}, "q": {"2026-11": 2.0}}


def test_stats_median_p90_max() -> None:
    assert stats([]) == {"answered": 0, "median": None, "p90": None, "max": None}
    assert stats([30.0]) == {"answered": 1, "median": 30.0, "p90": 30.0, "max": 30.0}
    values = [float(v) for v in range(1, 11)]  # 1..10: nearest-rank p90 is the 9th
    assert stats(values) == {"answered": 10, "median": 5.5, "p90": 9.0, "max": 10.0}


def test_incidents_and_rollcalls_from_the_newest_records() -> None:
    latest = [
        {
            "park_id": "p",
            "data": {"id": "i1", "kind": "fire", "state": "open", "opened_at": "2026-11-02T00:00:00+00:00"},
        },
        {
            "park_id": "p",
            "data": {
                "id": "i2",
                "kind": "gas",
                "acknowledged_at": "2026-11-01T00:01:00+00:00",
                "opened_at": "2026-11-01T00:00:00+00:00",
                "detail": {"rollcall": {"asked": 2, "first_on_my_way_s": 12.5, "first_arrival_s": None}},
            },
        },
        {
            "park_id": "p",
            "data": {
                "id": "i3",
                "kind": "fire",
                "closed_at": "2026-11-01",
                "detail": {"rollcall": {"asked": 1}},
            },
        },
        # Nobody asked: no roll-call.
        {"park_id": "p", "data": {"id": "i4", "detail": {"rollcall": {"asked": 0, "first_on_my_way_s": 1}}}},
        {"park_id": "p", "data": "not an object"},
    ]
    counts = incidents(latest)["p"]
    assert counts == {
        "open": 3,  # not closed; the record that is no incident (no id) is not counted
        "acknowledged": 1,
        "by_kind": {"fire": 1, "gas": 1, "unknown": 1},
        "oldest_open_at": "2026-11-01T00:00:00+00:00",
    }
    times = response_times(latest)["p"]
    assert times["count"] == 2
    assert times["first_on_my_way_s"]["answered"] == 1
    assert times["first_on_my_way_s"]["median"] == 12.5
    assert times["first_arrival_s"]["answered"] == 0


def test_output_value_takes_valid_figures_once_per_enterprise_and_month() -> None:
    latest = [
        {
            "park_id": "p",
            "data": {
                "figures": [
                    {"period": "2026-10", "output_value": 100.0},
                    {"period": "2026-10", "output_value": 999.0},  # a second one for the month: ignored
                    {"period": "2026-13", "output_value": 5.0},
                    {"period": "<b>", "output_value": 5.0},
                    {"period": "2026-11", "output_value": True},
                    "junk",
                ]
            },
        },
        {"park_id": "p", "data": {"figures": [{"period": "2026-10", "output_value": "50.5"}]}},
        {"park_id": "p", "data": {"figures": None}},
    ]
    assert output_by_month(latest) == {"p": {"2026-10": (150.5, 2)}}


def test_a_park_with_nothing_but_a_batch_is_listed_with_empty_figures() -> None:
    now = datetime(2026, 11, 15, tzinfo=UTC)
    doc = district(
        park_ids=["solo"],
        latest_incidents=[],
        latest_enterprises=[],
        latest_health=[],
        energy_readings=[],
        now=now,
        months=1,
    )
    (park,) = doc["parks"]
    assert park["incidents"]["open"] == 0
    assert park["rollcalls"]["count"] == 0
    assert park["devices"]["unavailable"] is None
    assert park["months"] == [
        {"month": "2026-11", "energy_kwh": None, "output_value": None, "enterprises_reporting": 0}
    ]
    assert doc["totals"] == {
        "parks": 1,
        "open_incidents": 0,
        "unavailable_entities": 0,
        "months": [{"month": "2026-11", "energy_kwh": None, "output_value": None}],
    }
    assert doc["timezone"] == "+08:00"
