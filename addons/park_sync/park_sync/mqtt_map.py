"""Outbox records -> ThingsBoard gateway API messages (docs/mqtt.md has the mapping and examples).

Devices are ``<park_id>`` (type ``smart_park``: incidents, audit entries, figures and health as its
telemetry), ``<park_id>:<entity_id>`` (type: the entity's domain; its states as telemetry) and
``<park_id>:enterprise:<enterprise id>`` (type ``enterprise``; the profile as attributes). Every values object
and every attributes object carries ``rid``, the outbox record id, so the central is idempotent on it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ha_source import without_personal
from .outbox import TELEMETRY, Stored

CONNECT = "v1/gateway/connect"
TELEMETRY_TOPIC = "v1/gateway/telemetry"
ATTRIBUTES = "v1/gateway/attributes"
RPC = "v1/gateway/rpc"
PARK_TYPE = "smart_park"
ENTERPRISE_TYPE = "enterprise"
# A decimal number as HA writes states (no inf/nan, no hex, no underscores): sent as a JSON number.
_NUMBER_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class Item:
    """One record as it goes on the wire: which topic, which device (and its type), and its entry's JSON
    (serialised once: messages are joined from these fragments)."""

    rid: str
    topic: str  # TELEMETRY_TOPIC or ATTRIBUTES
    device: str
    device_type: str
    entry: str
    size: int = 0  # upper bound of the bytes it adds to a message

    def __post_init__(self) -> None:
        self.size = len(self.entry.encode("utf-8")) + len(dumps(self.device).encode("utf-8")) + 4


@dataclass(slots=True)
class Message:
    topic: str
    # device -> its entries' JSON (telemetry: a list per device; attributes: one object per device)
    entries: dict[str, list[str]] = field(default_factory=dict)
    rids: list[str] = field(default_factory=list)
    devices: dict[str, str] = field(default_factory=dict)  # device -> type, for v1/gateway/connect
    size: int = 2

    def encode(self) -> bytes:
        if self.topic == ATTRIBUTES:
            parts = (f"{dumps(d)}:{e[0]}" for d, e in self.entries.items())
        else:
            parts = (f"{dumps(d)}:[{','.join(e)}]" for d, e in self.entries.items())
        return ("{" + ",".join(parts) + "}").encode("utf-8")


def state_value(state: Any) -> Any:
    """HA states are strings; a numeric one goes as a JSON number so platforms can chart it."""
    if isinstance(state, str) and _NUMBER_RE.fullmatch(state):
        number = float(state)
        if math.isfinite(number):
            return int(state) if state.lstrip("-").isdigit() else number
    return state


def epoch_ms(ts: str, fallback: float) -> int:
    """The record's ISO time in epoch ms; ``fallback`` (epoch s: when the outbox took it) if it has none."""
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return int(fallback * 1000)
    if parsed.tzinfo is None:
        return int(fallback * 1000)  # a naive time is no instant; the outbox's clock is
    return int(parsed.timestamp() * 1000)


def to_item(park_id: str, stored: Stored, personal_data: bool) -> Item:
    """Map one stored record (its body is the HTTP uplink's record JSON)."""
    doc = json.loads(stored.body)
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    ts = epoch_ms(str(doc.get("ts", "")), stored.created)
    kind = str(doc.get("kind", stored.kind))
    rid = stored.id
    if not personal_data and kind != TELEMETRY:
        # The source left them out already; never trust a stale outbox. (An entity state holds only its
        # entity id, state, time and the kept display attributes.)
        data = without_personal(data)
    if kind == TELEMETRY and isinstance(data.get("entity_id"), str):
        entity_id = data["entity_id"]
        values: dict[str, Any] = {"rid": rid, "state": state_value(data.get("state"))}
        if data.get("last_changed"):
            values["last_changed"] = data["last_changed"]
        attributes = data.get("attributes")
        if isinstance(attributes, dict):
            values.update({k: v for k, v in attributes.items() if k not in values})
        domain = entity_id.split(".", 1)[0]
        entry = dumps({"ts": ts, "values": values})
        return Item(rid, TELEMETRY_TOPIC, f"{park_id}:{entity_id}", domain, entry)
    if kind == "enterprise" and "id" in data:
        attrs = dumps({**data, "rid": rid})
        return Item(rid, ATTRIBUTES, f"{park_id}:enterprise:{data['id']}", ENTERPRISE_TYPE, attrs)
    entry = dumps({"ts": ts, "values": {"rid": rid, "kind": kind, kind: data}})
    return Item(rid, TELEMETRY_TOPIC, park_id, PARK_TYPE, entry)


def pack(items: Iterable[Item], max_bytes: int) -> Iterator[Message]:
    """Group items into messages of at most ``max_bytes`` (an item larger than that goes alone: the caller
    decides about it). Telemetry of several devices shares a message; an attributes message holds each device
    once (its object is the device's attribute set)."""
    open_msgs: dict[str, Message] = {}
    for item in items:
        msg = open_msgs.get(item.topic)
        full = msg is not None and msg.size + item.size > max_bytes
        clash = msg is not None and item.topic == ATTRIBUTES and item.device in msg.entries
        if msg is None or full or clash:
            if msg is not None:
                yield msg
            msg = open_msgs[item.topic] = Message(item.topic)
        msg.entries.setdefault(item.device, []).append(item.entry)
        msg.rids.append(item.rid)
        msg.devices[item.device] = item.device_type
        msg.size += item.size
    yield from open_msgs.values()


def connect_payload(device: str, device_type: str) -> bytes:
    return dumps({"device": device, "type": device_type}).encode("utf-8")
