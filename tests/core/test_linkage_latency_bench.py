"""The linkage-latency benchmark's pure parts: statistics, trial plan, park groups, core's YAML."""

from __future__ import annotations

import math

import pytest

from benchmarks.linkage_latency import (
    core_configuration,
    park_groups,
    percentile,
    plan_trials,
    summarize,
)
from custom_components.smart_park.engine.profile import parse_profile
from simulator.reference import reference_profile


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_summarize_counts_timeouts_as_failures_not_samples() -> None:
    summary = summarize([10.0, 20.0, None, 30.0], writes=[1, 1, 2, 1])
    assert summary.trials == 4
    assert summary.failures == 1
    assert summary.p50 == 20.0
    assert summary.max == 30.0
    assert summary.mean == 20.0
    assert summary.writes == 1.25


def test_trial_plan_is_seeded_and_covers_the_park() -> None:
    groups = park_groups(parse_profile(reference_profile(200)))
    assert len(groups) == 14
    assert all(len(g.call_points) == 6 and sum(map(len, g.bells.values())) == 6 for g in groups.values())
    plan = plan_trials(groups, 300, seed=1)
    assert plan == plan_trials(groups, 300, seed=1)
    assert plan != plan_trials(groups, 300, seed=2)
    assert all(0 <= t.pause < 1 for t in plan)
    assert {t.building for t in plan} == set(groups)
    assert all((t.device_id, t.channel) in groups[t.building].call_points for t in plan)


def test_core_configuration_links_each_building_to_its_own_bells() -> None:
    profile = parse_profile(reference_profile(40))
    groups = park_groups(profile)
    config, calls, bells = core_configuration(profile, groups, 8123, verify=False)
    automations = {a["id"]: a for a in config["automation"]}
    for building in groups:
        automation = automations[f"fire_linkage_{building}"]
        assert automation["triggers"][0]["entity_id"] == calls[building]
        assert automation["actions"][0]["target"]["entity_id"] == bells[building]
        assert all(e.startswith(f"switch.{building}_bells_bell_") for e in bells[building])
    sensors = [s for hub in config["modbus"] for s in hub["binary_sensors"]]
    assert {s["scan_interval"] for s in sensors} == {1}
    assert {s["input_type"] for s in sensors} == {"discrete_input"}
    switches = [s for hub in config["modbus"] for s in hub["switches"]]
    assert all("verify" not in s for s in switches)
    verified, _, _ = core_configuration(profile, groups, 8123, verify=True)
    assert all("verify" in s for hub in verified["modbus"] for s in hub["switches"])
