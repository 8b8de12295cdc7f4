"""The RS-485 polling benchmark's pure parts: serial park, reads -> tier, periods, ratios, core config."""

from __future__ import annotations

import math

import pytest

from benchmarks._bus_polling_core import core_bus_configuration, point_tiers
from benchmarks.bus_polling import (
    SERIAL,
    WIDTHS,
    Period,
    RunResult,
    block_tiers,
    cycle_period,
    fmt_ms,
    planned_per_tier,
    ratio,
    report_lines,
    row,
    serial_document,
)
from benchmarks.linkage_latency import _slug, summarize
from custom_components.smart_park.engine.catalogue import Table, Tier
from custom_components.smart_park.engine.planner import ReadBlock, plan_blocks
from custom_components.smart_park.engine.profile import parse_profile
from simulator.reference import reference_profile


def test_serial_document_declares_every_gateway_serial_and_leaves_the_input_alone() -> None:
    raw = reference_profile(200)
    serial = serial_document(raw)
    assert len(serial["gateways"]) == len(raw["gateways"]) == 4
    for before, after in zip(raw["gateways"], serial["gateways"], strict=True):
        assert after == {**before, "transport": "serial_over_tcp", "baudrate": 9600}
        assert "transport" not in before
    assert serial["devices"] is raw["devices"]
    profile = parse_profile(serial)
    assert all(g.serial and g.baudrate == SERIAL["baudrate"] for g in profile.gateways.values())
    assert not any(g.serial for g in parse_profile(raw).gateways.values())


def test_block_tiers_keys_each_planned_read_as_the_simulator_sees_it() -> None:
    profile = parse_profile(reference_profile(20))
    device = next(d for d in profile.devices.values() if d.device_type.type == "fire_bell_controller")
    plans = {
        tier: {device.id: plan_blocks([p for p in device.points if p.tier is tier])}
        for tier in (Tier.SAFETY, Tier.NORMAL)
    }
    tiers = block_tiers(plans)
    # Call points 1-6 are one safety block of discrete inputs from 0; the bells are normal-tier coils.
    assert tiers[(device.id, Table.DISCRETE_INPUT, 0, 6)] is Tier.SAFETY
    assert tiers[(device.id, Table.COIL, 0, 6)] is Tier.NORMAL
    assert len(tiers) == sum(len(plan[device.id]) for plan in plans.values())
    assert block_tiers({Tier.FAST: {"x": [ReadBlock(Table.COIL, 3, 2, ())]}}) == {
        ("x", Table.COIL, 3, 2): Tier.FAST
    }


def test_period_and_cycle_period() -> None:
    period = Period.of([100.0, 100.0, 300.0])
    assert (period.gaps, period.p50, period.max) == (3, 100.0, 300.0)
    assert period.p99 == pytest.approx(296.0)
    assert math.isnan(Period.of([]).p50)
    assert math.isnan(Period.of([]).max)
    # 65 s window, 572 blocks per cycle, 3,718 reads: 6.5 cycles, one every 10 s.
    assert cycle_period(65.0, 3718, 572) == pytest.approx(10.0)
    assert cycle_period(65.0, 0, 572) == math.inf
    assert math.isnan(cycle_period(65.0, 0, 0))


def test_ratio_and_ms_formatting() -> None:
    assert ratio(273.0, 100.0) == "2.73x"
    assert ratio(1.0, 0.0) == "-"
    assert ratio(math.nan, 1.0) == "-"
    assert ratio(math.inf, 60.0) == "-"
    assert fmt_ms(math.nan) == "-"
    assert fmt_ms(3.25) == "3.2"
    assert fmt_ms(272.6) == "273"


def test_planned_per_tier_counts_the_reads_of_each_tier() -> None:
    reads = {
        ("a", Table.COIL, 0, 6): Tier.NORMAL,
        ("a", Table.DISCRETE_INPUT, 0, 6): Tier.SAFETY,
        ("b", Table.DISCRETE_INPUT, 0, 6): Tier.SAFETY,
    }
    assert planned_per_tier(reads) == {Tier.SAFETY: 2, Tier.FAST: 0, Tier.NORMAL: 1, Tier.SLOW: 0}


