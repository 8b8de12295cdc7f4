"""HTTP uplink against the real central: batching, central outage with zero loss, rejected credentials."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from central.ingest import IngestSettings
from central.server import Central
from park_sync.config import Options
from park_sync.outbox import Outbox, Record
from park_sync.uplink_http import HttpUplink

from .conftest import SECRET, TOKEN, free_port, make_options, wait_for


def _records(start: int, n: int, kind: str = "telemetry") -> list[Record]:
    return [Record(f"r{i:06d}", kind, "2025-05-01T00:00:00+00:00", {"i": i}) for i in range(start, start + n)]


@asynccontextmanager
async def running_uplink(options: Options) -> AsyncIterator[tuple[Outbox, HttpUplink]]:
    box = Outbox(options.outbox_path, options.outbox_max_records)
    await box.open()
    async with aiohttp.ClientSession() as session:
        uplink = HttpUplink(options, box, session)
        task = asyncio.create_task(uplink.run())
        try:
            yield box, uplink
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await box.close()


async def test_drains_in_batches(tmp_path: Path, central: Central) -> None:
    options = make_options(tmp_path, central.url, batch_max_records=50)
    async with running_uplink(options) as (box, uplink):
        await box.put(_records(0, 230))

        async def drained() -> bool:
            return box.pending == 0 and len(await central.storage.record_ids()) == 230

        await wait_for(drained, what="230 records at the central")
        assert uplink.sent_batches == 5
        assert uplink.status()["state"] == "up"


async def test_central_down_then_back_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    db = tmp_path / "central.sqlite3"
    central = Central(db, IngestSettings(TOKEN, SECRET), ssl_context=None)
    await central.start(http_port=port, hj212_port=None)
    options = make_options(tmp_path, central.url)
    async with running_uplink(options) as (box, uplink):
        await box.put(_records(0, 100))
        await wait_for(lambda: _count(central, 100), what="first 100 records")

        async def acked() -> bool:  # the central stores a batch before the uplink sees its ack
            return box.pending == 0

        await wait_for(acked, what="first 100 acknowledged")
        await central.stop()
        await box.put(_records(100, 150))
        await box.put(_records(1000, 5, kind="incident"))

        async def down() -> bool:
            return uplink.state == "down" and uplink.failures >= 3

        await wait_for(down, what="link down with retries")
        assert box.pending == 155
        assert any(
            "Central link DOWN" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
        )
        central = Central(db, IngestSettings(TOKEN, SECRET))
        await central.start(http_port=port, hj212_port=None)
        try:
            await wait_for(lambda: _count(central, 255), what="all 255 records after restart")
            await wait_for(acked, what="outbox emptied by the acks")
            assert uplink.state == "up"
            ids = await central.storage.record_ids()
            assert len(ids) == len(set(ids)) == 255
            assert any("Central link UP again" in r.getMessage() for r in caplog.records)
        finally:
            await central.stop()


async def _count(central: Central, n: int) -> bool:
    return len(await central.storage.record_ids()) >= n


async def test_wrong_secret_keeps_records_and_reports_field(
    tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    options = make_options(tmp_path, central.url, hmac_secret="definitely-not-the-secret")
    async with running_uplink(options) as (box, uplink):
        await box.put(_records(0, 10))

        async def down() -> bool:
            return uplink.state == "down"

        await wait_for(down, what="link down")
        assert "X-Park-Signature" in (uplink.last_error or "")
        assert box.pending == 10
        assert await central.storage.record_ids() == []
    # The secret itself never reaches the log.
    assert "definitely-not-the-secret" not in caplog.text
    assert TOKEN not in caplog.text
