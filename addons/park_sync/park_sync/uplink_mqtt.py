"""MQTT uplink in the ThingsBoard gateway shape: drains the outbox over one MQTT connection per park.

QoS 1 throughout. A record leaves the outbox only after the PUBACK of the message that carried it: aiomqtt's
``publish(qos=1)`` returns when paho-mqtt reports the message published, which for QoS 1 is its PUBACK. A lost
connection (or a PUBACK later than ``request_timeout_seconds``) tears the session down, and the unacked
records go again on the next connection: at least once, deduplicated by ``rid`` at the central. On MQTT 5
(``mqtt.protocol: "5"``) a PUBACK saying "no matching subscribers" or an error is no delivery either: the
broker dropped the message, so its records stay and go again after the backoff.

Each connection announces the park device first, then every device before its first data
(``v1/gateway/connect``, awaited). RPC requests on ``v1/gateway/rpc`` for this park's devices are answered
(``status``, ``ping``; anything else: ``method not allowed``); other parks' are ignored. Failures back off
exponentially with jitter, the link state is logged once per transition and exposed in ``status``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .config import Options
from .link import LinkState
from .mqtt_map import (
    CONNECT,
    PARK_TYPE,
    RPC,
    Message,
    connect_payload,
    dumps,
    pack,
    to_item,
)
from .outbox import Outbox
from .uplink_http import make_ssl_context, wait_for_batch

_LOGGER = logging.getLogger(__name__)


class _DebugOnly(logging.Filter):
    """paho-mqtt logs every socket error at ERROR; the link state is logged here once per transition, so its
    lines show (as DEBUG) only with debug logging."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return _LOGGER.isEnabledFor(logging.DEBUG)


_PAHO_LOGGER = logging.getLogger(__name__ + ".paho")
_PAHO_LOGGER.addFilter(_DebugOnly())
SAFE_METHODS = ("status", "ping")
# CONNACK refusals a retry will not fix (MQTT 5 reason codes; paho maps 3.1.1's 2, 4 and 5 onto them).
_REFUSED = {133: "client id refused", 134: "bad user name (token)", 135: "not authorized"}
_HEADROOM = 64  # topic and packet header around a payload
# MQTT 5 PUBACK reasons that say the message went nowhere: 0x10 no matching subscribers (the broker dropped
# it), and every error (0x80 and above).
NO_MATCHING_SUBSCRIBERS = 0x10
# The message id of the publish a task just made (set inside aiomqtt's publish, read after it returns).
_MID: ContextVar[int | None] = ContextVar("park_sync_mqtt_mid", default=None)


class NotDelivered(aiomqtt.MqttError):
    """An MQTT 5 PUBACK said the message was not delivered: its records stay in the outbox."""

    def __init__(self, reason: int) -> None:
        name = "no matching subscribers" if reason == NO_MATCHING_SUBSCRIBERS else "refused"
        super().__init__(f"the broker acknowledged a message undelivered: {name} (reason 0x{reason:02x})")
        self.reason = reason


class _ReasonClient(aiomqtt.Client):
    """aiomqtt's client, keeping each publish's PUBACK reason code (aiomqtt drops it; MQTT 3.1.1 has none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasons: dict[int, int] = {}
        publish = self._client.publish

        def publish_noting_mid(*a: Any, **k: Any) -> paho.MQTTMessageInfo:
            info = publish(*a, **k)
            _MID.set(info.mid)
            return info

        self._client.publish = publish_noting_mid  # type: ignore[method-assign]

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Properties
    ) -> None:
        if reason_code is not None and int(reason_code.value):
            self.reasons[mid] = int(reason_code.value)
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def deliver(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and return on its PUBACK; raise :class:`NotDelivered` if the PUBACK says so."""
        await self.publish(topic, payload, qos=1)
        mid = _MID.get()
        reason = self.reasons.pop(mid, 0) if mid is not None else 0
        if reason == NO_MATCHING_SUBSCRIBERS or reason >= 0x80:
            raise NotDelivered(reason)


# MQTT 3.1.1 has no negative PUBACK: a broker refuses a message by closing the connection (mosquitto and
# ThingsBoard do so for one over their size limit). After this many sessions in a row ended with data in
# flight and no PUBACK, messages go one at a time, a refused one is split, and a single record refused twice
# in that mode is set aside: one record the broker will never take must not block the outbox.
SUSPECT_AFTER = 3


