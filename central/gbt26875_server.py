"""Reference fire remote monitoring centre (监控中心) for GB/T 26875.3-2011: a TCP server the parks' user
information transmission devices connect to.

Each 发送数据 is checked (frame, checksum, data unit) and its records stored per device before the confirm
(确认) goes back, so a confirm means the records are on disk; a bad frame or unit is denied (否认) and
counted by kind. An empty 发送数据 (heartbeat) is confirmed. A record sent again under the same serial (a
device that did not see the confirm) is counted as a duplicate and stored once. The centre can also send a
connected device its reads (61-68, 81-88), initialise (89), clock sync (90) and roll-call (91): ``command``,
and over HTTP (``add_routes``) for tests and the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from . import gbt26875 as codec
from .peers import PeerServer
from .store import CentralStore

_LOGGER = logging.getLogger(__name__)
CENTRE_ADDRESS = 0x000000015B38  # the address in the standard's examples
READS = frozenset({61, 62, 63, 64, 65, 66, 67, 68, 81, 84, 85, 86, 88})
CONTROLS = frozenset({89, 90, 91})
_NAMES = {codec.CONFIRM: "confirm", codec.RESPONSE: "response", codec.DENY: "deny"}


def _now() -> datetime:
    return datetime.now()  # noqa: DTZ005 - GB/T 26875.3 time labels are local time


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


@dataclass(slots=True)
class Device:
    address: int
    writer: asyncio.StreamWriter | None = None
    last_seen: float = 0.0
    waiting: dict[int, asyncio.Future[codec.Packet]] = field(default_factory=dict)


class GBT26875Server(PeerServer):
    def __init__(
        self, storage: CentralStore, address: int = CENTRE_ADDRESS, idle_timeout: float = 900.0
    ) -> None:
        super().__init__()
        self.storage = storage
        self.address = address
        # A device sends at least a heartbeat every 20-30 s: a connection silent this long is dead.
        self.idle_timeout = idle_timeout
        self.devices: dict[int, Device] = {}
        self._serial = 0
        # Test knobs: swallow the next N uploads unanswered / deny the next N uploads / wait after storing
        # before confirming (a confirm still on its way when the device dies).
        self.drop_confirms = 0
        self.deny_uploads = 0
        self.confirm_delay = 0.0

    def _writers(self) -> Iterable[asyncio.StreamWriter | None]:
        return (device.writer for device in self.devices.values())

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"address": f"{d.address:012X}", "connected": d.writer is not None, "last_seen": d.last_seen}
            for d in self.devices.values()
        ]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        splitter = codec.Splitter()
        device: Device | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        chunk = await reader.read(4096)
                except TimeoutError:
                    await self.storage.bump("gbt26875_idle_closed")
                    return
                except ConnectionError:
                    return
                if not chunk:
                    return
                for item in splitter.push(chunk):
                    if isinstance(item, codec.FrameError):
                        await self._refuse(writer, item)
                        continue
                    if device is None or device.address != item.source:
                        device = self.devices.setdefault(item.source, Device(item.source))
                    device.writer = writer
                    device.last_seen = time.time()
                    await self._dispatch(device, item, writer)
        finally:
            if device is not None and device.writer is writer:
                device.writer = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._conn_tasks.discard(task)

    async def _refuse(self, writer: asyncio.StreamWriter, err: codec.FrameError) -> None:
        await self.storage.bump(f"gbt26875_rejected_{err.kind}")
        _LOGGER.warning("GB/T 26875.3 frame rejected (%s): %s", err.kind, err)
        if err.serial is not None and err.source is not None:
            deny = codec.Packet(err.serial, _now(), self.address, err.source, codec.DENY)
            await self._send(writer, deny)

    async def _dispatch(self, device: Device, pkt: codec.Packet, writer: asyncio.StreamWriter) -> None:
        if pkt.command in (codec.CONFIRM, codec.RESPONSE, codec.DENY):
            fut = device.waiting.get(pkt.serial)
            if fut is not None and not fut.done():
                fut.set_result(pkt)
            return
        if pkt.command != codec.SEND:
            await self.storage.bump("gbt26875_rejected_command")  # a device does not read the centre
            await self._send(writer, pkt.reply(codec.DENY, _now()))
            return
        if not pkt.unit:
            await self.storage.bump("gbt26875_heartbeats")
            await self._send(writer, pkt.reply(codec.CONFIRM, _now()))
            return
        try:
            type_flag, records = codec.decode_records(pkt.unit)
        except codec.FrameError as err:
            await self.storage.bump(f"gbt26875_rejected_{err.kind}")
            _LOGGER.warning("GB/T 26875.3 data unit rejected (%s): %s", err.kind, err)
            await self._send(writer, pkt.reply(codec.DENY, _now()))
            return
        if self.deny_uploads > 0:
            self.deny_uploads -= 1
            await self._send(writer, pkt.reply(codec.DENY, _now()))
            return
        rows = [json.dumps(_jsonable(r), ensure_ascii=False, sort_keys=True) for r in records]
        await self.storage.store_gbt26875(f"{device.address:012X}", pkt.serial, type_flag, rows)
        if self.drop_confirms > 0:
            self.drop_confirms -= 1
            return
        if self.confirm_delay:
            await asyncio.sleep(self.confirm_delay)
        await self._send(writer, pkt.reply(codec.CONFIRM, _now()))

    async def _send(self, writer: asyncio.StreamWriter, pkt: codec.Packet) -> None:
        writer.write(pkt.encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def command(
        self, address: int, type_flag: int, records: list[dict[str, Any]], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send a read (as 请求) or initialise / clock sync / roll-call (as 控制命令) to a connected device;
        its answer: ``{"command": "response"|"confirm"|"deny", "type": t, "records": [...]}``."""
        device = self.devices.get(address)
        if device is None or device.writer is None:
            raise ConnectionError(f"device {address:012X} is not connected")
        command = codec.CONTROL if type_flag in CONTROLS else codec.REQUEST
        self._serial = self._serial % 0xFFFF + 1
        serial = self._serial
        unit = codec.encode_records(type_flag, records)
        fut: asyncio.Future[codec.Packet] = asyncio.get_running_loop().create_future()
        device.waiting[serial] = fut
        try:
            await self._send(
                device.writer, codec.Packet(serial, _now(), self.address, address, command, unit)
            )
            answer = await asyncio.wait_for(fut, timeout)
        finally:
            device.waiting.pop(serial, None)
        out: dict[str, Any] = {"command": _NAMES.get(answer.command, str(answer.command)), "serial": serial}
        if answer.unit:
            out["type"], found = codec.decode_records(answer.unit)
            out["records"] = [_jsonable(r) for r in found]
        return out


