"""A test park publishing the gateway API (docs/mqtt.md) the way park_sync's outbox does: MQTT 5, QoS 1, each
message sent again until a PUBACK that says it was delivered (at least once; the central dedups on rid).

"No matching subscribers" (reason 0x10) is no delivery: the message was dropped. Mosquitto 2.0.11 (Debian 12)
does not restore shared subscriptions from its persistence file, so right after a broker restart, until the
consumers have subscribed again, it answers 0x10 and drops the message; a park that kept the record and sent
it again loses nothing. Shared by the consumer tests and benchmarks/district_load.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

NO_MATCHING_SUBSCRIBERS = 0x10
TELEMETRY, ATTRIBUTES, CONNECT = "v1/gateway/telemetry", "v1/gateway/attributes", "v1/gateway/connect"


def telemetry(park: str, n: int, start: int, ts_ms: int | None = None) -> tuple[bytes, list[str]]:
    """n entity-state records of one park in one message; their rids."""
    ts = ts_ms if ts_ms is not None else int(time.time() * 1000)
    doc: dict[str, list[dict[str, Any]]] = {}
    rids = []
    for i in range(start, start + n):
        rid = f"{park}-st-{i:08d}"
        rids.append(rid)
        device = f"{park}:sensor.e{i % 40:03d}_energy_meter_power"
        values = {"rid": rid, "state": (i * 7919) % 100000 / 10, "unit_of_measurement": "kW"}
        doc.setdefault(device, []).append({"ts": ts, "values": values})
    return json.dumps(doc, separators=(",", ":")).encode(), rids


class Park:
    """One park's MQTT connection (client id ``park-sync-<park>``, persistent session)."""

    def __init__(self, port: int, park: str, on_ack: Callable[[], None] | None = None) -> None:
        self.park = park
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"park-sync-{park}", protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", port, keepalive=30, clean_start=False, properties=props)
        self.client.on_publish = self._on_publish
        self._reasons: dict[int, int] = {}
        self.sent = 0  # publishes, resends included
        self.no_subscribers = 0  # PUBACKs with 0x10: sent again
        self._on_ack = on_ack
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()

    def start(self, timeout: float = 10.0) -> Park:
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise RuntimeError(f"park {self.park} did not connect")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_publish(self, _c: object, _u: object, mid: int, rc: ReasonCode, _p: object) -> None:
        self._reasons[mid] = rc.value

    def publish(self, topic: str, payload: bytes, stop: threading.Event | None = None) -> None:
        """Publish until the broker acknowledged (a resend after a lost connection may duplicate)."""
        while stop is None or not stop.is_set():
            info = self.client.publish(topic, payload, qos=1)
            self.sent += 1
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError):
                time.sleep(0.1)  # not connected (yet): the outbox keeps the record, sends it again
                continue
            if not info.is_published():
                continue
            # on_publish ran before the message counted as published (paho calls it first).
            if self._reasons.pop(info.mid, 0) == NO_MATCHING_SUBSCRIBERS:
                self.no_subscribers += 1
                time.sleep(0.2)
                continue
            if self._on_ack is not None:
                self._on_ack()
            return
