"""The consumers' reading of gateway messages (central/mqtt_parse.py), pure: every bad field named, the good
entries of a partly bad message kept, nothing of a value echoed in an error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from central.mqtt_parse import ATTRIBUTES, CONNECT, TELEMETRY, parse

TS = 1_795_000_000_000
NOW = 1_795_000_100.0


def _one(topic: str, doc: Any) -> tuple[str, str] | None:
    out = parse(topic, json.dumps(doc).encode() if not isinstance(doc, bytes) else doc, NOW)
    assert len(out.rejected) <= 1
    return (out.rejected[0].field, out.rejected[0].error) if out.rejected else None


@pytest.mark.parametrize(
    ("topic", "doc", "field"),
    [
        (TELEMETRY, b"\xff\xfe", "payload"),
        (TELEMETRY, [1, 2], "payload"),
        (
            TELEMETRY,
            b'{"p1:s.x": {"ts": 1795000000000, "values": {"rid": "r", "state": "a\\u0000"}}}',
            "payload",
        ),
        (TELEMETRY, {"p1:s.x": [{"ts": True, "values": {"rid": "r"}}]}, "ts"),
        (TELEMETRY, {"p1:s.x": [{"ts": 5, "values": {"rid": "r"}}]}, "ts"),
        (TELEMETRY, {"p1:s.x": [{"ts": TS, "values": []}]}, "values"),
        (TELEMETRY, {"p1:s.x": [{"ts": TS, "values": {"rid": "a b"}}]}, "values.rid"),
        (TELEMETRY, {"p1:s.x": ["nope"]}, "entry"),
        (TELEMETRY, {"p1": [{"ts": TS, "values": {"rid": "r", "kind": "bells"}}]}, "values.kind"),
        (
            TELEMETRY,
            {"p1": [{"ts": TS, "values": {"rid": "r", "kind": "audit", "audit": 3}}]},
            "values.audit",
        ),
        (TELEMETRY, {"bad park!:x": [{"ts": TS, "values": {"rid": "r"}}]}, "device"),
        (TELEMETRY, {"p1\n:x": [{"ts": TS, "values": {"rid": "r"}}]}, "device"),
        (ATTRIBUTES, {"p1:enterprise:e1": "x"}, "attributes"),
        (ATTRIBUTES, {"p1:enterprise:e1": {"name": "n"}}, "attributes.rid"),
        (CONNECT, {"type": "smart_park"}, "device"),
        (CONNECT, {"device": "p1", "type": ""}, "type"),
        ("v1/gateway/rpc", {"p1": {}}, "topic"),
    ],
)
def test_bad_fields_are_named(topic: str, doc: Any, field: str) -> None:
    problem = _one(topic, doc)
    assert problem is not None
    assert problem[0] == field


def test_good_entries_of_a_partly_bad_message_are_kept_and_errors_do_not_echo_values() -> None:
    doc = {
        "p1:sensor.a": [
            {"ts": TS, "values": {"rid": "ok-1", "state": 1}},
            {"ts": TS, "values": {"x": "13800000000"}},
        ],
        "p1:sensor.b": [{"ts": TS, "values": {"rid": "ok-2", "state": "on", "last_changed": "t"}}],
    }
    out = parse(TELEMETRY, json.dumps(doc).encode(), NOW)
    assert [r.id for r in out.rows] == ["ok-1", "ok-2"]
    assert out.rows[1].data == {"entity_id": "sensor.b", "state": "on", "last_changed": "t", "attributes": {}}
    assert [r.field for r in out.rejected] == ["values.rid"]
    assert "13800000000" not in out.rejected[0].error
    assert {d.device for d in out.devices} == {"p1:sensor.a", "p1:sensor.b"}


def test_a_single_entry_without_its_list_and_park_records_and_attributes() -> None:
    doc = {"p1": {"ts": TS, "values": {"rid": "h-1", "kind": "health", "health": {"state": "ok"}}}}
    (row,) = parse(TELEMETRY, json.dumps(doc).encode(), NOW).rows
    assert (row.kind, row.park_id, row.data, row.ts_text) == (
        "health",
        "p1",
        {"state": "ok"},
        "2026-11-18T11:06:40+00:00",
    )
    attrs = {"p1:gate": {"rid": "a-1", "model": "x"}, "p1:enterprise:e9": {"rid": "e-1", "id": "e9"}}
    rows = parse(ATTRIBUTES, json.dumps(attrs).encode(), NOW).rows
    assert [(r.kind, r.data) for r in rows] == [("attributes", {"model": "x"}), ("enterprise", {"id": "e9"})]
    assert rows[0].ts.timestamp() == NOW
    (seen,) = parse(CONNECT, b'{"device": "p1:enterprise:e9", "type": "enterprise"}', NOW).devices
    assert (seen.park_id, seen.type) == ("p1", "enterprise")
