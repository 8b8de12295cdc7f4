"""park_sync does not report "all well" while it or the park is broken (issue #11 item 8): a dead task stops
the process with a non-zero exit, and the share of unavailable park entities is in /status and sent to the
central as a health record."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from central.server import Central
from park_sync.__main__ import _run
from park_sync.app import ParkSync
from park_sync.outbox import Record

from .conftest import free_port, make_options, wait_for


async def _status(app: ParkSync) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{app.status_server.port}/status") as resp,
    ):
        return resp.status, await resp.json()


async def test_a_dead_task_fails_status_and_exits_non_zero(
    tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    options = make_options(tmp_path, central.url, status_port=free_port())
    app = ParkSync(options, f"http://127.0.0.1:{free_port()}", "ha-token", "127.0.0.1")
    runner = asyncio.create_task(_run(app))
    await wait_for(lambda: _true(app.status_server.port > 0), what="status endpoint")
    assert (await _status(app))[0] == 200
    # The outbox's disk goes away under the running service: the intake task cannot commit any more.
    await app.outbox.run(app.outbox.db.close)
    await app.intake.sink([Record("r1", "telemetry", "2025-05-01T00:00:00+00:00", {})])
    await wait_for(lambda: _true(app.dead.is_set()), what="supervisor noticing the dead task")
    # The process exits non-zero (the Supervisor restarts the add-on); until then /status says so.
    assert await asyncio.wait_for(runner, 10) == 1
    assert app.task_failure is not None
    assert "intake" in app.task_failure
    assert any(r.levelno == logging.CRITICAL and "intake" in r.getMessage() for r in caplog.records)


async def test_status_500_while_a_task_is_dead(tmp_path: Path, central: Central) -> None:
    options = make_options(tmp_path, central.url, status_port=free_port())
    app = ParkSync(options, f"http://127.0.0.1:{free_port()}", "ha-token", "127.0.0.1")
    await app.start()
    try:
        await app.outbox.run(app.outbox.db.close)
        await app.intake.sink([Record("r1", "telemetry", "2025-05-01T00:00:00+00:00", {})])
        await wait_for(lambda: _true(app.dead.is_set()), what="dead task")
        code, doc = await _status(app)
        assert code == 500
        assert "intake" in str(doc["tasks"])
    finally:
        await app.stop()


async def _true(value: bool) -> bool:
    return value


async def test_unavailable_share_in_status_and_sent_to_central(
    hass: HomeAssistant, ha_api: tuple[str, str], central: Central, tmp_path: Path
) -> None:
    url, token = ha_api
    registry = er.async_get(hass)
    ids = [registry.async_get_or_create("sensor", "smart_park", f"u{i}").entity_id for i in range(4)]
    for eid in ids:
        hass.states.async_set(eid, "12.5")
    app = ParkSync(make_options(tmp_path, central.url, status_port=free_port()), url, token, "127.0.0.1")
    app.health_interval = 0.05
    await app.start()
    try:

        async def following() -> bool:
            return app.ha is not None and app.ha.unavailable() == (4, 0)

        await wait_for(following, what="park_sync following 4 entities")
        code, doc = await _status(app)
        assert code == 200
        assert doc["park"] == {
            "entities": 4,
            "unavailable": 0,
            "unavailable_share": 0.0,
            "state": "ok",
            "ha_connected": True,
        }
        # A hung reload: the websocket stays up, the entities go unavailable.
        for eid in ids[:3]:
            hass.states.async_set(eid, "unavailable")

        async def dark_at_central() -> bool:
            rows = await central.storage.records("health")
            return any(r["data"]["unavailable_share"] == 0.75 for r in rows)

        await wait_for(dark_at_central, what="health record with 75% unavailable at the central")
        _, doc = await _status(app)
        assert doc["park"]["state"] == "dark"
        assert doc["park"]["unavailable"] == 3
        assert doc["home_assistant"]["connected"] is True  # the link alone would have said all is well
    finally:
        await app.stop()
