"""MQTT 5 (#17): a PUBACK that says "no matching subscribers" (0x10) is no delivery. Mosquitto 2.0.11 does
not keep shared subscriptions across a restart: until the central's consumers subscribe again it acknowledges
a publish with 0x10 and drops it. With ``mqtt.protocol: "5"`` park_sync keeps those records and sends them
again; on MQTT 3.1.1 the same PUBACK carries no reason, and the records leave the outbox undelivered (shown
here, so the option's reason stays visible)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .brokers import Mosquitto, Recorder
from .conftest import wait_for
from .test_mqtt_uplink_kill import PARK, _options, _outbox_ids, _seed, _spawn, _status, _stop


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


async def test_no_matching_subscribers_keeps_the_records_until_someone_subscribes(
    broker: Mosquitto, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    seeded = await _seed(outbox)
    proc, status_port = await _spawn(
        _options(tmp_path, broker.port, protocol="5"), tmp_path / "park_sync.log"
    )
    recorder: Recorder | None = None
    try:

        async def refused() -> bool:
            return "no matching subscribers" in str((await _status(status_port))["central"]["last_error"])

        await wait_for(refused, what="a PUBACK with 0x10 reported")
        assert _outbox_ids(outbox) == set(seeded)  # nothing left the outbox undelivered

        recorder = await Recorder(broker.port, "v1/gateway/#").start()

        async def drained() -> bool:
            return bool((await _status(status_port))["outbox"]["pending"] == 0)

        await wait_for(drained, what="the outbox drained once a subscriber is there")
    finally:
        await _stop(proc)
        if recorder is not None:
            await recorder.stop()
    got = {
        e["values"]["rid"]
        for doc in recorder.docs("v1/gateway/telemetry")
        for e in doc.get(f"{PARK}:sensor.m", [])
    }
    assert got == set(seeded)


async def test_on_mqtt_3_1_1_a_dropped_message_looks_delivered(broker: Mosquitto, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    await _seed(outbox)
    proc, status_port = await _spawn(_options(tmp_path, broker.port), tmp_path / "park_sync.log")
    try:

        async def drained() -> bool:
            return bool((await _status(status_port))["outbox"]["pending"] == 0)

        await wait_for(drained, what="the outbox drained with nobody subscribed")
    finally:
        await _stop(proc)
    assert not _outbox_ids(outbox)
