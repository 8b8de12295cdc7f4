"""PUBACK before delete (#17): ``python -m park_sync`` is killed with SIGKILL while the broker has its
telemetry but the PUBACKs are held back by a proxy; after a restart every record arrives (at least once: the
held ones again, deduplicated by rid at the central) and only then leaves the outbox. Also: a broker that
refuses the park's token keeps every record queued, the link reported down without the token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from park_sync.outbox import Outbox, Record

from .brokers import AckHoldingProxy, Mosquitto, Recorder
from .conftest import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
PARK = "zhifeng"
TOKEN = "park-token-4b1d8e"
N = 120
BATCH = 40


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


@pytest.fixture
async def proxy(broker: Mosquitto) -> AsyncIterator[AckHoldingProxy]:
    p = AckHoldingProxy(broker.port)
    await p.start()
    yield p
    await p.stop()


async def _seed(path: Path) -> list[str]:
    box = Outbox(path)
    await box.open()
    records = [
        Record(
            f"st-{i:04d}",
            "telemetry",
            f"2026-11-29T05:00:{i % 60:02d}+00:00",
            {"entity_id": "sensor.m", "state": str(i)},
        )
        for i in range(N)
    ]
    await box.put(records)
    await box.close()
    return [r.id for r in records]


def _outbox_ids(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {r[0] for r in db.execute("SELECT id FROM outbox")}


def _options(tmp_path: Path, port: int, **mqtt: Any) -> Path:
    raw = {
        "park_id": PARK,
        "outbox_path": str(tmp_path / "outbox.sqlite3"),
        "entity_filter": {"integrations": [], "entity_ids": []},
        "batch_max_records": BATCH,
        "batch_max_seconds": 0.05,
        "retry_initial_seconds": 0.05,
        "retry_max_seconds": 0.5,
        "request_timeout_seconds": 60,
        "log_level": "debug",
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "token": TOKEN, **mqtt},
    }
    path = tmp_path / "options.json"
    path.write_text(json.dumps(raw))
    return path


async def _spawn(options: Path, log: Path) -> tuple[asyncio.subprocess.Process, int]:
    """``python -m park_sync`` (Home Assistant unreachable: it retries that aside; the outbox drains)."""
    env = {
        **os.environ,
        "HA_TOKEN": "unused",
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'addons' / 'park_sync'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "park_sync",
        "--options",
        str(options),
        "--ha-url",
        f"http://127.0.0.1:{free_port()}",
        "--status-host",
        "127.0.0.1",
        "--status-port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, int(json.loads(line)["status_port"])


async def _status(port: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/status") as resp:
        doc: dict[str, Any] = await resp.json()
        return doc


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


async def test_sigkill_between_publish_and_puback_loses_nothing(
    broker: Mosquitto, proxy: AckHoldingProxy, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    seeded = await _seed(outbox)
    recorder = await Recorder(broker.port, "v1/gateway/telemetry").start()
    proxy.hold_topic = "v1/gateway/telemetry"  # connects get their PUBACK, telemetry does not
    options = _options(tmp_path, proxy.port)
    log = tmp_path / "park_sync.log"
    proc, _ = await _spawn(options, log)
    try:

        def rids() -> Counter[str]:
            return Counter(
                e["values"]["rid"]
                for doc in recorder.docs("v1/gateway/telemetry")
                for e in doc.get(f"{PARK}:sensor.m", [])
            )

        async def first_batch_at_broker() -> bool:
            return sum(rids().values()) >= BATCH

        await wait_for(first_batch_at_broker, what="the first batch delivered by the broker, its PUBACK held")
        assert proxy.held >= 1
        await asyncio.sleep(0.5)  # ample time for a wrong early delete to commit
        assert _outbox_ids(outbox) == set(seeded), "a record left the outbox before its PUBACK"
        first = set(rids())
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        assert _outbox_ids(outbox) == set(seeded)

        proxy.hold_topic = None
        proc, status_port = await _spawn(options, log)

        async def drained() -> bool:
            return bool((await _status(status_port))["outbox"]["pending"] == 0)

        await wait_for(drained, what="the outbox drained after the restart")

        async def all_arrived() -> bool:
            return set(rids()) >= set(seeded)

        await wait_for(all_arrived, what="every record at the subscriber")
    finally:
        await _stop(proc)
        await recorder.stop()
    assert not _outbox_ids(outbox)
    got = rids()
    assert set(got) == set(seeded)
    assert all(got[r] >= 2 for r in first), "the unacknowledged batch went again"
    assert TOKEN not in log.read_text(errors="replace")


async def test_refused_token_keeps_records_and_reports_without_the_token(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    seeded = await _seed(outbox)
    with Mosquitto(tmp_path, users={"platform": "platform-password"}) as broker:  # this token is unknown
        log = tmp_path / "park_sync.log"
        proc, status_port = await _spawn(_options(tmp_path, broker.port), log)
        try:

            async def down() -> bool:
                return bool((await _status(status_port))["central"]["state"] == "down")

            await wait_for(down, what="the link reported down")
            status = await _status(status_port)
        finally:
            await _stop(proc)
    assert status["central"]["last_error"] == "not authorized"
    assert status["central"]["uplink"] == "mqtt"
    assert _outbox_ids(outbox) == set(seeded)
    text = log.read_text(errors="replace")
    assert text.count("MQTT link DOWN") == 1  # once per transition, however many retries
    assert TOKEN not in text
