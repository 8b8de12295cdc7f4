"""GB/T 26875.3-2011 link to the fire remote monitoring centre: park_sync as the park's user information
transmission device (用户信息传输装置).

One TCP connection to the centre. Records queued by ``gbt26875_feed`` go one frame at a time (发送数据), fire
alarms first; a frame leaves the queue only on the centre's confirm (确认). No confirm within ``timeout``
(at most 10 s, the standard's) and the same frame goes again, ``retries`` times; after that the link counts
as down, is closed and reconnected with backoff, and the frame goes again under its serial. A denial (否认)
sends the frame's records again one by one; a record denied ``deny_limit`` times is set aside as a dead
letter (re-queued with the other dead letters, POST /dead-letters/requeue). With nothing to send for
``heartbeat`` seconds an empty 发送数据 keeps the link. The centre's requests are answered by
``gbt26875_answers``; what it asks of the duty room goes to HA (``smart_park/centre/report``), and the layout
comes from HA (``smart_park/centre/layout``) each time park_sync (re)connects to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .config import GBT26875Options
from .gbt26875 import Command, Frame, FrameError, FrameReader, deny_for
from .gbt26875_answers import CentreRequests
from .gbt26875_feed import Feed, HealthFn
from .gbt26875_park import ParkModel
from .gbt26875_store import Batch, GBT26875Store
from .outbox import Outbox, Record
from .peer_link import close_session

_LOGGER = logging.getLogger(__name__)
LAYOUT_COMMAND = "smart_park/centre/layout"
REPORT_COMMAND = "smart_park/centre/report"


class HALink(Protocol):
    connected: bool

    async def command(self, payload: dict[str, Any]) -> Any: ...


class GBT26875Uplink:
    def __init__(self, options: GBT26875Options, outbox: Outbox, park_id: str, health: HealthFn) -> None:
        self._o = options
        self._park_id = park_id
        self.ha: HALink | None = None
        self.store = GBT26875Store(outbox)
        self.model = ParkModel(options.timezone)
        self.feed = Feed(self.model, self.store, outbox, health)
        self.requests = CentreRequests(self.feed, self.store, self._queue_report)
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._waiters: dict[int, asyncio.Future[Command]] = {}
        self._connected = asyncio.Event()
        self._layout_wanted = asyncio.Event()
        self._reports: list[tuple[float, dict[str, Any]]] = []
        self._reports_added = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_traffic = 0.0
        self.frames = self.records = self.retransmissions = self.denials = self.heartbeats = 0
        self.dead_lettered = self.bad_frames = 0
        self.last_error: str | None = None
        self.last_confirmed: float | None = None
        self.layout_error: str | None = None

    # --- inputs -------------------------------------------------------------------------------------------
    def observe(self, state: dict[str, Any]) -> None:
        self.feed.observe(state)

    def observe_records(self, records: list[Record]) -> None:
        self.feed.observe_records(records)

    def ha_connected(self) -> None:
        """HA (re)connected or its entities changed: fetch the layout again, deliver held reports."""
        self._layout_wanted.set()
        self._reports_added.set()

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "connected": self._connected.is_set(),
            "centre": f"{self._o.host}:{self._o.port}",
            "park": self.model.park_id,
            "systems": len(self.model.systems),
            "components": len(self.model.components),
            "layout_error": self.layout_error,
            "pending": self.store.pending,
            "dead_letters": self.store.dead,
            "frames_confirmed": self.frames,
            "records_confirmed": self.records,
            "records_queued": self.feed.records,
            "retransmissions": self.retransmissions,
            "denials": self.denials,
            "heartbeats": self.heartbeats,
            "bad_frames": self.bad_frames,
            "reads_answered": self.requests.reads,
            "controls": self.requests.controls,
            "last_rollcall": self.requests.last_rollcall,
            "clock_offset_seconds": self.requests.clock_offset,
            "uitd_state": int(self.feed.uitd_state()),
            "last_confirmed": self.last_confirmed,
            "last_error": self.last_error,
        }

    async def requeue_dead(self) -> int:
        n = await self.store.requeue_dead()
        self.feed.queued.set()
        return n

    # --- tasks --------------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.feed.open()
        jobs: list[Callable[[], Awaitable[None]]] = [
            self.feed.run,
            self._connection_loop,
            self._send_loop,
            self._layout_loop,
            self._report_loop,
            self._prune_loop,
        ]
        try:
            await asyncio.gather(*(job() for job in jobs))
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _layout_loop(self) -> None:
        while True:
            await self._layout_wanted.wait()
            self._layout_wanted.clear()
            if self.ha is None or not self.ha.connected:
                continue
            try:
                doc = await self.ha.command({"type": LAYOUT_COMMAND})
            except Exception as err:  # an HA without the command, or the session ended meanwhile
                self.layout_error = f"{type(err).__name__}: {err}"
                _LOGGER.warning("GB/T 26875.3: no park layout from Home Assistant (%s)", self.layout_error)
                continue
            parks = doc.get("parks", []) if isinstance(doc, dict) else []
            park = next((p for p in parks if p.get("park_id") == self._park_id), None)
            if park is None and len(parks) == 1:
                park = parks[0]  # one park in HA: it is ours whatever its id there
            if park is None:
                self.layout_error = f"park {self._park_id} is not loaded in Home Assistant"
                _LOGGER.warning("GB/T 26875.3: %s; nothing is reported", self.layout_error)
                continue
            self.layout_error = None
            self.model.load(park)
            self.feed.everything()
            _LOGGER.info(
                "GB/T 26875.3: park %s, %d systems, %d components, %d analogue values",
                self.model.park_id,
                len(self.model.systems),
                len(self.model.components),
                len(self.model.analogues),
            )

    def _queue_report(self, report: dict[str, Any]) -> None:
        self._reports.append((time.monotonic(), report))
        self._reports_added.set()

    async def _report_loop(self) -> None:
        """Hand the centre's requests to HA, held while HA is away (a roll-call while it may be answered)."""
        while True:
            await self._reports_added.wait()
            self._reports_added.clear()
            while self._reports and self._ha_up():
                at, report = self._reports[0]
                minutes = int(report.get("minutes") or 10)
                if report["event"] == "rollcall" and time.monotonic() - at > minutes * 60:
                    self._reports.pop(0)
                    continue
                park = {"park_id": self.model.park_id} if self.model.park_id else {}
                try:
                    assert self.ha is not None
                    await self.ha.command({"type": REPORT_COMMAND, **park, **report})
                except Exception as err:
                    _LOGGER.warning("GB/T 26875.3: Home Assistant did not take %s (%s)", report["event"], err)
                    if not self._ha_up():
                        break  # held until it is back
                self._reports.pop(0)

    def _ha_up(self) -> bool:
        return self.ha is not None and self.ha.connected

    async def _prune_loop(self) -> None:
        while True:
            await self.store.prune(time.time() - self._o.history_days * 86400)
            await asyncio.sleep(3600)

    # --- link ---------------------------------------------------------------------------------------------
    async def _connection_loop(self) -> None:
        failures = 0
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self._o.host, self._o.port), 15
                )
            except (OSError, TimeoutError) as err:
                if failures == 0:
                    self._link_down(f"cannot connect to {self._o.host}:{self._o.port}: {err}")
                failures += 1
                cap = min(self._o.reconnect_max_seconds, 0.5 * 2 ** min(failures, 10))
                await asyncio.sleep(cap / 2 + random.uniform(0, cap / 2))
                continue
            failures = 0
            self._writer = writer
            self.last_error = None
            # With heartbeats on, the first goes at once when nothing else does: the centre learns the device.
            self._last_traffic = time.monotonic() - self._o.heartbeat
            self._connected.set()
            _LOGGER.info("GB/T 26875.3 link up (%s:%s)", self._o.host, self._o.port)
            try:
                await self._read_loop(reader)
            except (OSError, ConnectionError) as err:
                self._link_down(f"connection lost: {type(err).__name__}")
            finally:
                self._connected.clear()
                self._writer = None
                await close_session(writer, self._waiters)
            await asyncio.sleep(min(1.0, self._o.reconnect_max_seconds))

    def _link_down(self, reason: str) -> None:
        self.last_error = reason
        _LOGGER.warning("GB/T 26875.3 link DOWN: %s; %d records kept for resend", reason, self.store.pending)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader()
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionError("closed by the centre")
            for item in frames.feed(chunk):
                if isinstance(item, FrameError):
                    self.bad_frames += 1
                    _LOGGER.warning("GB/T 26875.3 frame from the centre refused: %s", item)
                    deny = deny_for(item, self.feed.now(), self._o.source_address)
                    if deny is not None:
                        await self._write(deny)
                else:
                    await self._dispatch(item)

    async def _dispatch(self, frame: Frame) -> None:
        self._last_traffic = time.monotonic()
        if frame.destination not in (self._o.source_address, 0):
            self.bad_frames += 1
            _LOGGER.warning("GB/T 26875.3 frame for address %d, not ours: denied", frame.destination)
            await self._write(frame.answer(Command.DENY, self.feed.now()))
        elif frame.command in (Command.CONFIRM, Command.DENY):
            fut = self._waiters.get(frame.serial)
            if fut is not None and not fut.done():
                fut.set_result(frame.command)
        elif frame.command in (Command.REQUEST, Command.CONTROL):
            task = asyncio.create_task(self._answer(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif frame.command == Command.SEND_DATA:
            # The device does not take data from the centre; its heartbeat is confirmed.
            command = Command.CONFIRM if frame.is_heartbeat else Command.DENY
            await self._write(frame.answer(command, self.feed.now()))

    async def _answer(self, frame: Frame) -> None:
        try:
            answer = await self.requests.answer(frame)
            # From our address even when the centre wrote to the broadcast address 0.
            await self._write(dataclasses.replace(answer, source=self._o.source_address))
        except (ConnectionError, OSError) as err:
            _LOGGER.warning("GB/T 26875.3 answer to serial %d not sent: %s", frame.serial, err)

    async def _write(self, frame: Frame) -> None:
        await self._write_raw(frame.encode())

    async def _write_raw(self, raw: bytes) -> None:
        writer = self._writer
        if writer is None:
            raise ConnectionError("GB/T 26875.3 link is down")
        async with self._write_lock:
            writer.write(raw)
            await writer.drain()

    async def exchange(self, serial: int, data: bytes) -> Command | None:
        """Send one 发送数据 and wait for the centre's confirm or denial, resending the same frame on
        timeout; None when the link failed (it is then closed and reconnected)."""
        raw = Frame(
            serial, self.feed.now(), self._o.source_address, self._o.centre_address, Command.SEND_DATA, data
        )
        frame = raw.encode()
        for attempt in range(1 + self._o.retries):
            if not self._connected.is_set():
                return None
            fut: asyncio.Future[Command] = asyncio.get_running_loop().create_future()
            self._waiters[serial] = fut
            try:
                await self._write_raw(frame)
                self._last_traffic = time.monotonic()
                return await asyncio.wait_for(fut, self._o.timeout)
            except TimeoutError:
                if attempt < self._o.retries:
                    self.retransmissions += 1
            except (ConnectionError, OSError):
                return None
            finally:
                self._waiters.pop(serial, None)
        self._link_down(f"no confirm for serial {serial} after {1 + self._o.retries} tries")
        if self._writer is not None:
            self._writer.close()  # the read loop ends and the connection loop reconnects
        return None

    async def _send_loop(self) -> None:
        denied_in_a_row = 0
        while True:
            await self._connected.wait()
            batch = await self.store.next_batch()
            if batch is None:
                await self._idle()
                continue
            serial = await self.store.assign_serial(batch)
            result = await self.exchange(serial, batch.data)
            if result == Command.CONFIRM:
                denied_in_a_row = 0
                await self._confirmed(batch)
            elif result == Command.DENY:
                self.denials += 1
                denied_in_a_row += 1
                reason = f"denied by the centre {self._o.deny_limit} times"
                moved = await self.store.denied(batch, self._o.deny_limit, reason)
                if moved:
                    self.dead_lettered += moved
                    _LOGGER.warning(
                        "GB/T 26875.3: %d record(s) set aside as dead letters (%s)", moved, reason
                    )
                await asyncio.sleep(min(self._o.reconnect_max_seconds, 0.2 * 2 ** min(denied_in_a_row, 8)))
            else:
                await asyncio.sleep(0.05)  # the link is being re-established

    async def _confirmed(self, batch: Batch) -> None:
        await self.store.confirmed(batch)
        self.frames += 1
        self.records += len(batch.objects)
        self.last_confirmed = time.time()

    async def _idle(self) -> None:
        """Wait for records, sending a heartbeat when the link was quiet for ``heartbeat`` seconds."""
        self.feed.queued.clear()
        if await self.store.next_batch() is not None:
            return
        timeout = None
        if self._o.heartbeat:
            timeout = max(0.0, self._last_traffic + self._o.heartbeat - time.monotonic())
        try:
            await asyncio.wait_for(self.feed.queued.wait(), timeout)
        except TimeoutError:
            result = await self.exchange(await self._heartbeat_serial(), b"")
            if result is not None:
                self.heartbeats += 1

    async def _heartbeat_serial(self) -> int:
        return await self.store.assign_serial(Batch(0, (), (), None, 0))
