"""The audio side of simulated broadcast controllers: an HTTP API per controller, real URL fetches, playback.

With ``http_audio`` each broadcast controller serves its own small HTTP API on an ephemeral port of the
simulator's host and publishes that port in its ``http_port`` input register. The integration hands it an
audio URL with ``PUT /audio`` (the answer is a ticket), then writes ``message_slot`` = ticket and
``command`` = 2 over Modbus. The controller then really fetches the URL over HTTP (status, size and content
type are recorded in :attr:`AudioSide.fetches`) and "plays" for :attr:`AudioSide.seconds` per repeat, after
which ``play_state`` returns to idle. Presets (command 1) play for the same simulated time; repeat 0 plays
until stopped. The protocol is documented in ``docs/broadcast-protocol.md``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

import aiohttp
from aiohttp import web

from .image import DeviceImage

if TYPE_CHECKING:
    from .server import ParkSimulator

_LOGGER = logging.getLogger(__name__)

DEVICE_TYPE: Final = "broadcast_controller"
STOP, PRESET, URL = 0, 1, 2
IDLE, PLAYING_PRESET, PLAYING_URL = 0, 1, 2
# fetch_status codes below 100 (anything else is the HTTP status of the last fetch).
FETCH_NONE, FETCH_UNKNOWN_TICKET, FETCH_CONNECTION_FAILED = 0, 1, 2
MAX_URL_LENGTH: Final = 2048
MAX_AUDIO_BYTES: Final = 32 * 1024 * 1024
FETCH_TIMEOUT: Final = 10.0
# A controller takes a moment between the play command and the fetch (as a real one's player starts up).
FETCH_LATENCY: Final = 0.05
DEFAULT_PLAY_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class AudioFetch:
    """One fetch of an audio URL by a controller."""

    ts: float
    device_id: str
    ticket: int
    url: str
    status: int | None  # HTTP status; None when the connection failed
    bytes: int
    content_type: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the audio arrived."""
        return self.status is not None and 200 <= self.status < 300 and self.bytes > 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class ControllerAudio:
    """One controller's HTTP API, its URL tickets and its player."""

    def __init__(self, side: AudioSide, image: DeviceImage) -> None:
        self.side = side
        self.image = image
        self.device_id = image.device.id
        self.tickets: dict[int, str] = {}
        self._ticket_numbers = itertools.cycle(range(1, 0x10000))
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._end: asyncio.TimerHandle | None = None
        self._fetch: asyncio.Task[None] | None = None
        # Bumped by every command: a fetch or a timer of an older command must not touch the state.
        self._generation = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # --- HTTP API -------------------------------------------------------------------------------------

    async def start(self, host: str) -> None:
        """Serve the API on an ephemeral port and publish it in ``http_port``."""
        app = web.Application()
        app.add_routes([web.put("/audio", self._put_audio), web.get("/audio/{ticket}", self._get_audio)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._set("http_port", self.port)

    async def stop(self) -> None:
        """Stop playing and serving."""
        self._cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _put_audio(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body is not valid JSON", "field": "body"}, status=400)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return web.json_response({"error": "url must be an http(s) URL", "field": "url"}, status=400)
        if len(url) > MAX_URL_LENGTH:
            return web.json_response({"error": "url is too long", "field": "url"}, status=400)
        ticket = next(self._ticket_numbers)
        self.tickets[ticket] = url
        return web.json_response({"ticket": ticket}, status=201)

    async def _get_audio(self, request: web.Request) -> web.Response:
        try:
            ticket = int(request.match_info["ticket"])
        except ValueError:
            return web.json_response({"error": "ticket must be a number", "field": "ticket"}, status=400)
        if ticket not in self.tickets:
            return web.json_response({"error": f"no ticket {ticket}", "field": "ticket"}, status=404)
        fetches = [
            f.as_dict() for f in self.side.fetches if f.device_id == self.device_id and f.ticket == ticket
        ]
        return web.json_response({"ticket": ticket, "url": self.tickets[ticket], "fetches": fetches})

    # --- player ---------------------------------------------------------------------------------------

    def _set(self, key: str, value: int) -> None:
        if key in self.image.points:
            self.image.set_raw(self.image.point(key), value)

    def _raw(self, key: str) -> int:
        return int(self.image.get_raw(self.image.point(key))) if key in self.image.points else 0

    def _cancel(self) -> None:
        self._generation += 1
        if self._end is not None:
            self._end.cancel()
            self._end = None
        if self._fetch is not None:
            self._fetch.cancel()
            self._fetch = None

    def command(self, command: int, zone_mask: int, slot: int, repeat: int) -> str | None:
        """Carry out a command written over Modbus; returns the URL a URL command plays."""
        self._cancel()
        if command == PRESET and zone_mask:
            self._show(PLAYING_PRESET, slot, zone_mask)
            self._schedule_end(repeat)
            return None
        if command == URL and zone_mask:
            url = self.tickets.get(slot)
            # Playing from now on: the controller reports what it was told while it fetches.
            self._show(PLAYING_URL, slot, zone_mask)
            self._set("fetch_status", FETCH_NONE)
            self._fetch = asyncio.get_running_loop().create_task(
                self._fetch_and_play(self._generation, slot, url, repeat),
                name=f"simulator audio fetch {self.device_id}",
            )
            return url
        self._show(IDLE, self._raw("current_message"), 0)
        return None

    def zones_changed(self, zone_mask: int) -> None:
        """``zone_mask`` written on its own while playing: zones join or leave the running message."""
        if self._raw("play_state") == IDLE:
            return
        if zone_mask:
            self._set("active_zones", zone_mask)
        else:
            self._cancel()
            self._show(IDLE, self._raw("current_message"), 0)

    def _show(self, state: int, message: int, zones: int) -> None:
        (self._idle.set if state == IDLE else self._idle.clear)()
        self._set("play_state", state)
        self._set("current_message", message)
        self._set("active_zones", zones)

    def _schedule_end(self, repeat: int) -> None:
        if repeat == 0:
            return  # until stopped
        generation = self._generation
        self._end = asyncio.get_running_loop().call_later(
            self.side.seconds * repeat, self._finished, generation
        )

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until the controller reports idle."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def finish(self) -> None:
        """End the current message now."""
        self._cancel()
        self._show(IDLE, self._raw("current_message"), 0)

    def _finished(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._end = None
        self._show(IDLE, self._raw("current_message"), 0)

    async def _fetch_and_play(self, generation: int, ticket: int, url: str | None, repeat: int) -> None:
        await asyncio.sleep(FETCH_LATENCY)
        if url is None:
            self._set("fetch_status", FETCH_UNKNOWN_TICKET)
            self._show(IDLE, ticket, 0)
            return
        fetch = await self.side.fetch(self.device_id, ticket, url)
        if generation != self._generation:
            return
        self._fetch = None
        self._set("fetch_status", fetch.status if fetch.status is not None else FETCH_CONNECTION_FAILED)
        if not fetch.ok:
            self._show(IDLE, ticket, 0)
            return
        self._schedule_end(repeat)


class AudioSide:
    """Every broadcast controller's audio side, and the fetches they made."""

    def __init__(self, sim: ParkSimulator, seconds: float = DEFAULT_PLAY_SECONDS) -> None:
        self.sim = sim
        # Simulated play time of one repeat of any message (short in tests).
        self.seconds = seconds
        self.fetches: list[AudioFetch] = []
        self.controllers: dict[str, ControllerAudio] = {
            device_id: ControllerAudio(self, image)
            for device_id, image in sim.images.items()
            if image.device.device_type.type == DEVICE_TYPE
        }
        self._session: aiohttp.ClientSession | None = None
        self._fetched = asyncio.Event()

    async def start(self, host: str) -> None:
        """Serve every controller's HTTP API."""
        for controller in self.controllers.values():
            await controller.start(host)

    async def stop(self) -> None:
        """Stop every player and HTTP API; close the fetching session."""
        for controller in self.controllers.values():
            await controller.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, device_id: str, ticket: int, url: str) -> AudioFetch:
        """GET ``url`` as the controller would, and record the outcome."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT))
        status: int | None = None
        size = 0
        content_type: str | None = None
        error: str | None = None
        try:
            async with self._session.get(url) as response:
                status = response.status
                content_type = response.headers.get("Content-Type")
                async for chunk in response.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > MAX_AUDIO_BYTES:
                        error = "audio too large"
                        break
        except (aiohttp.ClientError, TimeoutError) as err:
            error = str(err) or type(err).__name__
        record = AudioFetch(time.time(), device_id, ticket, url, status, size, content_type, error)
        _LOGGER.debug("Controller %s fetched %s: %s", device_id, url, record)
        self.fetches.append(record)
        self._fetched.set()
        self._fetched = asyncio.Event()
        return record

    async def wait_for_fetch(self, after: int = 0, timeout: float = 5.0) -> AudioFetch:
        """The first fetch from index ``after`` of :attr:`fetches`; waits for one."""

        async def scan() -> AudioFetch:
            while len(self.fetches) <= after:
                await self._fetched.wait()
            return self.fetches[after]

        return await asyncio.wait_for(scan(), timeout)

    def finish(self, device_id: str) -> None:
        """End the current message of a controller now, as if it had played to its end."""
        self.controllers[device_id].finish()
