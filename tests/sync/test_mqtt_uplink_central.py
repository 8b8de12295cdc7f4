"""A park's records reach PostgreSQL through MQTT (#17): real HA websocket -> park_sync's MQTT uplink ->
Debian's mosquitto -> the reference central's consumer (``python -m central.mqtt_consumer``) -> PostgreSQL, in
the HTTP uplink's record shapes, each record once (also when a restarted park_sync sends them again)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import JSONEncoder

from park_sync.app import ParkSync
from park_sync.ha_source import item_records, state_record, without_personal
from park_sync.mqtt_map import state_value
from park_sync.outbox import Outbox, Record

from .brokers import Mosquitto
from .conftest import wait_for
from .pg import pg_cluster, pg_dsn  # noqa: F401
from .test_mqtt_uplink import ENTERPRISE, ENTITIES, INCIDENT, PARK, _serve_streams, mqtt_options
from .test_mqtt_uplink_kill import _options, _spawn, _status, _stop

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


@pytest.fixture
async def consumer(broker: Mosquitto, pg_dsn: str) -> AsyncIterator[asyncio.subprocess.Process]:  # noqa: F811
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central.mqtt_consumer",
        "--broker",
        f"127.0.0.1:{broker.port}",
        "--pg",
        pg_dsn,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert json.loads(line)["ready"] is True
    yield proc
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 20)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _rows(dsn: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, park_id, kind, device, data FROM records").fetchall()
    return {r[0]: {"park_id": r[1], "kind": r[2], "device": r[3], "data": r[4]} for r in rows}


async def test_park_records_reach_postgresql_over_mqtt(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    broker: Mosquitto,
    consumer: asyncio.subprocess.Process,
    pg_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    _serve_streams(hass)
    hass.states.async_set(ENTITIES[0], "72.5", {"unit_of_measurement": "%", "friendly_name": "Tank"})
    hass.states.async_set(ENTITIES[1], "off")
    # What the HTTP uplink would send for the same facts (its records, its ids).
    states = [json.loads(json.dumps(hass.states.get(e).as_dict(), cls=JSONEncoder)) for e in ENTITIES]  # type: ignore[union-attr]
    expected = {r.id: r for r in [state_record(s) for s in states]}
    expected |= {r.id: r for r in item_records("incident", {"incidents": [INCIDENT]})}
    expected |= {r.id: r for r in item_records("enterprise", {"enterprises": [ENTERPRISE]})}
    url, token = ha_api
    app = ParkSync(mqtt_options(tmp_path, broker.port), url, token, "127.0.0.1")
    await app.start()
    try:

        async def stored() -> bool:
            return set(await asyncio.to_thread(_rows, pg_dsn)) >= set(expected)

        await wait_for(stored, what="the park's records in PostgreSQL")
    finally:
        await app.stop()
    # A restart snapshots HA again: the same facts, the same rids, sent again over MQTT and stored once.
    app = ParkSync(mqtt_options(tmp_path, broker.port), url, token, "127.0.0.1")
    await app.start()
    try:

        async def resent() -> bool:
            return app.mqtt is not None and app.mqtt.sent_records >= len(expected)

        await wait_for(resent, what="the snapshot sent again")
        await asyncio.sleep(0.5)  # time for the consumer to commit (or wrongly add) them
    finally:
        await app.stop()
    rows = await asyncio.to_thread(_rows, pg_dsn)
    assert set(rows) == set(expected)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone() == (len(expected),)
    for rid, record in expected.items():
        row = rows[rid]
        assert (row["park_id"], row["kind"]) == (PARK, record.kind), rid
        data = dict(record.data)
        if record.kind == "telemetry":
            data["state"] = state_value(data["state"])  # numbers as numbers on MQTT
        assert row["data"] == data, rid
    assert rows[next(i for i, r in expected.items() if r.kind == "enterprise")]["data"] == without_personal(
        ENTERPRISE
    )


async def test_broker_restart_mid_stream_loses_nothing_on_mqtt_5(
    broker: Mosquitto,
    consumer: asyncio.subprocess.Process,
    pg_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``python -m park_sync`` (MQTT 5) drains 2000 records through mosquitto to the consumer; mosquitto is
    restarted mid-stream. It forgets the consumer's shared subscription until the consumer is back, answering
    0x10 meanwhile: park_sync keeps those records. Every record lands in PostgreSQL, once."""
    outbox = tmp_path / "outbox.sqlite3"
    box = Outbox(outbox)
    await box.open()
    seeded = [
        Record(
            f"st-{i:05d}",
            "telemetry",
            f"2026-11-29T05:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
            {"entity_id": f"sensor.m{i % 50}", "state": str(i)},
        )
        for i in range(2000)
    ]
    await box.put(seeded)
    await box.close()
    options = _options(tmp_path, broker.port, protocol="5")
    proc, status_port = await _spawn(options, tmp_path / "park_sync.log")
    try:

        async def some_stored() -> bool:
            return len(await asyncio.to_thread(_rows, pg_dsn)) >= 200

        await wait_for(some_stored, what="the first records in PostgreSQL")
        await asyncio.to_thread(broker.restart)

        async def drained() -> bool:
            return bool((await _status(status_port))["outbox"]["pending"] == 0)

        await wait_for(drained, timeout=120, what="the outbox drained after the broker restart")

        async def all_stored() -> bool:
            return len(await asyncio.to_thread(_rows, pg_dsn)) >= len(seeded)

        await wait_for(all_stored, timeout=60, what="every record in PostgreSQL")
    finally:
        await _stop(proc)
    rows = await asyncio.to_thread(_rows, pg_dsn)
    assert set(rows) == {r.id for r in seeded}
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone() == (len(seeded),)
