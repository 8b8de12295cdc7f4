"""Wires the pieces: HA source -> intake -> outbox -> HTTP or MQTT uplink (+ HJ 212, GB/T 26875.3 uplinks) and
status.

The outbox has one drain: the MQTT uplink when ``mqtt.enabled``, else the HTTP uplink (both delete a record
on its acknowledgement, so two drains would race for the same rows). HJ 212 and GB/T 26875.3 keep their own
queues.

The long-running pieces run in one ``asyncio.TaskGroup``: if any of them dies (or returns, which none should),
the others are cancelled, ``/status`` answers 500 and ``python -m park_sync`` exits non-zero, so the
Supervisor's watchdog restarts the add-on instead of it reporting "all well" with a dead uplink.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp

from . import __version__
from .config import Options
from .ha_source import HASource
from .outbox import Outbox, Record
from .status import StatusServer
from .uplink_gbt26875 import GBT26875Uplink
from .uplink_hj212 import HJ212Uplink
from .uplink_http import HttpUplink
from .uplink_mqtt import MQTTUplink

_LOGGER = logging.getLogger(__name__)


class Intake:
    """Coalesces records arriving one by one into few transactions; ``taken`` counts committed records."""

    def __init__(self, outbox: Outbox, max_delay: float = 0.05) -> None:
        self._outbox = outbox
        self._buffer: list[Record] = []
        self._wake = asyncio.Event()
        self._max_delay = max_delay
        self.taken = 0

    async def sink(self, records: list[Record]) -> None:
        self._buffer.extend(records)
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

    async def drain(self) -> None:
        """Commit whatever is buffered (shutdown path)."""
        await self._commit()


# Share of the park's entities unavailable from which the park counts as "dark" in the status and the log.
DARK_SHARE = 0.5


class TaskDied(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"task {name} died: {reason}")
        self.name = name


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
        self.mqtt: MQTTUplink | None = None
        self.hj212: HJ212Uplink | None = None
        self.gbt26875: GBT26875Uplink | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self.dead = asyncio.Event()
        self.task_failure: str | None = None
        self.started_at = time.time()
        # Health record cadence: on every change of the unavailable count (checked every health_interval),
        # and at least every health_heartbeat seconds.
        self.health_interval = 10.0
        self.health_heartbeat = 300.0
        self._dark = False
        # Sync heartbeats to HA's duty-room screen: at most one per this many seconds, after acked uploads.
        self.sync_heartbeat_every = 10.0
        self._heartbeat_at = -float("inf")
        self._heartbeat_task: asyncio.Task[bool] | None = None

    def park_health(self) -> dict[str, Any]:
        known, unavailable = self.ha.unavailable() if self.ha else (0, 0)
        share = round(unavailable / known, 4) if known else 0.0
        return {
            "entities": known,
            "unavailable": unavailable,
            "unavailable_share": share,
            "state": "dark" if known and share >= DARK_SHARE else ("ok" if known else "unknown"),
            "ha_connected": bool(self.ha and self.ha.connected),
        }

    def status(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "park_id": self.options.park_id,
            "uptime": round(time.time() - self.started_at, 1),
            "central": self.drain.status() if self.drain else {"state": "unknown"},
            "outbox": {
                "pending": self.outbox.pending,
                "capacity": self.outbox.max_records,
                "taken": self.intake.taken,
                "enqueued_new": self.outbox.enqueued_total,
                "thinned_telemetry": self.outbox.thinned,
            },
            "dead_letters": {"count": self.outbox.dead, "recent": self.outbox.dead_recent},
            "home_assistant": self.ha.status() if self.ha else {"connected": False},
            "park": self.park_health(),
            "hj212": self.hj212.status() if self.hj212 else {"enabled": False},
            "gbt26875": self.gbt26875.status() if self.gbt26875 else {"enabled": False},
            "tasks": {"failed": self.task_failure},
        }

    def _rpc_status(self) -> dict[str, Any]:
        """The status snapshot an RPC ``status`` gets: the status page's (which holds no personal data)."""
        return self.status()

    async def requeue_dead_letters(self, ids: list[str] | None = None) -> int:
        n = await self.outbox.requeue_dead(ids)
        if ids is None and self.gbt26875 is not None:
            n += await self.gbt26875.requeue_dead()
        _LOGGER.warning("%d dead letter(s) moved back to the outbox for another try", n)
        if self.drain is not None:
            self.drain.flush()
        return n

    @property
    def drain(self) -> HttpUplink | MQTTUplink | None:
        """The uplink that empties the outbox."""
        return self.mqtt or self.http

    async def start(self) -> None:
        await self.outbox.open()
        self.session = aiohttp.ClientSession()
        if self.options.mqtt.enabled:
            self.mqtt = MQTTUplink(self.options, self.outbox, self._rpc_status, on_acked=self._uploaded)
        else:
            self.http = HttpUplink(self.options, self.outbox, self.session, on_acked=self._uploaded)
        observers: list[Callable[[dict[str, Any]], None]] = []
        if self.options.hj212.enabled:
            self.hj212 = HJ212Uplink(self.options.hj212, self.outbox)
            observers.append(self.hj212.observe)
        if self.options.gbt26875.enabled:
            self.gbt26875 = GBT26875Uplink(
                self.options.gbt26875, self.outbox, self.options.park_id, self.park_health
            )
            observers.append(self.gbt26875.observe)

        def on_state(state: dict[str, Any]) -> None:
            for observe in observers:
                observe(state)

        self.ha = HASource(
            self._ha_url,
            self._ha_token,
            self.options.entity_filter,
            self._sink,
            self.session,
            on_state=on_state if observers else None,
            personal_data=self.options.send_personal_data,
            on_connect=self.gbt26875.ha_connected if self.gbt26875 else None,
        )
        if self.gbt26875 is not None:
            self.gbt26875.ha = self.ha
        if self.options.status_port:
            await self.status_server.start(self._status_host, self.options.status_port)
        jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "intake": self.intake.run,
            "ha": self.ha.run,
            "health": self._health_loop,
        }
        if self.mqtt is not None:
            jobs["mqtt"] = self.mqtt.run
        elif self.http is not None:
            jobs["http"] = self.http.run
        if self.hj212 is not None:
            jobs["hj212"] = self.hj212.run
        if self.gbt26875 is not None:
            jobs["gbt26875"] = self.gbt26875.run
        self._supervisor = asyncio.create_task(self._supervise(jobs), name="park_sync.supervisor")
        _LOGGER.info(
            "park_sync %s started: park %s -> %s, outbox %s (%d pending), status port %s",
            __version__,
            self.options.park_id,
            self.mqtt.url if self.mqtt else self.options.central_url,
            self.options.outbox_path,
            self.outbox.pending,
            self.status_server.port or "off",
        )

    async def _sink(self, records: list[Record]) -> None:
        """Records from HA: the GB/T 26875.3 feed sees incidents and audit entries as they pass."""
        if self.gbt26875 is not None:
            self.gbt26875.observe_records(records)
        await self.intake.sink(records)

    async def _supervise(self, jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]]) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for name, job in jobs.items():
                    group.create_task(self._guard(name, job), name=f"park_sync.{name}")
        except* Exception as failed:
            first = failed.exceptions[0]
            self.task_failure = str(first)
            _LOGGER.critical(
                "park_sync stops: %s", self.task_failure, exc_info=first.__cause__ or first.__context__
            )
            self.dead.set()

    @staticmethod
    async def _guard(name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await job()
        except Exception as err:
            raise TaskDied(name, f"{type(err).__name__}: {err}") from err
        raise TaskDied(name, "returned")  # every job is meant to run until cancelled

    def sync_interval(self) -> float:
        """The longest a healthy link stays without an acknowledged upload: a health record goes at least
        every ``health_heartbeat`` s, waits at most ``batch_max_seconds`` for its batch, and heartbeats are
        spaced by ``sync_heartbeat_every``. HA shows the link late after three such intervals."""
        return self.health_heartbeat + self.options.batch_max_seconds + self.sync_heartbeat_every

    def _uploaded(self) -> None:
        """The central acknowledged a batch: tell HA (spaced, never blocking the uplink)."""
        now = time.monotonic()
        running = self._heartbeat_task is not None and not self._heartbeat_task.done()
        if running or now - self._heartbeat_at < self.sync_heartbeat_every or self.ha is None:
            return
        self._heartbeat_at = now
        self._heartbeat_task = asyncio.create_task(
            self.ha.heartbeat(self.options.park_id, self.sync_interval()), name="park_sync.heartbeat"
        )

    async def _health_loop(self) -> None:
        last: tuple[int, int] | None = None
        last_sent = 0.0
        while True:
            await asyncio.sleep(self.health_interval)
            health = self.park_health()
            figure = (health["entities"], health["unavailable"])
            if health["entities"] == 0 or (
                figure == last and time.monotonic() - last_sent < self.health_heartbeat
            ):
                continue
            self._log_dark(health)
            await self.intake.sink([self._health_record(health)])
            last, last_sent = figure, time.monotonic()

    def _log_dark(self, health: dict[str, Any]) -> None:
        dark = health["state"] == "dark"
        if dark != self._dark:
            self._dark = dark
            log = _LOGGER.warning if dark else _LOGGER.info
            log(
                "Park %s: %d of %d entities unavailable (%.0f%%)",
                "DARK" if dark else "back",
                health["unavailable"],
                health["entities"],
                100 * health["unavailable_share"],
            )

    def _health_record(self, health: dict[str, Any]) -> Record:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        digest = hashlib.sha256(f"{self.options.park_id}\x1f{now}".encode()).hexdigest()[:32]
        return Record(id="hl-" + digest, kind="health", ts=now, data=health)

    async def stop(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
            self._supervisor = None
        # Records already received from HA are committed before exit; unsent ones simply wait in the outbox.
        with contextlib.suppress(Exception):
            await self.intake.drain()
        await self.status_server.stop()
        if self.session is not None:
            await self.session.close()
        await self.outbox.close()
