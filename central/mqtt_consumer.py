"""The central's MQTT consumers: gateway messages from the broker into PostgreSQL, acknowledged after commit.

``python -m central.mqtt_consumer --broker 127.0.0.1:1883 --pg <dsn> --group central --index 1``

Each consumer is an MQTT 5 client in the shared subscriptions ``$share/<group>/v1/gateway/telemetry``
(``attributes``, ``connect``): the broker hands each message to one member of the group, so consumers share
the load. QoS 1 with a persistent session (clean_start False, session expiry) and manual acknowledgement
(paho-mqtt's ``manual_ack``; aiomqtt 2.5 acks on receipt): messages are batched, the batch's rows are
committed in one PostgreSQL transaction, and only then is each message's PUBACK sent. A consumer killed before
its commit leaves its messages unacknowledged and the broker sends them again (to its resumed session, so the
client id must be stable: ``central-<group>-<index>``); rows are idempotent on record id, so a redelivery
adds nothing. Bad payloads are stored in ``rejected``, counted, logged without their content, and
acknowledged: one bad message never blocks the stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from .mqtt_parse import ATTRIBUTES, CONNECT, TELEMETRY, Parsed, parse
from .storage_pg import PgStorage

_LOGGER = logging.getLogger(__name__)
TOPICS = (TELEMETRY, ATTRIBUTES, CONNECT)


@dataclass(frozen=True, slots=True)
class Incoming:
    mid: int
    topic: str
    payload: bytes
    received_at: float
    generation: int  # which connection delivered it: a packet id is only meaningful on its own connection


class Consumer:
    def __init__(
        self,
        host: str,
        port: int,
        store: PgStorage,
        *,
        group: str = "central",
        client_id: str = "central-central-1",
        batch_max: int = 200,
        batch_seconds: float = 0.02,
        session_expiry: int = 3600,
        receive_maximum: int = 400,
    ) -> None:
        self.host, self.port, self.store, self.group = host, port, store, group
        self.batch_max, self.batch_seconds = batch_max, batch_seconds
        self.stats = {"messages": 0, "records_new": 0, "rejected": 0, "batches": 0}
        self.connected = asyncio.Event()
        self._queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self._generation = 0
        # Held while the generation changes (paho's thread) and while a batch is acked (ours).
        self._gen_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 2)
        self._client = client
        self._connect_props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_props.SessionExpiryInterval = session_expiry
        # How many unacknowledged messages the broker may have out to us: room for a batch or two.
        self._connect_props.ReceiveMaximum = receive_maximum

    # --- paho's network thread ------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            _LOGGER.warning("Broker refused the connection: %s", rc)
            return
        with self._gen_lock:
            self._generation += 1
        opts = SubscribeOptions(qos=1)
        client.subscribe([(f"$share/{self.group}/{topic}", opts) for topic in TOPICS])
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            _LOGGER.warning("Disconnected from the broker (%s); reconnecting", rc)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        item = Incoming(msg.mid, msg.topic, bytes(msg.payload), time.time(), self._generation)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    # --- the asyncio side -----------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=self._connect_props
        )
        self._client.loop_start()
        try:
            while not stop.is_set():
                batch = await self._next_batch(stop)
                if batch and await self._commit(batch, stop):
                    self._ack(batch)
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    async def _next_batch(self, stop: asyncio.Event) -> list[Incoming]:
        with contextlib.suppress(TimeoutError):
            first = await asyncio.wait_for(self._queue.get(), 0.2)
            batch, deadline = [first], time.monotonic() + self.batch_seconds
            while len(batch) < self.batch_max and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0 and self._queue.empty():
                    break
                try:
                    batch.append(
                        self._queue.get_nowait()
                        if left <= 0
                        else await asyncio.wait_for(self._queue.get(), left)
                    )
                except TimeoutError:
                    break
            return batch
        return []

    async def _commit(self, batch: list[Incoming], stop: asyncio.Event) -> bool:
        """True once the batch's rows are committed; False when told to stop first (nothing acked: the broker
        sends the batch again)."""
        parsed = Parsed()
        for item in batch:
            one = parse(item.topic, item.payload, item.received_at)
            parsed.rows += one.rows
            parsed.devices += one.devices
            for bad in one.rejected:
                # The field and the error only: the payload may hold personal data (it is kept in the table).
                _LOGGER.warning("Rejected a message on %s: %s: %s", bad.topic, bad.field, bad.error)
            parsed.rejected += one.rejected
        delay = 0.2
        while True:  # unacked messages wait for the database; nothing is acked before its commit
            try:
                new = await self.store.store_mqtt(parsed.rows, parsed.devices, parsed.rejected, len(batch))
                break
            except (psycopg.OperationalError, psycopg.InterfaceError, RuntimeError) as err:  # not open: too
                _LOGGER.warning("PostgreSQL write failed (%s); retrying in %.1f s", type(err).__name__, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return False
                delay = min(delay * 2, 5.0)
                with contextlib.suppress(psycopg.Error, OSError):
                    await self.store.close()
                    await self.store.open()
        self.stats["messages"] += len(batch)
        self.stats["records_new"] += new
        self.stats["rejected"] += len(parsed.rejected)
        self.stats["batches"] += 1
        return True

    def _ack(self, batch: list[Incoming]) -> None:
        with self._gen_lock:
            for item in batch:
                # A message from an earlier connection is sent again on the new one (its rows: a no-op then);
                # its old packet id may name another message there, which must not be acked by mistake.
                if item.generation == self._generation:
                    self._client.ack(item.mid, 1)


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m central.mqtt_consumer", description=__doc__.split("\n\n")[0])
    p.add_argument("--broker", default="127.0.0.1:1883", help="host:port of the MQTT broker")
    p.add_argument("--pg", required=True, metavar="DSN", help="PostgreSQL DSN or URL")
    p.add_argument("--group", default="central", help="shared subscription group")
    p.add_argument(
        "--index", type=int, default=1, help="this consumer's number in the group (stable client id)"
    )
    p.add_argument("--batch-max", type=int, default=200, help="messages per transaction at most")
    p.add_argument("--batch-seconds", type=float, default=0.02, help="longest wait to fill a batch")
    p.add_argument("--session-expiry", type=int, default=3600, help="seconds the broker keeps our session")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


async def _run(ns: argparse.Namespace) -> None:
    host, _, port = ns.broker.rpartition(":")
    store = PgStorage(ns.pg)
    await store.open()
    consumer = Consumer(
        host or "127.0.0.1",
        int(port),
        store,
        group=ns.group,
        client_id=f"central-{ns.group}-{ns.index}",
        batch_max=ns.batch_max,
        batch_seconds=ns.batch_seconds,
        session_expiry=ns.session_expiry,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.connected.wait(), 30)
    print(json.dumps({"consumer": ns.index, "group": ns.group, "ready": True}), flush=True)
    try:
        await task
    finally:
        await store.close()
        print(json.dumps({"consumer": ns.index, **consumer.stats}), flush=True)


def main(argv: list[str] | None = None) -> None:
    ns = _args(argv)
    logging.basicConfig(
        level=ns.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(_run(ns))


if __name__ == "__main__":
    main()
