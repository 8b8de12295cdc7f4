"""ThingsBoard gateway API messages (docs/mqtt.md, park_sync/mqtt_map.py) -> the central's record rows.

Devices: ``<park_id>`` (type smart_park: incidents, audit, figures and health as telemetry values
``{"rid", "kind", "<kind>": {...}}``), ``<park_id>:<entity_id>`` (entity states: values ``{"rid", "state",
"last_changed"?, <attributes>...}``) and ``<park_id>:enterprise:<id>`` (the profile as attributes). Records
are stored in the HTTP uplink's shapes (a state as ``{"entity_id", "state", "last_changed", "attributes"}``),
so every query reads MQTT and HTTP records alike. A bad entry is rejected by field (the error never echoes a
value: personal data); the good entries of the same message are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .jsonshape import MAX_DEPTH
from .jsonshape import depth as _depth
from .storage_pg import DeviceSeen, RecordRow, Rejected

TELEMETRY, ATTRIBUTES, CONNECT = "v1/gateway/telemetry", "v1/gateway/attributes", "v1/gateway/connect"
PARK_KINDS = frozenset({"incident", "audit", "figure", "health"})
_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,200}")  # as the HTTP ingest's record and park ids
_DEVICE_RE = re.compile(r"[^\x00-\x1f]{1,255}")
_MIN_MS, _MAX_MS = 946_684_800_000, 7_258_118_400_000  # 2000-01-01 .. 2200-01-01


@dataclass(slots=True)
class Parsed:
    rows: list[RecordRow] = field(default_factory=list)
    devices: list[DeviceSeen] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class EntryError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _park(device: Any) -> str:
    if not isinstance(device, str) or _DEVICE_RE.fullmatch(device) is None:
        raise EntryError("device", "required device name, 1-255 printable characters")
    park_id = device.split(":", 1)[0]
    if _ID_RE.fullmatch(park_id) is None:
        raise EntryError("device", "must start with a park id of [A-Za-z0-9._-], 1-200 chars")
    return park_id


def _rid(values: dict[str, Any], where: str) -> str:
    rid = values.get("rid")
    if not isinstance(rid, str) or _ID_RE.fullmatch(rid) is None:
        raise EntryError(f"{where}.rid", "required string of [A-Za-z0-9._:-], 1-200 chars")
    return rid


def _telemetry_row(device: str, entry: Any, received_at: float) -> RecordRow:
    park_id = _park(device)
    if not isinstance(entry, dict):
        raise EntryError("entry", "must be an object {ts, values}")
    ms, values = entry.get("ts"), entry.get("values")
    if not isinstance(ms, int) or isinstance(ms, bool) or not _MIN_MS <= ms < _MAX_MS:
        raise EntryError("ts", "required integer epoch milliseconds (years 2000-2199)")
    if not isinstance(values, dict):
        raise EntryError("values", "required object")
    if _depth(values) > MAX_DEPTH:
        raise EntryError("values", f"nested deeper than {MAX_DEPTH} levels")
    rid = _rid(values, "values")
    ts = datetime.fromtimestamp(ms / 1000, UTC)
    if device == park_id:
        kind = values.get("kind")
        if kind not in PARK_KINDS:
            raise EntryError("values.kind", f"must be one of {sorted(PARK_KINDS)} on the park device")
        data = values.get(kind)
        if not isinstance(data, dict):
            raise EntryError(f"values.{kind}", "required object")
        return RecordRow(rid, park_id, str(kind), ts, ts.isoformat(), device, data, "mqtt", received_at)
    rest = {k: v for k, v in values.items() if k not in ("rid", "state", "last_changed")}
    data = {
        "entity_id": device[len(park_id) + 1 :],
        "state": values.get("state"),
        "last_changed": values.get("last_changed"),
        "attributes": rest,
    }
    return RecordRow(rid, park_id, "telemetry", ts, ts.isoformat(), device, data, "mqtt", received_at)


def _attributes_row(device: str, attrs: Any, received_at: float) -> RecordRow:
    park_id = _park(device)
    if not isinstance(attrs, dict):
        raise EntryError("attributes", "must be an object")
    if _depth(attrs) > MAX_DEPTH:
        raise EntryError("attributes", f"nested deeper than {MAX_DEPTH} levels")
    rid = _rid(attrs, "attributes")
    data = {k: v for k, v in attrs.items() if k != "rid"}
    kind = "enterprise" if device.startswith(f"{park_id}:enterprise:") else "attributes"
    ts = datetime.fromtimestamp(received_at, UTC)  # attributes carry no time: their arrival is theirs
    return RecordRow(rid, park_id, kind, ts, ts.isoformat(), device, data, "mqtt", received_at)


def _connect(doc: dict[str, Any], received_at: float) -> DeviceSeen:
    park_id = _park(doc.get("device"))
    kind = doc.get("type", "default")
    if not isinstance(kind, str) or not 1 <= len(kind) <= 64:
        raise EntryError("type", "must be a string of 1-64 characters")
    return DeviceSeen(doc["device"], park_id, kind, received_at)


def _device_rows(
    topic: str, device: str, body: Any, received_at: float, problems: list[EntryError]
) -> list[RecordRow]:
    if topic == ATTRIBUTES:
        return [_attributes_row(device, body, received_at)]
    if topic != TELEMETRY:
        raise EntryError("topic", "not a gateway topic the central reads")
    rows = []
    for entry in body if isinstance(body, list) else [body]:
        try:
            rows.append(_telemetry_row(device, entry, received_at))
        except EntryError as err:
            problems.append(err)
    return rows


def parse(topic: str, payload: bytes, received_at: float) -> Parsed:
    """One message's rows, device sightings and rejections (at most one per message: its first problem)."""
    out = Parsed()
    problems: list[EntryError] = []
    try:
        if b"\\u0000" in payload:
            raise EntryError("payload", "contains \\u0000, which PostgreSQL's JSON cannot store")
        doc = json.loads(payload)
        if not isinstance(doc, dict):
            raise EntryError("payload", "must be a JSON object")
        if topic == CONNECT:
            out.devices.append(_connect(doc, received_at))
            doc = {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        problems.append(EntryError("payload", "not valid UTF-8 JSON"))
        doc = {}
    except EntryError as err:
        problems.append(err)
        doc = {}
    for device, body in doc.items():
        try:
            out.rows += _device_rows(topic, device, body, received_at, problems)
            out.devices.append(DeviceSeen(device, _park(device), None, received_at))
        except EntryError as err:
            problems.append(err)
    if problems:
        first = problems[0]
        error = f"{first}" + (f" (+{len(problems) - 1} more bad entries)" if len(problems) > 1 else "")
        out.rejected.append(Rejected(topic, first.field, error, payload, received_at))
    return out
