"""The hass CPU benchmark's pure parts: core's whole-park configuration and the report."""

from __future__ import annotations

from benchmarks.hass_cpu import Round, Sample, core_park_configuration, report
from benchmarks.polling import CORE_INTERVAL
from custom_components.smart_park.engine.catalogue import Table
from custom_components.smart_park.engine.profile import parse_profile
from simulator.reference import reference_profile


def test_core_configuration_polls_every_point_once_at_its_tier_interval() -> None:
    raw = reference_profile(10)
    profile = parse_profile(raw)
    config, entities = core_park_configuration(raw, 8123)
    points = [(d, p) for d in profile.devices.values() for p in d.points]
    assert entities == len(points)
    hubs = {hub["name"]: hub for hub in config["modbus"]}
    assert set(hubs) == set(profile.gateways)
    configured = [
        (hub_name, e["slave"], e["address"], e["input_type"], e["scan_interval"])
        for hub_name, hub in hubs.items()
        for key in ("sensors", "binary_sensors")
        for e in hub.get(key, [])
    ]
    expected = [(d.gateway, d.unit, p.address, p.table, CORE_INTERVAL[p.tier]) for d, p in points]
    input_types = {"coil": Table.COIL, "discrete_input": Table.DISCRETE_INPUT}
    input_types |= {"holding": Table.HOLDING_REGISTER, "input": Table.INPUT_REGISTER}
    assert sorted((g, u, a, input_types[t], s) for g, u, a, t, s in configured) == sorted(expected)
    # The same HTTP/API set-up as ours' hass, so the two processes differ by the integration only.
    assert config["http"]["server_port"] == 8123
    assert "api" in config
    assert "onboarding" in config


def test_report_ratios_per_round() -> None:
    rounds = [
        Round(Sample(0.15, 2500.0, 3055), Sample(0.12, 1200.0, 3055), Sample(0.20, 2500.0, 3055)),
        Round(Sample(0.10, 2500.0, 3055), Sample(0.20, 1200.0, 3055)),
    ]
    lines = report(rounds, reference_profile(10), 60.0)
    text = "\n".join(lines)
    assert "1.25x" in text  # 15 % / 12 %
    assert "0.50x" in text  # 10 % / 20 %
    assert "0.75x" in text  # ours ÷ before in round 1
    assert "3055 entities" in text