# --- HTTP: records and commands, behind the ingest token --------------------------------------------------
SERVER_KEY: web.AppKey[GBT26875Server] = web.AppKey("gbt26875_server")
TOKEN_KEY: web.AppKey[str] = web.AppKey("gbt26875_token")
_TIME_FIELDS = ("time", "since")


def _authorised(request: web.Request) -> bool:
    got = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(got, f"Bearer {request.app[TOKEN_KEY]}".encode())


def _error(status: int, field: str, message: str) -> web.Response:
    return web.json_response({"error": message, "field": field}, status=status)


async def list_records(request: web.Request) -> web.Response:
    """``GET /api/v1/gbt26875/records?device=<12 hex>&type=<n>&limit=<n>&after=<seq>``, oldest first."""
    if not _authorised(request):
        return _error(401, "Authorization", "missing or wrong bearer token")
    query = request.query
    try:
        type_flag = int(query["type"]) if "type" in query else None
        limit = int(query.get("limit", "1000"))
        after = int(query.get("after", "0"))
        if not 1 <= limit <= 100_000:
            raise ValueError
    except ValueError:
        return _error(400, "type/limit/after", "must be integers (limit 1-100000)")
    rows = await request.app[SERVER_KEY].storage.gbt26875_rows(query.get("device"), type_flag, limit, after)
    return web.json_response(rows)


async def send_command(request: web.Request) -> web.Response:
    """``POST /api/v1/gbt26875/devices/{address}/commands`` with ``{"type": 81, "records": [{...}]}``
    (``time``/``since`` as ISO local times; ``records`` default: one reserved byte); the device's answer."""
    if not _authorised(request):
        return _error(401, "Authorization", "missing or wrong bearer token")
    try:
        address = int(request.match_info["address"], 16)
        doc = await request.json()
        type_flag = int(doc["type"])
        records = doc.get("records") or [{"reserved": 0}]
        for record in records:
            for key in _TIME_FIELDS:
                if key in record:
                    record[key] = datetime.fromisoformat(record[key])
        timeout = float(doc.get("timeout", 10.0))
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        return _error(400, "body", f"expected {{type, records?}} with ISO times: {err}")
    if type_flag not in READS | CONTROLS:
        return _error(400, "type", f"must be one of {sorted(READS | CONTROLS)}")
    try:
        answer = await request.app[SERVER_KEY].command(address, type_flag, records, timeout)
    except ConnectionError as err:
        return _error(404, "address", str(err))
    except codec.FrameError as err:
        return _error(400, "records", str(err))
    except TimeoutError:
        return _error(504, "address", "no answer from the device")
    return web.json_response(answer)


def add_routes(app: web.Application, server: GBT26875Server, token: str) -> None:
    app[SERVER_KEY] = server
    app[TOKEN_KEY] = token
    app.router.add_get("/api/v1/gbt26875/records", list_records)
    app.router.add_post("/api/v1/gbt26875/devices/{address}/commands", send_command)
