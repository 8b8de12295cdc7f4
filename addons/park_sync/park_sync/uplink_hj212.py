"""HJ 212-2017 station client for the air-quality station: 2011/2051/2061 uploads, replies, platform commands.

Minute and hourly aggregates are written to the outbox database first (``hj212_store``, ``sent=0``) and marked
sent only on the platform's 9014, so a dead link or a restart loses nothing; the same table serves backfill
requests. Real-time 2011 packets are not queued: a stale real-time value is noise, the minute data carries the
record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import hj212
from .config import HJ212Options
from .hj212_cp import realtime_cp, window_cp
from .hj212_store import HJ212Store, Pending
from .outbox import Outbox
from .peer_link import close_session

_LOGGER = logging.getLogger(__name__)
_FAULT_STATES = frozenset({"unavailable", "unknown", ""})


class HJ212Uplink:
    def __init__(self, options: HJ212Options, outbox: Outbox) -> None:
        self._o = options
        self._outbox = outbox
        self._store = HJ212Store(outbox)
        self._tz = ZoneInfo(options.timezone)
        self._code_of = {eid: code for code, eid in options.pollutants.items()}
        self.timeout = options.timeout
        self.retries = options.retries
        self._latest: dict[str, tuple[float | None, str]] = {}
        self._samples: list[tuple[str, float, float]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._connected = asyncio.Event()
        self._history_added = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_qn = ""
        self.sent = 0
        self.retransmissions = 0
        self.failed = 0
        self.realtime_skipped = 0
        self.commands = 0
        self.last_error: str | None = None

    # --- inputs ---------------------------------------------------------------------------------------------
    def observe(self, state: dict[str, Any]) -> None:
        """Feed an HA state; only mapped pollutant entities matter."""
        code = self._code_of.get(str(state.get("entity_id")))
        if code is None:
            return
        raw = str(state.get("state", ""))
        try:
            value: float | None = None if raw in _FAULT_STATES else float(raw)
        except ValueError:
            value = None
        self._latest[code] = (value, "N" if value is not None else "D")
        if value is not None:
            self._samples.append((code, time.time(), value))

    def status(self) -> dict[str, Any]:
        return {
            "connected": self._connected.is_set(),
            "timeout": self.timeout,
            "retries": self.retries,
            "sent": self.sent,
            "retransmissions": self.retransmissions,
            "failed": self.failed,
            "realtime_skipped": self.realtime_skipped,
            "commands": self.commands,
            "last_error": self.last_error,
        }

    # --- time helpers ---------------------------------------------------------------------------------------
    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self._tz).replace(tzinfo=None)

    def _qn(self) -> str:
        # QNs must be unique per exchange even when two packets go out in the same millisecond.
        qn = hj212.make_qn(self.local(time.time()))
        while qn <= self._last_qn:
            qn = str(int(self._last_qn) + 1)
        self._last_qn = qn
        return qn

    def packet(
        self,
        cn: str,
        cp: str,
        *,
        reply: bool = True,
        qn: str | None = None,
        st: str | None = None,
    ) -> hj212.Packet:
        return hj212.Packet(
            qn=qn or self._qn(),
            st=st or self._o.st,
            cn=cn,
            pw=self._o.pw,
            mn=self._o.mn,
            flag=hj212.make_flag(reply),
            cp=cp,
        )

    # --- aggregation and history ----------------------------------------------------------------------------
    async def flush_samples(self) -> None:
        samples, self._samples = self._samples, []
        if samples:
            await self._store.add_samples(samples)

    async def aggregate_cp(self, start: float, end: float) -> str | None:
        """CP with Avg/Min/Max/Flag per pollutant over [start, end); None when no sample at all."""
        await self.flush_samples()
        rows = await self._store.aggregate(start, end)
        if not rows:
            return None
        return window_cp(hj212.format_time(self.local(start)), rows, self._o.pollutants)

    async def close_window(self, cn: str, start: float, end: float) -> bool:
        """Aggregate one window into the history table (pending until the platform answers 9014)."""
        cp = await self.aggregate_cp(start, end)
        if cp is None:
            return False
        await self.add_history(cn, hj212.format_time(self.local(start)), cp)
        return True

    async def add_history(self, cn: str, data_time: str, cp: str) -> None:
        await self._store.add_history(cn, data_time, cp)
        self._history_added.set()

    async def pending_history(self, limit: int = 50) -> list[Pending]:
        return await self._store.pending(limit)

    def realtime_cp(self) -> str | None:
        if not self._latest:
            return None
        return realtime_cp(hj212.format_time(self.local(time.time())), self._latest)

    # --- link -----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        stored = await self._outbox.meta_get("hj212_overtime_recount")
        if stored:
            overtime, recount = stored.split(",")
            self.timeout, self.retries = float(overtime), int(recount)
        try:
            await asyncio.gather(self._connection_loop(), self._schedule_loop(), self._history_loop())
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection_loop(self) -> None:
        failures = 0
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self._o.host, self._o.port, limit=64 * 1024), 15
                )
            except (OSError, TimeoutError) as err:
                if failures == 0:
                    self._link_down(f"cannot connect to {self._o.host}:{self._o.port}: {err}")
                failures += 1
                await asyncio.sleep(min(60.0, 1.0 * 2 ** min(failures, 6)))
                continue
            self._reader, self._writer = reader, writer
            failures = 0
            self.last_error = None
            self._connected.set()
            _LOGGER.info("HJ 212 link up (%s:%s, MN %s)", self._o.host, self._o.port, self._o.mn)
            try:
                await self._read_loop(reader)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as err:
                self._link_down(f"connection lost: {type(err).__name__}")
            finally:
                self._connected.clear()
                self._writer = None
                await close_session(writer, self._waiters)
            await asyncio.sleep(1.0)

    def _link_down(self, reason: str) -> None:
        self.last_error = reason
        _LOGGER.warning("HJ 212 link DOWN: %s; minute/hourly data kept for resend", reason)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await hj212.read_frame(reader)
                pkt = hj212.decode(raw)
            except asyncio.LimitOverrunError:
                raise ConnectionError("oversized frame from platform") from None
            except hj212.HJ212Error as err:
                _LOGGER.warning("HJ 212 packet from platform rejected: %s", err)
                if err.qn:
                    bad = hj212.Packet(
                        qn=err.qn,
                        st=hj212.ST_SYSTEM,
                        cn=hj212.CN_REQUEST_REPLY,
                        pw=self._o.pw,
                        mn=self._o.mn,
                        flag=hj212.make_flag(False),
                        cp=f"QnRtn={err.qn_rtn}",
                    )
                    await self._write(bad)
                continue
            if pkt.cn == hj212.CN_DATA_REPLY:
                fut = self._waiters.get(pkt.qn)
                if fut is not None and not fut.done():
                    fut.set_result(None)
            elif pkt.cn in (hj212.CN_REQUEST_REPLY, hj212.CN_EXEC_RESULT, hj212.CN_NOTIFY_REPLY):
                continue
            else:
                task = asyncio.create_task(self.handle_command(pkt))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _write(self, pkt: hj212.Packet) -> None:
        writer = self._writer
        if writer is None:
            raise ConnectionError("HJ 212 link is down")
        async with self._write_lock:
            writer.write(pkt.encode())
            await writer.drain()

    async def send_and_wait(self, pkt: hj212.Packet) -> bool:
        """Send, wait for 9014, resend on timeout ``retries`` times; after that the link counts as down."""
        for attempt in range(1 + self.retries):
            if not self._connected.is_set():
                return False
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters[pkt.qn] = fut
            try:
                await self._write(pkt)
                await asyncio.wait_for(fut, self.timeout)
                self.sent += 1
                return True
            except TimeoutError:
                if attempt < self.retries:
                    self.retransmissions += 1
                    _LOGGER.debug("HJ 212 QN %s: no 9014 within %.1fs, resending", pkt.qn, self.timeout)
            except (ConnectionError, OSError):
                return False
            finally:
                self._waiters.pop(pkt.qn, None)
        self.failed += 1
        self._link_down(f"no 9014 for QN {pkt.qn} after {1 + self.retries} tries")
        if self._writer is not None:
            self._writer.close()  # the read loop ends and the connection loop reconnects
        return False

    async def _history_loop(self) -> None:
        while True:
            await self._connected.wait()
            rows = await self.pending_history()
            if not rows:
                self._history_added.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._history_added.wait(), 5)
                continue
            for cn, data_time, cp in rows:
                if await self.send_and_wait(self.packet(cn, cp)):
                    await self._store.mark_sent(cn, data_time)
                else:
                    await asyncio.sleep(1.0)
                    break

    async def _schedule_loop(self) -> None:
        interval = self._o.minute_interval * 60
        now = time.time()
        next_rt = now + self._o.realtime_seconds
        next_min = (now // interval + 1) * interval
        next_hour = (now // 3600 + 1) * 3600
        next_prune = now + 3600
        while True:
            await asyncio.sleep(min(1.0, self._o.realtime_seconds))
            now = time.time()
            await self.flush_samples()
            if now >= next_rt:
                next_rt = now + self._o.realtime_seconds
                cp = self.realtime_cp()
                if cp is not None and self._connected.is_set():
                    task = asyncio.create_task(self.send_and_wait(self.packet(hj212.CN_REALTIME, cp)))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                elif cp is not None:
                    self.realtime_skipped += 1
            if now >= next_min:
                await self.close_window(hj212.CN_MINUTE, next_min - interval, next_min)
                next_min += interval
            if now >= next_hour:
                await self.close_window(hj212.CN_HOURLY, next_hour - 3600, next_hour)
                next_hour += 3600
            if now >= next_prune:
                await self._store.prune(time.time() - self._o.history_days * 86400)
                next_prune = now + 3600

    # --- platform commands ----------------------------------------------------------------------------------
    def _reply(self, req: hj212.Packet, cn: str, cp: str) -> hj212.Packet:
        return hj212.Packet(
            qn=req.qn,
            st=hj212.ST_SYSTEM,
            cn=cn,
            pw=self._o.pw,
            mn=self._o.mn,
            flag=hj212.make_flag(False),
            cp=cp,
        )

    async def handle_command(self, req: hj212.Packet) -> None:
        """Runs as its own task: every failure is answered and logged here, never left to the event loop."""
        self.commands += 1
        try:
            try:
                await self._handle_command(req)
            except hj212.HJ212Error as err:
                # A malformed command (e.g. a CP item without "="): the platform gets a refusal, not silence.
                _LOGGER.warning("HJ 212 command %s (QN %s) rejected: %s", req.cn, req.qn, err)
                await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={err.qn_rtn}"))
            except (ConnectionError, OSError):
                raise
            except Exception:
                _LOGGER.exception("HJ 212 command %s (QN %s) failed", req.cn, req.qn)
                await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_REJECTED}"))
        except (ConnectionError, OSError) as err:
            _LOGGER.warning("HJ 212 command %s (QN %s) not completed: %s", req.cn, req.qn, err)

    async def _handle_command(self, req: hj212.Packet) -> None:
        if req.mn != self._o.mn:
            await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_MN_ERROR}"))
            return
        if req.pw != self._o.pw:
            await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_PW_ERROR}"))
            return
        cp = req.cp_fields()
        ready = self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_READY}")
        if req.cn == hj212.CN_SET_TIMEOUT:
            try:
                overtime, recount = int(cp["OverTime"]), int(cp["ReCount"])
                if not (1 <= overtime <= 600 and 0 <= recount <= 20):
                    raise ValueError
            except (KeyError, ValueError):
                _LOGGER.warning("HJ 212 1000 command rejected: OverTime 1-600 and ReCount 0-20 required")
                await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_REJECTED}"))
                return
            await self._write(ready)
            self.timeout, self.retries = float(overtime), recount
            await self._outbox.meta_set("hj212_overtime_recount", f"{overtime},{recount}")
            _LOGGER.info("HJ 212 platform set reply timeout %d s, %d retries", overtime, recount)
            await self._write(self._reply(req, hj212.CN_EXEC_RESULT, f"ExeRtn={hj212.EXE_OK}"))
        elif req.cn == hj212.CN_GET_TIME:
            await self._write(ready)
            now = hj212.format_time(self.local(time.time()))
            await self._write(self.packet(hj212.CN_GET_TIME, f"SystemTime={now}", reply=False, qn=req.qn))
            await self._write(self._reply(req, hj212.CN_EXEC_RESULT, f"ExeRtn={hj212.EXE_OK}"))
        elif req.cn == hj212.CN_SET_TIME:
            # The station clock is the HA host's NTP-disciplined clock; it is not set from the platform.
            await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_REJECTED}"))
        elif req.cn in (hj212.CN_MINUTE, hj212.CN_HOURLY, hj212.CN_DAILY):
            begin, end = cp.get("BeginTime", ""), cp.get("EndTime", "")
            try:
                hj212.parse_time(begin, "BeginTime")
                hj212.parse_time(end, "EndTime")
            except hj212.HJ212Error as err:
                _LOGGER.warning("HJ 212 backfill request rejected: %s", err)
                await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_REJECTED}"))
                return
            await self._write(ready)
            rows = await self._store.history(req.cn, begin, end)
            for row_cp in rows:
                # Backfill packets carry the request's QN; the 9012 below closes the exchange.
                await self._write(self.packet(req.cn, row_cp, reply=False, qn=req.qn))
            exe = hj212.EXE_OK if rows else hj212.EXE_NO_DATA
            await self._write(self._reply(req, hj212.CN_EXEC_RESULT, f"ExeRtn={exe}"))
        else:
            await self._write(self._reply(req, hj212.CN_REQUEST_REPLY, f"QnRtn={hj212.QN_CN_ERROR}"))
