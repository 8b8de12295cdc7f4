"""HJ 212-2017 TCP server: validates framing, length and CRC, answers 9014 / 9011 QnRtn, stores data packets.

The codec here is written independently of park_sync's on purpose: two implementations agreeing on the
standard's vectors is a better check than one implementation agreeing with itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .peers import PeerServer
from .store import CentralStore

_LOGGER = logging.getLogger(__name__)

FRAME_RE = re.compile(rb"^##(\d{4})(.*)([0-9A-Fa-f]{4})\r\n$", re.DOTALL)
DATA_CNS = frozenset({"2011", "2051", "2061", "2031"})
MAX_FRAME = 1024 + 12
# What an MN may hold: never a separator of the data segment, so echoing it in a reply cannot forge fields.
_MN_RE = re.compile(r"[^;=,&\s]{1,64}")


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame(segment: str) -> bytes:
    data = segment.encode("utf-8")
    return b"##%04d" % len(data) + data + b"%04X\r\n" % crc16(data)


@dataclass(slots=True)
class Frame:
    fields: dict[str, str]
    cp: str

    @property
    def qn(self) -> str:
        return self.fields.get("QN", "")

    @property
    def cn(self) -> str:
        return self.fields.get("CN", "")

    @property
    def mn(self) -> str:
        return self.fields.get("MN", "")

    def cp_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.cp.split(";"):
            for pair in item.split(","):
                key, _, value = pair.partition("=")
                if key:
                    out[key] = value
        return out


class FrameError(ValueError):
    def __init__(self, kind: str, qn_rtn: str, message: str, segment: bytes) -> None:
        super().__init__(message)
        self.kind = kind
        self.qn_rtn = qn_rtn
        m_qn = re.search(rb"QN=(\d{17})", segment)
        m_mn = re.search(rb"MN=([^;]+)", segment)
        self.qn = m_qn.group(1).decode() if m_qn else None
        mn = m_mn.group(1).decode("utf-8", "replace") if m_mn else "0"
        self.mn = mn if _MN_RE.fullmatch(mn) else "0"


def parse(raw: bytes) -> Frame:
    m = FRAME_RE.match(raw)
    if m is None:
        raise FrameError("frame", "2", "not ##dddd<data><crc>\\r\\n", raw)
    segment = m.group(2)
    if int(m.group(1)) != len(segment):
        raise FrameError("length", "2", f"declared {int(m.group(1))} bytes, got {len(segment)}", segment)
    if int(m.group(3), 16) != crc16(segment):
        raise FrameError("crc", "9", f"CRC {m.group(3).decode()} != {crc16(segment):04X}", segment)
    text = segment.decode("utf-8", "replace")
    head, sep, rest = text.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise FrameError("cp", "2", "missing CP=&&...&&", segment)
    fields = dict(p.partition("=")[::2] for p in head.split(";") if p)
    if not re.fullmatch(r"[0-9]{17}", fields.get("QN", "")):
        raise FrameError("qn", "7", "bad QN", segment)
    # ASCII digits only: int() raised on "abc" (dropping the connection unanswered) and took "٥" as 5.
    flag = fields.get("Flag", "")
    if not re.fullmatch(r"[0-9]{1,3}", flag):
        raise FrameError("flag", "6", "Flag missing or not a number", segment)
    if int(flag) >> 2 != 1:
        raise FrameError("flag", "6", "Flag version bits are not 2017", segment)
    for name, kind, code in (("ST", "st", "5"), ("CN", "cn", "8"), ("MN", "mn", "4"), ("PW", "pw", "3")):
        if not fields.get(name):
            raise FrameError(kind, code, f"{name} missing", segment)
    if not _MN_RE.fullmatch(fields["MN"]):
        raise FrameError("mn", "4", "MN has separator or control characters", segment)
    return Frame(fields, rest[:-2])


def _qn_now() -> str:
    now = datetime.now()  # noqa: DTZ005 - HJ 212 uses station local time
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


@dataclass(slots=True)
class Station:
    mn: str
    writer: asyncio.StreamWriter | None = None
    last_seen: float = 0.0
    # Collectors for platform-initiated exchanges, keyed by request QN.
    exchanges: dict[str, asyncio.Queue[Frame]] = field(default_factory=dict)


class HJ212Server(PeerServer):
    stream_limit = MAX_FRAME * 4

    def __init__(
        self,
        storage: CentralStore,
        passwords: dict[str, str] | None = None,
        pw: str = "123456",
        idle_timeout: float = 900.0,
    ) -> None:
        super().__init__()
        self._storage = storage
        # A connection that sends nothing for this long is closed: half-open TCP sessions (a station that lost
        # power) and idle probes must not hold a slot forever. Stations send at least every few minutes.
        self.idle_timeout = idle_timeout
        self._passwords = passwords or {}  # MN -> PW; empty accepts every station
        self._pw = pw
        self.stations: dict[str, Station] = {}
        # Test knob: swallow the next N data packets without answering, to exercise retransmission.
        self.drop_replies = 0

    def _writers(self) -> Iterable[asyncio.StreamWriter | None]:
        return (station.writer for station in self.stations.values())

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"mn": s.mn, "connected": s.writer is not None, "last_seen": s.last_seen}
            for s in self.stations.values()
        ]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        station: Station | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        raw = await reader.readuntil(b"\r\n")
                except TimeoutError:
                    await self._storage.bump("hj212_idle_closed")
                    _LOGGER.info("HJ 212 connection idle for %.0f s; closing it", self.idle_timeout)
                    return
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    await self._storage.bump("hj212_rejected_length")
                    return
                try:
                    if len(raw) > MAX_FRAME:
                        raise FrameError("length", "2", f"frame of {len(raw)} bytes is over the limit", raw)
                    pkt = parse(raw)
                except FrameError as err:
                    await self._storage.bump(f"hj212_rejected_{err.kind}")
                    _LOGGER.warning("HJ 212 packet rejected (%s): %s", err.kind, err)
                    if err.qn:
                        await self._send(writer, err.qn, "9011", err.mn, f"QnRtn={err.qn_rtn}")
                    continue
                if station is None or station.mn != pkt.mn:
                    station = self.stations.setdefault(pkt.mn, Station(pkt.mn))
                station.writer = writer
                station.last_seen = time.time()
                await self._dispatch(station, pkt, writer)
        finally:
            if station is not None and station.writer is writer:
                station.writer = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._conn_tasks.discard(task)

    async def _dispatch(self, station: Station, pkt: Frame, writer: asyncio.StreamWriter) -> None:
        expected_pw = self._passwords.get(pkt.mn)
        if self._passwords and expected_pw is None:
            await self._storage.bump("hj212_rejected_mn")
            await self._send(writer, pkt.qn, "9011", pkt.mn, "QnRtn=4")
            return
        if expected_pw is not None and pkt.fields.get("PW") != expected_pw:
            await self._storage.bump("hj212_rejected_pw")
            await self._send(writer, pkt.qn, "9011", pkt.mn, "QnRtn=3")
            return
        # Every packet of a platform-initiated exchange goes to its collector (replies and backfilled data).
        for queue in station.exchanges.values():
            queue.put_nowait(pkt)
        if pkt.cn in DATA_CNS:
            data_time = pkt.cp_fields().get("DataTime", "")
            await self._storage.store_hj212(
                pkt.mn, pkt.cn, data_time, pkt.qn, pkt.fields.get("ST", ""), pkt.cp
            )
            if int(pkt.fields["Flag"]) & 1:
                if self.drop_replies > 0:
                    self.drop_replies -= 1
                    return
                await self._send(writer, pkt.qn, "9014", pkt.mn, "")

    async def _send(self, writer: asyncio.StreamWriter, qn: str, cn: str, mn: str, cp: str) -> None:
        writer.write(frame(f"QN={qn};ST=91;CN={cn};PW={self._pw};MN={mn};Flag=4;CP=&&{cp}&&"))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def request(self, mn: str, cn: str, cp: str, timeout: float = 10.0, st: str = "22") -> list[Frame]:
        """Send a platform command (1000, 1011, 2051 backfill...) and collect all up to the 9012 result."""
        station = self.stations.get(mn)
        if station is None or station.writer is None:
            raise ConnectionError(f"station {mn} is not connected")
        qn = _qn_now()
        queue: asyncio.Queue[Frame] = asyncio.Queue()
        station.exchanges[qn] = queue
        got: list[Frame] = []
        try:
            pw = self._passwords.get(mn, self._pw)
            station.writer.write(frame(f"QN={qn};ST={st};CN={cn};PW={pw};MN={mn};Flag=5;CP=&&{cp}&&"))
            await station.writer.drain()
            async with asyncio.timeout(timeout):
                while True:
                    pkt = await queue.get()
                    got.append(pkt)
                    if pkt.qn == qn and pkt.cn == "9012":
                        return got
                    if pkt.qn == qn and pkt.cn == "9011" and pkt.cp_fields().get("QnRtn") != "1":
                        return got
        finally:
            station.exchanges.pop(qn, None)
