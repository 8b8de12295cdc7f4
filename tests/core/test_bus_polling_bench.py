"""The RS-485 polling benchmark's pure parts: the serial park document, block -> tier, periods, ratios."""

from __future__ import annotations

import math

import pytest

from benchmarks.bus_polling import (
    SERIAL,
    Period,
    block_tiers,
    cycle_period,
    fmt_ms,
    ratio,
    serial_document,
)
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
