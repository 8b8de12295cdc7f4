"""Records the central refuses by name are set aside (dead letters) and never block the rest (issue #11
item 5); whole-batch refusals keep everything and back off; dead letters can be sent again."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central import ingest as central_ingest
from central.server import Central
from park_sync.app import ParkSync
from park_sync.outbox import Outbox, Record

from .conftest import free_port, make_options, wait_for
from .test_uplink_http import running_uplink

TS = "2025-05-01T00:00:00+00:00"


def _good(n: int) -> list[Record]:
    return [Record(f"g{i:05d}", "telemetry", TS, {"i": i}) for i in range(n)]


def _deep(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"v": 1}
    for _ in range(levels):
        inner = {"x": inner}
    return inner


async def test_refused_records_set_aside_and_the_rest_flow_on(
    tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    options = make_options(tmp_path, central.url, batch_max_records=50)
    async with running_uplink(options) as (box, uplink):
        good = _good(120)
        bad_kind = Record("bad-kind", "gossip", TS, {"phone": "13800138000"})
        bad_id = Record("bad id", "telemetry", TS, {})  # refused by index: the id itself is invalid
        await box.put([*good[:30], bad_kind, *good[30:80], bad_id, *good[80:]])

        async def drained() -> bool:
            return box.pending == 0

        await wait_for(drained, what="outbox drained around the refused records")
        assert sorted(await central.storage.record_ids()) == [r.id for r in good]
        assert box.dead == 2
        reasons = {d["id"]: d["reason"] for d in box.dead_recent}
        assert reasons["bad-kind"].startswith("HTTP 400 records[")
        assert ".kind" in reasons["bad-kind"]
        assert ".id" in reasons["bad id"]
        assert uplink.dead_lettered == 2
        assert uplink.status()["state"] == "up"
    assert "set aside as a dead letter" in caplog.text
    assert "13800138000" not in caplog.text  # record bodies (personal data) never logged
    # Dead letters survive a restart.
    box = Outbox(options.outbox_path)
    await box.open()
    try:
        assert (box.dead, box.pending) == (2, 0)
    finally:
        await box.close()


async def test_whole_batch_refusal_keeps_records_and_backs_off(tmp_path: Path, central: Central) -> None:
    options = make_options(tmp_path, central.url, central_token="not-the-token")
    async with running_uplink(options) as (box, uplink):
        await box.put(_good(10))

        async def refused_twice() -> bool:
            return uplink.rejected_batches >= 2

        await wait_for(refused_twice, what="two refused tries")
        assert (box.pending, box.dead) == (10, 0)
        status = uplink.status()
        assert status["state"] == "down"
        assert "Authorization" in status["last_error"]
        assert "not-the-token" not in status["last_error"]


async def test_dead_letters_requeued_over_http_after_the_central_is_fixed(
    tmp_path: Path, central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = make_options(tmp_path, central.url, status_port=free_port())
    # HA is not needed here: the source keeps retrying a closed port in the background.
    app = ParkSync(options, f"http://127.0.0.1:{free_port()}", "ha-token", "127.0.0.1")
    await app.start()
    try:
        deep = Record("deep-1", "incident", TS, _deep(40))
        await app.outbox.put([deep, *_good(5)])

        async def set_aside() -> bool:
            return app.outbox.dead == 1 and app.outbox.pending == 0

        await wait_for(set_aside, what="deep record set aside")
        url = f"http://127.0.0.1:{app.status_server.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/status") as resp:
                doc = await resp.json()
            assert doc["dead_letters"]["count"] == 1
            assert doc["dead_letters"]["recent"][0]["id"] == "deep-1"
            # The district raises its limit; the operator re-sends.
            monkeypatch.setattr(central_ingest, "MAX_DEPTH", 64)
            async with session.post(url + "/dead-letters/requeue", json={"ids": ["deep-1"]}) as resp:
                assert (resp.status, await resp.json()) == (200, {"requeued": 1})
            async with session.post(url + "/dead-letters/requeue", json={"ids": "deep-1"}) as resp:
                assert resp.status == 400

        async def delivered() -> bool:
            return "deep-1" in await central.storage.record_ids() and app.outbox.pending == 0

        await wait_for(delivered, what="re-sent dead letter at the central")
        assert app.outbox.dead == 0
    finally:
        await app.stop()


async def test_cli_requeues_dead_letters_of_a_stopped_service(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    await box.open()
    await box.put([Record("a", "audit", TS, {}), Record("b", "audit", TS, {})])
    assert await box.set_aside({"a": "HTTP 400 records[0].kind: x", "b": "HTTP 400 records[1].kind: x"}) == 2
    assert (box.pending, box.dead) == (0, 2)
    await box.close()
    opts = tmp_path / "options.json"
    opts.write_text(
        json.dumps(
            {
                "park_id": "p",
                "central_url": "http://127.0.0.1:1",
                "central_token": "t",
                "hmac_secret": "0123456789abcdef",
                "outbox_path": str(path),
            }
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "park_sync",
        "--options",
        str(opts),
        "--requeue-dead-letters",
        "a",
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2] / "addons" / "park_sync",
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert json.loads(out) == {"requeued": 1}
    box = Outbox(path)
    await box.open()
    try:
        assert (box.pending, box.dead) == (1, 1)
        assert await box.ids() == ["a"]
    finally:
        await box.close()


async def test_a_record_with_u0000_is_refused_by_name_not_retried_forever(
    tmp_path: Path, central: Central
) -> None:
    """PostgreSQL's jsonb cannot store U+0000: the central refuses such a record by name on every store (a 500
    from a --pg central made the park retry the whole batch forever), and the rest flow on."""
    options = make_options(tmp_path, central.url)
    async with running_uplink(options) as (box, uplink):
        good = _good(20)
        nul = Record("nul-1", "audit", TS, {"note": "a\x00b"})
        nul_key = Record("nul-2", "audit", TS, {"k\x00": 1})
        await box.put([*good[:10], nul, nul_key, *good[10:]])

        async def drained() -> bool:
            return box.pending == 0

        await wait_for(drained, what="outbox drained around the U+0000 records")
        assert sorted(await central.storage.record_ids()) == [r.id for r in good]
        reasons = {d["id"]: d["reason"] for d in box.dead_recent}
        assert set(reasons) == {"nul-1", "nul-2"}
        assert all("U+0000" in reason for reason in reasons.values())
        assert uplink.dead_lettered == 2