class MQTTUplink(LinkState):
    label = "MQTT link"
    _logger = _LOGGER

    def __init__(
        self,
        options: Options,
        outbox: Outbox,
        status_fn: Callable[[], dict[str, Any]],
        on_acked: Callable[[], None] | None = None,
    ) -> None:
        self._o = options
        self._m = options.mqtt
        self._outbox = outbox
        self._status_fn = status_fn
        self._on_acked = on_acked
        self._flush = asyncio.Event()
        self._announced: set[str] = set()  # devices connected on this MQTT connection
        self._ours: set[str] = {options.park_id}  # every device announced since the start
        self._limit = self._m.max_message_bytes - _HEADROOM  # lowered when the broker refuses big messages
        self._in_flight: list[Message] = []  # sent, PUBACK not yet seen
        self._drops = 0  # sessions in a row that ended with data in flight, no PUBACK since
        self._blamed: dict[str, int] = {}  # single records in flight at such an end, one at a time
        self.url = f"{'mqtts' if self._m.tls else 'mqtt'}://{self._m.host}:{self._m.effective_port}"
        self.state = "unknown"
        self.last_error: str | None = None
        self.down_since: float | None = None
        self.last_success: float | None = None
        self.failures = 0
        self.connections = 0
        self.sent_records = 0
        self.sent_messages = 0
        self.dead_lettered = 0
        self.rpc = {"answered": 0, "refused": 0, "ignored": 0}

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "uplink": "mqtt",
            "url": self.url,
            "last_error": self.last_error,
            "down_since": self.down_since,
            "last_success": self.last_success,
            "consecutive_failures": self.failures,
            "connections": self.connections,
            "sent_records": self.sent_records,
            "sent_messages": self.sent_messages,
            "devices": len(self._ours),
            "rpc": dict(self.rpc),
        }

    def flush(self) -> None:
        self._flush.set()

    def client(self) -> _ReasonClient:
        # The outbox is the only queue: nothing stale from a previous session (clean session / clean start).
        v5 = self._m.protocol == "5"
        session: dict[str, Any] = {"clean_start": True} if v5 else {"clean_session": True}
        client = _ReasonClient(
            self._m.host,
            self._m.effective_port,
            identifier=f"park-sync-{self._o.park_id}",
            username=self._m.token,
            keepalive=self._m.keepalive,
            timeout=self._o.request_timeout_seconds,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            tls_context=make_ssl_context(self._m.ca_cert) if self._m.tls else None,
            logger=_PAHO_LOGGER,
            **session,
        )
        # A batch's device announcements and messages are in flight together, by design: no warning for them.
        client.pending_calls_threshold = 2 * self._o.batch_max_records + 10
        return client

    async def run(self) -> None:
        while True:
            permanent = False
            try:
                await self._session()
            except* NotDelivered as group:
                # Kept, not refused: the broker took the message and dropped it (nobody subscribed yet, e.g.
                # the consumers after a broker restart). Not the connection-drop heuristics below.
                self._in_flight = []
                self._mark_down(str(_first(group)))
            except* (aiomqtt.MqttError, OSError, TimeoutError) as group:
                err = _first(group)
                code = getattr(getattr(err, "rc", None), "value", None)
                permanent = code in _REFUSED
                self._mark_down(_REFUSED[code] if permanent and code is not None else _describe(err))
            if self._in_flight:
                await self._dropped_in_flight(self._in_flight)
                self._in_flight = []
            await asyncio.sleep(self._backoff(permanent))

    async def _session(self) -> None:
        async with self.client() as client:
            self._announced.clear()
            self.connections += 1
            self._mark_up()
            await client.subscribe(RPC, qos=1)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._drain(client))
                group.create_task(self._serve_rpc(client))

    # --- uplink ---------------------------------------------------------------------------------------------
    async def _drain(self, client: _ReasonClient) -> None:
        await self._announce(client, {self._o.park_id: PARK_TYPE})
        while True:
            o = self._o
            await wait_for_batch(self._outbox, self._flush, o.batch_max_records, o.batch_max_seconds)
            batch = await self._outbox.peek(self._o.batch_max_records, self._o.batch_max_bytes)
            if not batch:
                continue
            items = [to_item(self._o.park_id, r, self._o.send_personal_data) for r in batch]
            limit = self._m.max_message_bytes - _HEADROOM
            if any(i.size > limit for i in items):
                reason = f"larger than mqtt.max_message_bytes ({self._m.max_message_bytes})"
                await self._set_aside({i.rid: i.size for i in items if i.size > limit}, reason)
                continue
            messages = list(pack(items, self._limit))
            devices = {d: t for m in messages for d, t in m.devices.items() if d not in self._announced}
            await self._announce(client, devices)
            if self._drops >= SUSPECT_AFTER:
                for message in messages:  # one at a time: a refusal names its message
                    self._in_flight = [message]
                    await self._publish(client, message)
            else:
                self._in_flight = list(messages)
                async with asyncio.TaskGroup() as group:
                    for message in messages:
                        group.create_task(self._publish(client, message))
            if self._on_acked is not None:
                self._on_acked()

    async def _announce(self, client: _ReasonClient, devices: dict[str, str]) -> None:
        """``v1/gateway/connect`` for each device, all acked before any of their data goes."""
        async with asyncio.TaskGroup() as group:
            for device, device_type in devices.items():
                group.create_task(client.deliver(CONNECT, connect_payload(device, device_type)))
        self._announced.update(devices)
        self._ours.update(devices)

    async def _publish(self, client: _ReasonClient, message: Message) -> None:
        await client.deliver(message.topic, message.encode())  # returns on its PUBACK
        self._in_flight = [m for m in self._in_flight if m is not message]
        self._drops = 0
        self._blamed.clear()
        await self._outbox.ack(message.rids)
        self.sent_records += len(message.rids)
        self.sent_messages += 1
        self.last_success = time.time()
        self.failures = 0  # reset on delivery, not on CONNACK: a broker that drops us at once still backs off

    async def _dropped_in_flight(self, in_flight: list[Message]) -> None:
        """A session ended with these messages unacknowledged: a lost link, or the broker refusing one."""
        self._drops += 1
        if self._drops <= SUSPECT_AFTER or len(in_flight) != 1:
            return
        (message,) = in_flight
        size = len(message.encode())
        if len(message.rids) > 1:
            self._limit = max(1, min(self._limit, size) // 2)
            _LOGGER.warning(
                "The broker closed the connection on a %d-byte message; messages now up to %d bytes",
                size,
                self._limit,
            )
            return
        rid = message.rids[0]
        self._blamed[rid] = self._blamed.get(rid, 0) + 1
        if self._blamed[rid] >= 2:
            del self._blamed[rid]
            self._drops = 0
            await self._set_aside({rid: size}, "the broker closed the connection on it, twice, sent alone")

    async def _set_aside(self, sizes: dict[str, int], reason: str) -> None:
        """Records that can never go (rid -> bytes) become dead letters; they must not block the outbox."""
        moved = await self._outbox.set_aside(dict.fromkeys(sizes, reason))
        self.dead_lettered += moved
        for rid, size in sizes.items():
            _LOGGER.warning("Record %s (%d bytes) %s: set aside as a dead letter", rid, size, reason)

    # --- RPC ------------------------------------------------------------------------------------------------
    async def _serve_rpc(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            reply = self.answer(message.payload)
            if reply is not None:
                await client.publish(RPC, dumps(reply).encode("utf-8"), qos=1)

    def answer(self, payload: Any) -> dict[str, Any] | None:
        """The reply to one ``v1/gateway/rpc`` message, or None when it is not ours to answer."""
        try:
            doc = json.loads(payload) if isinstance(payload, bytes | str) else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        data = doc.get("data") if isinstance(doc, dict) else None
        # Replies (ours included: we hear our own topic) have a top-level id and no method.
        if not isinstance(doc, dict) or not isinstance(data, dict) or "id" in doc:
            return None
        device, method, rpc_id = doc.get("device"), data.get("method"), data.get("id")
        # Ours: the park device and <park_id>:... (a park id has no colon when MQTT is on).
        ours = isinstance(device, str) and device.split(":", 1)[0] == self._o.park_id
        if not ours or not isinstance(method, str):
            self.rpc["ignored"] += 1  # another park's device (a shared broker delivers everyone's)
            return None
        result: dict[str, Any]
        if device == self._o.park_id and method == "status":
            result = self._status_fn()
        elif device == self._o.park_id and method == "ping":
            result = {"pong": int(time.time() * 1000)}
        else:
            self.rpc["refused"] += 1
            _LOGGER.info("RPC %r for %s refused: only %s are allowed", method[:40], device, SAFE_METHODS)
            return {"device": device, "id": rpc_id, "data": {"error": "method not allowed"}}
        self.rpc["answered"] += 1
        return {"device": device, "id": rpc_id, "data": result}

    # --- link state -----------------------------------------------------------------------------------------
    def _backoff(self, permanent: bool) -> float:
        self.failures += 1
        cap = self._o.retry_max_seconds
        if not permanent:
            cap = min(cap, self._o.retry_initial_seconds * 2 ** min(self.failures - 1, 30))
        return cap / 2 + random.uniform(0, cap / 2)  # equal jitter, as the HTTP uplink

    @property
    def link_url(self) -> str:
        return self.url


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    err: BaseException = group
    while isinstance(err, BaseExceptionGroup):
        err = err.exceptions[0]
    return err


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]
