"""The GB/T 26875.3 mapping: the tables in gbt26875_map against docs/gbt26875.md, and the park model's
readings from HA states (no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

from park_sync import gbt26875_map as m
from park_sync.gbt26875_codes import ComponentState, SystemState
from park_sync.gbt26875_park import ParkModel

from .gbt26875_helpers import normal_states, small_layout, state

DOC = (Path(__file__).resolve().parents[2] / "docs" / "gbt26875.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## What the park maps to what") : DOC.index("## Test vectors")]


def _rows(heading: str) -> list[str]:
    part = SECTION[SECTION.index(heading) :]
    part = part[: part.index("\n### ", 1)] if "\n### " in part[1:] else part
    return [line for line in part.splitlines() if line.startswith("| `") or line.startswith("| ")][2:]


def test_doc_lists_every_component_rule() -> None:
    rows = _rows("### Component states (type 2)")
    assert len(rows) == len(m.COMPONENTS)
    for rule, row in zip(m.COMPONENTS, rows, strict=True):
        assert f"`{rule.device_type}`" in row
        assert f"`{rule.anchor}`" in row
        assert f"| {int(rule.component_type)} " in row
        assert f"| {int(rule.system_type)} " in row
        for key, bit in rule.bits.items():
            assert f"`{key}` → {bit.name}" in row, (row, key)


def test_doc_lists_every_analogue_and_operation() -> None:
    rows = _rows("### Analogue values (type 3)")
    assert len(rows) == len(m.ANALOGUES)
    for rule, row in zip(m.ANALOGUES, rows, strict=True):
        assert f"`{rule.device_type}` | `{rule.key}`" in row
        assert f"| {int(rule.analog_type)} " in row
        assert row.rstrip(" |").endswith(str(rule.deadband))
    ops = _rows("### Operation records (types 4 and 24)")
    table = {**m.FACILITY_OPERATIONS, **m.UITD_OPERATIONS}
    assert len(ops) == len(table)
    for (category, action), flag in table.items():
        row = next(r for r in ops if f"`{category}`, `{action}`" in r)
        assert f"| {flag.name} " in row
        assert ("| 24" in row) == ((category, action) in m.UITD_OPERATIONS)
    states = _rows("### System states (type 1)")
    for name, bits in m.LINKAGE_STATES.items():
        row = next(r for r in states if r.startswith(f"| `{name}`"))
        shown = set(re.findall(r"[A-Z_]{4,}", row.split("|")[2]))
        assert shown == {b.name for b in SystemState if b in bits}


def _model() -> ParkModel:
    model = ParkModel("Asia/Shanghai")
    for s in normal_states():
        model.observe(s)
    model.load(small_layout())
    return model


def test_addresses_are_unique_per_building_and_floor() -> None:
    model = _model()
    places = [(c.system_address, c.component_address) for c in model.components.values()]
    assert len(places) == len(set(places)) == 8
    tank = next(c for c in model.components.values() if c.component_type == 92)
    assert (tank.component_address & 0xFFFF, tank.component_address >> 16) == (1, 303)
    assert tank.description == "1号楼3层 消防水箱"
    assert (m.floor_code(-2), m.floor_text(-2), m.floor_code(None)) == (102, "地下2层", 0)


def test_readings_follow_states() -> None:
    model = _model()
    cp = next(k for k, c in model.components.items() if c.anchor == "binary_sensor.cp1")
    assert model.reading(cp).value == ComponentState.NORMAL  # type: ignore[union-attr]
    assert model.observe(state("binary_sensor.cp1", "on")) == {cp, "1/1/1"}  # also the gateway's probe
    assert model.reading(cp).value == ComponentState.NORMAL | ComponentState.FIRE  # type: ignore[union-attr]
    model.observe(state("binary_sensor.cp1", "unavailable"))
    assert model.reading(cp).value == ComponentState.NORMAL | ComponentState.FAULT  # type: ignore[union-attr]
    model.observe(state("binary_sensor.cp1", "unknown"))
    assert model.reading(cp) is None  # HA does not know yet: nothing is said
    system = "1/1/1"
    model.observe(state("sensor.linkage_b1", "normal", bells_on=True))  # a bell test
    assert model.reading(system).value == SystemState.STARTED  # type: ignore[union-attr]
    model.observe(state("sensor.linkage_b1", "silenced"))
    model.observe(state("binary_sensor.mains", "on"))
    expected = SystemState.NORMAL | SystemState.FIRE | SystemState.MAIN_POWER_FAULT
    assert model.reading(system).value == expected  # type: ignore[union-attr]
    for s in normal_states():  # every device of gw1 unavailable: the bus is down
        if s["entity_id"] not in ("sensor.linkage_b1", "binary_sensor.linkage_b1_fault"):
            model.observe(state(s["entity_id"], "unavailable"))
    assert model.reading(system).value & SystemState.BUS_FAULT  # type: ignore[union-attr]


def test_operations_from_audit_entries() -> None:
    model = _model()
    model.observe_incident({"id": "i1", "building": "b1", "kind": "fire"})
    at = "2026-05-01T01:00:00+00:00"
    base = {"id": "zhifeng-a5", "seq": 5, "at": at, "outcome": "ok", "user_id": "u"}
    silence = model.operation({**base, "category": "linkage", "action": "silence", "target": "b1"})
    assert silence is not None
    assert silence[:3] == (4, 2, 1)
    assert silence[3].hour == 9  # local time (Asia/Shanghai)
    ack = model.operation(
        {
            **base,
            "category": "incident",
            "action": "acknowledge_incident",
            "target": "i1",
            "data": {"kind": "fire"},
        }
    )
    assert ack is not None
    assert ack[:3] == (4, 1 << 5, 1)
    answer = model.operation({**base, "category": "centre", "action": "rollcall_answered"})
    assert answer is not None
    assert answer[:2] == (24, 1 << 5)
    refused = {**base, "category": "linkage", "action": "reset", "outcome": "refused"}
    one_key = {**base, "category": "incident", "action": "close_incident", "data": {"kind": "one_key"}}
    other = {**base, "category": "broadcast", "action": "play"}
    assert [model.operation(e) for e in (refused, one_key, other)] == [None, None, None]
