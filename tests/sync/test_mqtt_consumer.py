"""The central's MQTT consumers against a real mosquitto and a real PostgreSQL on loopback: a park's records
arrive in the contract's shapes, bad payloads are set aside without blocking the stream, and through a
consumer ``kill -9`` and a broker restart mid-stream nothing is lost or stored twice, with two consumers
sharing the load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central.mqtt_consumer import Consumer
from central.storage_pg import PgStorage

from .brokers import Mosquitto
from .conftest import wait_for
from .mqtt_park import ATTRIBUTES, CONNECT, TELEMETRY, Park, telemetry
from .pg import pg_cluster, pg_dsn  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
# Room for what a stopped consumer's session collects while it is away (mosquitto's default drops past 1000).
BROKER_EXTRA = ("max_queued_messages 1000000",)


@pytest.fixture
def broker(tmp_path: Path, socket_enabled: None) -> Any:
    with Mosquitto(tmp_path, extra=BROKER_EXTRA) as b:
        yield b


@pytest.fixture
async def consumer(broker: Mosquitto, pg_dsn: str) -> AsyncIterator[Consumer]:  # noqa: F811
    store = PgStorage(pg_dsn)
    await store.open()
    c = Consumer("127.0.0.1", broker.port, store, client_id="central-test-1")
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    await asyncio.wait_for(c.connected.wait(), 10)
    yield c
    stop.set()
    await task
    await store.close()


def _query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.encode()).fetchall()


async def _wait_rows(dsn: str, want: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = _query(dsn, "SELECT COUNT(*) FROM records")[0][0]
        if n >= want or time.monotonic() > deadline:
            return int(n)
        await asyncio.sleep(0.2)


def _publish(port: int, *messages: tuple[str, bytes]) -> None:
    park = Park(port, "p-test").start()
    try:
        for topic, payload in messages:
            park.publish(topic, payload)
    finally:
        park.stop()


async def test_park_records_arrive_in_the_contracts_shapes_and_bad_payloads_are_set_aside(
    broker: Mosquitto,
    consumer: Consumer,
    pg_dsn: str,  # noqa: F811
) -> None:
    ts = 1_795_000_000_000  # 2026-11-18
    incident = {"p1": [{"ts": ts, "values": {"rid": "inc-1", "kind": "incident", "incident": {"id": "i1"}}}]}
    state = {
        "p1:sensor.power": [{"ts": ts, "values": {"rid": "st-1", "state": 12.5, "device_class": "power"}}]
    }
    enterprise = {
        "p1:enterprise:e7": {"rid": "ent-1", "id": "e7", "name": "恒达", "contact_phone": "13800000000"}
    }
    mixed = {"p1:sensor.x": [{"ts": ts, "values": {"rid": "st-2", "state": "on"}}, {"ts": ts, "values": {}}]}
    await asyncio.to_thread(
        _publish,
        broker.port,
        (CONNECT, json.dumps({"device": "p1", "type": "smart_park"}).encode()),
        (TELEMETRY, json.dumps(incident).encode()),
        (TELEMETRY, b"{not json"),
        (TELEMETRY, json.dumps(state).encode()),
        (ATTRIBUTES, json.dumps(enterprise).encode()),
        (TELEMETRY, json.dumps(mixed).encode()),
        (TELEMETRY, json.dumps(incident).encode()),  # a resend: stored once
    )
    assert await _wait_rows(pg_dsn, 4, 20) == 4
    await asyncio.sleep(0.3)
    store = consumer.store
    by_id = {r["id"]: r for r in await store.records()}
    assert sorted(by_id) == ["ent-1", "inc-1", "st-1", "st-2"]
    assert by_id["inc-1"]["kind"] == "incident"
    assert by_id["inc-1"]["data"] == {"id": "i1"}
    assert by_id["inc-1"]["ts"] == "2026-11-18T11:06:40+00:00"
    assert by_id["st-1"]["data"] == {
        "entity_id": "sensor.power",
        "state": 12.5,
        "last_changed": None,
        "attributes": {"device_class": "power"},
    }
    assert by_id["ent-1"]["kind"] == "enterprise"
    assert by_id["ent-1"]["data"]["name"] == "恒达"
    devices = {d["device"]: d["type"] for d in await store.devices("p1")}
    assert devices["p1"] == "smart_park"
    assert "p1:enterprise:e7" in devices
    rejected = _query(pg_dsn, "SELECT topic, field, payload FROM rejected ORDER BY seq")
    assert [(t, f) for t, f, _ in rejected] == [(TELEMETRY, "payload"), (TELEMETRY, "values.rid")]
    assert bytes(rejected[0][2]) == b"{not json"  # kept for an operator, never logged
    summary = await store.summary()
    assert summary["mqtt"]["messages"] == 7
    assert summary["mqtt"]["rejected"] == {"payload": 1, "values": 1}
    assert summary["duplicates_received"] == 1
    assert consumer.stats["rejected"] == 2


async def test_personal_data_of_a_bad_payload_stays_out_of_the_log(
    broker: Mosquitto,
    consumer: Consumer,
    pg_dsn: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = {"p1:enterprise:e1": {"contact_phone": "13912345678", "contact_name": "王小明"}}  # no rid
    await asyncio.to_thread(_publish, broker.port, (ATTRIBUTES, json.dumps(bad).encode()))

    async def rejected() -> bool:
        return bool(_query(pg_dsn, "SELECT 1 FROM rejected"))

    await wait_for(rejected, 10, "the rejected row")
    assert "attributes.rid" in caplog.text
    assert "13912345678" not in caplog.text
    assert "王小明" not in caplog.text


async def _consumer_proc(port: int, dsn: str, index: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "central.mqtt_consumer", "--broker", f"127.0.0.1:{port}", "--pg", dsn),
        *("--index", str(index), "--log-level", "WARNING"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))["ready"] is True
    return proc


async def test_consumer_kill9_and_broker_restart_mid_stream_lose_nothing_store_nothing_twice(
    broker: Mosquitto,
    pg_dsn: str,  # noqa: F811
) -> None:
    messages, per_message = 300, 10
    procs = {i: await _consumer_proc(broker.port, pg_dsn, i) for i in (1, 2)}
    acked = 0

    async def acked_at_least(n: int) -> bool:
        return acked >= n

    resent: dict[str, int] = {}

    def count() -> None:
        nonlocal acked
        acked += 1

    def stream() -> None:
        park = Park(broker.port, "p-stream", on_ack=count).start()
        try:
            for m in range(messages):
                park.publish(TELEMETRY, telemetry("p-stream", per_message, m * per_message)[0])
                time.sleep(0.01)
        finally:
            park.stop()
            resent["no_subscribers"] = park.no_subscribers
            resent["sent"] = park.sent

    publisher = asyncio.create_task(asyncio.to_thread(stream))
    await wait_for(lambda: acked_at_least(messages // 3), 30, "a third published")
    os.kill(procs[1].pid, signal.SIGKILL)  # mid-batch: its unacked messages come back to its session
    await procs[1].wait()
    await asyncio.sleep(0.5)
    procs[1] = await _consumer_proc(broker.port, pg_dsn, 1)
    await wait_for(lambda: acked_at_least(2 * messages // 3), 30, "two thirds published")
    await asyncio.to_thread(broker.restart)  # graceful: mosquitto keeps sessions and queues on disk
    await publisher
    want = messages * per_message
    assert await _wait_rows(pg_dsn, want) == want
    await asyncio.sleep(1.0)  # anything still redelivered must not add a row
    total, distinct = _query(pg_dsn, "SELECT COUNT(*), COUNT(DISTINCT id) FROM records")[0]
    assert (total, distinct) == (want, want)
    assert _query(pg_dsn, "SELECT COUNT(*) FROM record_ids")[0][0] == want
    stats = {}
    for i, proc in procs.items():
        proc.send_signal(signal.SIGTERM)
        out, _ = await proc.communicate()
        stats[i] = json.loads(out.decode().strip().splitlines()[-1])
    # Both consumers of the group got a share (the restarted one since its restart).
    assert stats[1]["messages"] > 0
    assert stats[2]["messages"] > 0


async def test_after_a_broker_restart_no_matching_subscribers_is_no_delivery(
    broker: Mosquitto,
    pg_dsn: str,  # noqa: F811
) -> None:
    """Mosquitto 2.0.11 forgets shared subscriptions over a restart: until the consumers subscribe again it
    answers "no matching subscribers" (0x10) and drops the message. A park that keeps the record on 0x10 (as
    on no PUBACK at all) and sends it again loses nothing."""
    proc = await _consumer_proc(broker.port, pg_dsn, 1)  # its session subscribes...
    proc.send_signal(signal.SIGTERM)
    await proc.communicate()
    await asyncio.to_thread(broker.restart)  # ...and the restart forgets that subscription
    park = await asyncio.to_thread(Park(broker.port, "p-gap").start)
    payload, rids = telemetry("p-gap", 5, 0)
    publishing = asyncio.create_task(asyncio.to_thread(park.publish, TELEMETRY, payload))
    await asyncio.sleep(1.0)
    proc = await _consumer_proc(broker.port, pg_dsn, 1)
    try:
        await asyncio.wait_for(publishing, 20)
        assert park.no_subscribers >= 1
        assert await _wait_rows(pg_dsn, 5, 20) == 5
        assert sorted(r[0] for r in _query(pg_dsn, "SELECT id FROM records")) == rids
    finally:
        await asyncio.to_thread(park.stop)
        proc.send_signal(signal.SIGTERM)
        await proc.communicate()


async def test_no_puback_before_the_commit_a_consumer_killed_while_its_commit_waits_loses_nothing(
    broker: Mosquitto,
    pg_dsn: str,  # noqa: F811
) -> None:
    """The database holds the consumer's transaction (a lock); the consumer is killed while it waits. Had it
    acknowledged on receipt (aiomqtt's way), the broker would have forgotten the messages; it did not, so they
    come again to its next run and are stored once."""
    proc = await _consumer_proc(broker.port, pg_dsn, 1)
    with psycopg.connect(pg_dsn) as blocker:
        blocker.execute("LOCK TABLE record_ids IN ACCESS EXCLUSIVE MODE")  # held until the block ends
        messages = [(TELEMETRY, telemetry("p-held", 10, m * 10)[0]) for m in range(5)]
        await asyncio.to_thread(_publish, broker.port, *messages)
        await asyncio.sleep(1.0)  # received, its INSERT waiting on the lock
        assert _query(pg_dsn, "SELECT COUNT(*) FROM pg_locks WHERE NOT granted")[0][0] >= 1
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    proc = await _consumer_proc(broker.port, pg_dsn, 1)
    try:
        assert await _wait_rows(pg_dsn, 50, 20) == 50
        await asyncio.sleep(0.5)
        assert _query(pg_dsn, "SELECT COUNT(*), COUNT(DISTINCT id) FROM records")[0] == (50, 50)
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.communicate()
