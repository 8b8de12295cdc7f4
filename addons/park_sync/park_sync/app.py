"""Wires the pieces: HA source -> intake -> outbox -> HTTP uplink (+ HJ 212 uplink) and status endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from . import __version__
from .config import Options
from .ha_source import HASource
from .outbox import Outbox, Record
from .status import StatusServer
from .uplink_hj212 import HJ212Uplink
from .uplink_http import HttpUplink

_LOGGER = logging.getLogger(__name__)


class Intake:
    """Coalesces records arriving one by one into few transactions; ``taken`` counts committed records."""

    def __init__(self, outbox: Outbox, max_delay: float = 0.05) -> None:
        self._outbox = outbox
        self._buffer: list[Record] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._max_delay = max_delay
        self.taken = 0

    async def sink(self, records: list[Record]) -> None:
        self._buffer.extend(records)
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._max_delay)
            self._wake.clear()
            await self._commit()

    async def _commit(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            await self._outbox.put(batch)
            self.taken += len(batch)
        if not self._buffer:
            self._idle.set()

    async def drain(self) -> None:
        """Commit whatever is buffered (shutdown path)."""
        await self._commit()


class ParkSync:
    def __init__(self, options: Options, ha_url: str, ha_token: str, status_host: str = "0.0.0.0") -> None:
        self.options = options
        self._ha_url = ha_url
        self._ha_token = ha_token
        self._status_host = status_host
        self.outbox = Outbox(options.outbox_path, options.outbox_max_records)
        self.intake = Intake(self.outbox)
        self.status_server = StatusServer(self.status, self.requeue_dead_letters)
        self.session: aiohttp.ClientSession | None = None
        self.ha: HASource | None = None
        self.http: HttpUplink | None = None
        self.hj212: HJ212Uplink | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.started_at = time.time()

    def status(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "park_id": self.options.park_id,
            "uptime": round(time.time() - self.started_at, 1),
            "central": self.http.status() if self.http else {"state": "unknown"},
            "outbox": {
                "pending": self.outbox.pending,
                "capacity": self.outbox.max_records,
                "taken": self.intake.taken,
                "enqueued_new": self.outbox.enqueued_total,
                "thinned_telemetry": self.outbox.thinned,
            },
            "dead_letters": {"count": self.outbox.dead, "recent": self.outbox.dead_recent},
            "home_assistant": self.ha.status() if self.ha else {"connected": False},
            "hj212": self.hj212.status() if self.hj212 else {"enabled": False},
        }

    async def requeue_dead_letters(self, ids: list[str] | None = None) -> int:
        n = await self.outbox.requeue_dead(ids)
        _LOGGER.warning("%d dead letter(s) moved back to the outbox for another try", n)
        if self.http is not None:
            self.http.flush()
        return n

    async def start(self) -> None:
        await self.outbox.open()
        self.session = aiohttp.ClientSession()
        self.http = HttpUplink(self.options, self.outbox, self.session)
        on_state = None
        if self.options.hj212.enabled:
            self.hj212 = HJ212Uplink(self.options.hj212, self.outbox)
            on_state = self.hj212.observe
        self.ha = HASource(
            self._ha_url,
            self._ha_token,
            self.options.entity_filter,
            self.intake.sink,
            self.session,
            on_state=on_state,
        )
        if self.options.status_port:
            await self.status_server.start(self._status_host, self.options.status_port)
        self._tasks = [
            asyncio.create_task(self.intake.run(), name="park_sync.intake"),
            asyncio.create_task(self.http.run(), name="park_sync.http"),
            asyncio.create_task(self.ha.run(), name="park_sync.ha"),
        ]
        if self.hj212 is not None:
            self._tasks.append(asyncio.create_task(self.hj212.run(), name="park_sync.hj212"))
        _LOGGER.info(
            "park_sync %s started: park %s -> %s, outbox %s (%d pending), status port %s",
            __version__,
            self.options.park_id,
            self.options.central_url,
            self.options.outbox_path,
            self.outbox.pending,
            self.status_server.port or "off",
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        # Records already received from HA are committed before exit; unsent ones simply wait in the outbox.
        with contextlib.suppress(Exception):
            await self.intake.drain()
        await self.status_server.stop()
        if self.session is not None:
            await self.session.close()
        await self.outbox.close()