def test_row_puts_core_beside_ours_with_core_over_serial_ours() -> None:
    two = row("  p99", [100.0, 250.0])
    assert two.split() == ["p99", "100", "250", "2.50x"]
    three = row("  p99", [100.0, 250.0, 5000.0])
    assert three.split() == ["p99", "100", "250", "2.50x", "5000", "20.00x"]
    assert len(three) == 34 + sum(WIDTHS)
    assert row("x", [math.nan, 1.0, math.nan]).split() == ["x", "-", "1.0", "-", "-", "-"]
    assert row("x", [1.0, 2.0, 3.0], ratios=False).split() == ["x", "1.0", "2.0", "3.0"]


def test_point_tiers_keys_core_reads_one_point_each() -> None:
    profile = parse_profile(reference_profile(20))
    tiers = point_tiers(profile)
    assert len(tiers) == sum(len(d.points) for d in profile.devices.values())
    device = next(d for d in profile.devices.values() if d.device_type.type == "fire_bell_controller")
    call_point = next(p for p in device.points if p.key == "call_point_1")
    assert tiers[(device.id, Table.DISCRETE_INPUT, call_point.address, 1)] is Tier.SAFETY
    wide = next(p for d in profile.devices.values() for p in d.points if p.count > 1)
    assert any(key[2:] == (wide.address, wide.count) for key in tiers)


def test_core_bus_configuration_polls_the_park_and_adds_the_linkage() -> None:
    raw = serial_document(reference_profile(20))
    profile = parse_profile(raw)
    configuration, calls, bells = core_bus_configuration(raw, profile, 8123)
    hubs = configuration["modbus"]
    assert [h["type"] for h in hubs] == ["tcp"] * len(profile.gateways)
    polled = [e for h in hubs for key in ("sensors", "binary_sensors") for e in h.get(key, [])]
    assert len(polled) == sum(len(d.points) for d in profile.devices.values())
    # The automations' call points are the park's own binary_sensors (one entity per point, no duplicate).
    ids = [f"binary_sensor.{_slug(e['name'])}" for h in hubs for e in h.get("binary_sensors", [])]
    assert len(ids) == len(set(ids))
    assert {e for es in calls.values() for e in es} <= set(ids)
    switches = [s for h in hubs for s in h.get("switches", [])]
    assert len(switches) == sum(len(es) for es in bells.values()) > 0
    assert all("verify" not in s for s in switches)
    assert len(configuration["automation"]) == len(calls) == len(bells)


def _run(name: str, period_ms: float, latency_ms: float, planned: int) -> RunResult:
    tiers = (Tier.SAFETY, Tier.FAST, Tier.NORMAL, Tier.SLOW)
    return RunResult(
        name,
        window_s=10.0,
        periods={t: Period.of([period_ms, period_ms]) for t in tiers},
        reads=dict.fromkeys(tiers, 2 * planned),
        planned=dict.fromkeys(tiers, planned),
        latency=summarize([latency_ms]),
        detect=summarize([latency_ms / 2]),
        requests_per_s=planned / 5,
        hass_cpu=0.02,
    )


def test_report_lines_put_core_in_two_more_columns_only_when_measured() -> None:
    tcp, serial, core = _run("tcp", 100, 50, 10), _run("serial", 200, 150, 10), _run("core", 8000, 3000, 30)
    without = report_lines(tcp, serial)
    assert "core" not in without[0]
    assert all(len(line) <= 34 + sum(WIDTHS[:3]) for line in without if line.startswith("  "))
    lines = report_lines(tcp, serial, core)
    assert lines[0].split()[-5:] == ["core", "9600", "core", "÷", "ours"]
    p50 = next(line for line in lines if line.startswith("  p50"))
    assert p50.split() == ["p50", "50", "150", "3.00x", "3000", "20.00x"]
    safety = next(line for line in lines if "safety gaps measured" in line)
    assert safety.split()[-3:] == ["2", "2", "2"]  # counts: no ratio
    assert any(line.split()[-2:] == ["30", "3.00x"] for line in lines if "safety requests per cycle" in line)
    assert not any("Safety tier on" in line for line in lines)  # no fault variant measured
