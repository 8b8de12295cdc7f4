"""A fake Home Assistant companion-app phone that speaks HA's real mobile_app protocol over loopback.

For tests, the demo and benchmarks: it registers like the Android app
(``POST /api/mobile_app/registrations``), receives pushes on its own relay-like HTTP server (the ``push_url``
HA posts to, answering as the relay does) and over the websocket local push channel (confirming each one as
the app does), and answers actionable notifications through its webhook (``fire_event`` of
``mobile_app_notification_action``).

Only aiohttp: no Home Assistant import, so it can drive a separate HA process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import aiohttp
from aiohttp import web

APP_ID = "io.homeassistant.companion.android"
APP_NAME = "Home Assistant"
APP_VERSION = "2026.10.1-full (fake)"
ACTION_EVENT = "mobile_app_notification_action"
PUSH_PATH = "/push"
# What the real relay answers about its daily quota (HA logs it at debug level).
RATE_LIMIT_MAXIMUM = 500

Path = Literal["relay", "local"]


class RelayMode(StrEnum):
    """How the phone's push server (standing in for the relay) answers HA."""

    OK = "ok"  # 201 + rateLimits, as the relay does when the push went out
    ERROR = "error"  # 500 + errorMessage
    RATE_LIMITED = "rate_limited"  # 429 + message
    HANG = "hang"  # never answers (HA gives up after its 10 s timeout)


class PhoneError(Exception):
    """HA refused something the phone asked (registration, websocket auth, subscription)."""


@dataclass
class Notification:
    """One notification the phone received, as HA sent it."""

    path: Path
    body: dict[str, Any]  # the JSON exactly as received (relay: with push_token and registration_info)
    received: float  # time.monotonic() on arrival
    wall: float  # time.time() on arrival
    # Local push with support_confirm: HA's answer to our confirm (None until it arrives, or never sent).
    confirmed: bool | None = None

    @property
    def message(self) -> str | None:
        return self.body.get("message")

    @property
    def title(self) -> str | None:
        return self.body.get("title")

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def confirm_id(self) -> str | None:
        return self.body.get("hass_confirm_id")

    @property
    def actions(self) -> list[str]:
        """The action ids of the notification's buttons (``data.actions[].action``)."""
        actions = self.data.get("actions")
        if not isinstance(actions, list):
            return []
        return [a["action"] for a in actions if isinstance(a, dict) and isinstance(a.get("action"), str)]


@dataclass
class RelayRequest:
    """One POST HA made to the push_url, whatever the phone answered."""

    body: dict[str, Any]
    received: float
    status: int | None  # None: not answered (HANG)


def flatten(body: Mapping[str, Any]) -> dict[str, str]:
    """The notification as the Android app keeps it: a flat string map (FCM data and local push alike).

    The app's websocket handler builds it so: every key of ``data`` as a string, ``actions`` unrolled into
    ``action_<n>_key/title/uri``, plus ``message`` and ``title`` from the root; an action's event carries
    this map plus ``action``.
    """
    flat: dict[str, str] = {}
    data = body.get("data")
    for key, value in (data if isinstance(data, dict) else {}).items():
        if key == "actions" and isinstance(value, list):
            for n, action in enumerate(value, start=1):
                if isinstance(action, dict):
                    for part, name in (("key", "action"), ("title", "title"), ("uri", "uri")):
                        flat[f"action_{n}_{part}"] = _text(action.get(name))
        else:
            flat[key] = _text(value)
    for key in ("message", "title"):
        if key in body:
            flat[key] = _text(body[key])
    return flat


async def fire_action(
    session: aiohttp.ClientSession,
    base_url: str,
    webhook_id: str,
    action: str,
    notification: Mapping[str, Any] | None = None,
    **extra: Any,
) -> int:
    """Send what the app sends when ``action`` is tapped on ``notification`` (its body); returns the status.

    A ``fire_event`` webhook (no token: the webhook id is the secret) of ``mobile_app_notification_action``
    whose data is the notification flattened (see :func:`flatten`), ``extra`` and ``action``.
    """
    event_data: dict[str, Any] = flatten(notification) if notification is not None else {}
    event_data |= {**extra, "action": action}
    body = {"type": "fire_event", "data": {"event_type": ACTION_EVENT, "event_data": event_data}}
    async with session.post(f"{base_url.rstrip('/')}/api/webhook/{webhook_id}", json=body) as resp:
        await resp.read()
        return resp.status


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass
class FakePhone:
    """One phone with the companion app, registered to one HA user.

    ``relay_mode`` can change at any time; ``notifications`` lists what the phone received (both paths, in
    arrival order); ``relay_requests`` every POST to its push_url, failed ones included.
    """

    device_name: str = ""
    manufacturer: str = "Xiaomi"
    model: str = "Redmi Note 13"
    os_version: str = "14"
    relay_mode: RelayMode = RelayMode.OK
    notifications: list[Notification] = field(default_factory=list)
    relay_requests: list[RelayRequest] = field(default_factory=list)
    # Set by register().
    base_url: str = ""
    webhook_id: str = ""
    device_id: str = field(default_factory=lambda: secrets.token_hex(8))  # the app's own id for the phone
    ha_device_id: str | None = None  # the HA device registry id, when the registry listed it
    user_id: str = ""  # the HA user the phone is registered to (the token's user)
    push_url: str | None = None
    push_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Called with each notification as it arrives (after it is in ``notifications``).
    on_notification: Callable[[Notification], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._token = ""
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._subscription = 0
        self._confirm = True
        self._pending_confirms: dict[int, Notification] = {}
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._relay_sent = 0

    def __repr__(self) -> str:  # never the token
        return f"FakePhone({self.device_name!r}, webhook_id={self.webhook_id[:6]}…)"

    # -- registration ---------------------------------------------------------------------------------

    async def register(
        self,
        base_url: str,
        access_token: str,
        *,
        device_name: str,
        relay: bool = True,
        local_push: bool = True,
    ) -> str:
        """Register with HA as the Android app does; returns the webhook id.

        ``relay``: announce a push_url (this phone's own server) and push token; without it the phone is
        reachable only over the local push channel. ``local_push``: announce ``push_websocket_channel``
        (the app does when its persistent connection is on).
        """
        self.device_name = device_name
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._session = aiohttp.ClientSession()
        app_data: dict[str, Any] = {}
        if relay:
            self.push_url = await self._start_push_server()
            app_data |= {"push_url": self.push_url, "push_token": self.push_token}
        if local_push:
            app_data["push_websocket_channel"] = True
        body = {
            "app_id": APP_ID,
            "app_name": APP_NAME,
            "app_version": APP_VERSION,
            "device_name": self.device_name,
            "device_id": self.device_id,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "os_name": "Android",
            "os_version": self.os_version,
            "supports_encryption": False,
            "app_data": app_data,
        }
        async with self._session.post(
            f"{self.base_url}/api/mobile_app/registrations", json=body, headers=self._auth()
        ) as resp:
            if resp.status != 201:
                raise PhoneError(f"registration refused: HTTP {resp.status}")
            answer: dict[str, Any] = await resp.json()
        self.webhook_id = answer["webhook_id"]
        await self._learn_ids()
        return self.webhook_id

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise PhoneError("the phone is not registered")
        return self._session

    async def _learn_ids(self) -> None:
        """The token's user id, and the HA device mobile_app made (identifier ("mobile_app", device_id))."""
        async with self._http().ws_connect(f"{self.base_url}/api/websocket") as ws:
            await self._authenticate(ws)
            await ws.send_json({"id": 1, "type": "auth/current_user"})
            user = (await ws.receive_json()).get("result") or {}
            self.user_id = str(user.get("id", ""))
            await ws.send_json({"id": 2, "type": "config/device_registry/list"})
            devices = (await ws.receive_json()).get("result") or []
        mine = ["mobile_app", self.device_id]
        self.ha_device_id = next((str(d["id"]) for d in devices if mine in d.get("identifiers", [])), None)

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": self._token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise PhoneError("HA refused the phone's access token")

    # -- the relay stand-in ------------------------------------------------------------------------------

    async def _start_push_server(self) -> str:
        app = web.Application()
        app.router.add_post(PUSH_PATH, self._on_push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}{PUSH_PATH}"

    async def _on_push(self, request: web.Request) -> web.StreamResponse:
        received, wall = time.monotonic(), time.time()
        body: dict[str, Any] = await request.json()
        mode = self.relay_mode
        if mode is RelayMode.HANG:
            await self._relay_request(RelayRequest(body, received, None))
            await self._closing.wait()
            return web.json_response({"errorMessage": "phone closed"}, status=503)
        status = {RelayMode.OK: 201, RelayMode.ERROR: 500, RelayMode.RATE_LIMITED: 429}[mode]
        await self._relay_request(RelayRequest(body, received, status))
        if mode is RelayMode.ERROR:
            return web.json_response({"errorMessage": "fake relay failure"}, status=status)
        if mode is RelayMode.RATE_LIMITED:
            return web.json_response({"message": "You have exceeded your daily limit"}, status=status)
        self._relay_sent += 1
        await self._record(Notification("relay", body, received, wall))
        resets = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        limits = {
            "successful": self._relay_sent,
            "errors": 0,
            "maximum": RATE_LIMIT_MAXIMUM,
            "resetsAt": resets.isoformat().replace("+00:00", "Z"),
        }
        return web.json_response({"messageId": secrets.token_hex(8), "rateLimits": limits}, status=status)

    async def _relay_request(self, request: RelayRequest) -> None:
        async with self._changed:
            self.relay_requests.append(request)
            self._changed.notify_all()

    # -- local push over the websocket -------------------------------------------------------------------

    async def connect_local_push(self, *, confirm: bool = True) -> None:
        """Open the websocket local push channel (``support_confirm``), as the app's persistent connection.

        ``confirm=False``: the phone receives but its confirmations never reach HA, which then tears the
        channel down after 10 s and sends that notification (and any other unconfirmed one) by the relay.
        """
        await self.disconnect_local_push()
        self._confirm = confirm
        ws = await self._http().ws_connect(f"{self.base_url}/api/websocket")
        try:
            await self._authenticate(ws)
            self._subscription = next(self._ids)
            await ws.send_json(
                {
                    "id": self._subscription,
                    "type": "mobile_app/push_notification_channel",
                    "webhook_id": self.webhook_id,
                    "support_confirm": True,
                }
            )
            reply = await ws.receive_json()
            if not reply.get("success"):
                raise PhoneError(f"local push channel refused: {reply.get('error')}")
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws), name=f"fake phone {self.device_name}")

    async def disconnect_local_push(self) -> None:
        """Close the channel (HA then sends every unconfirmed notification by the relay at once)."""
        ws, reader, self._ws, self._reader = self._ws, self._reader, None, None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    @property
    def local_push_connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                continue
            decoded = json.loads(frame.data)
            for message in decoded if isinstance(decoded, list) else [decoded]:  # HA may coalesce
                await self._on_ws_message(ws, message)

    async def _on_ws_message(self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> None:
        if message.get("type") == "event" and message.get("id") == self._subscription:
            notification = Notification("local", message["event"], time.monotonic(), time.time())
            confirm_id = notification.confirm_id
            if self._confirm and confirm_id is not None:
                request_id = next(self._ids)
                self._pending_confirms[request_id] = notification
                await ws.send_json(
                    {
                        "id": request_id,
                        "type": "mobile_app/push_notification_confirm",
                        "webhook_id": self.webhook_id,
                        "confirm_id": confirm_id,
                    }
                )
            await self._record(notification)
        elif message.get("type") == "result" and (
            confirmed := self._pending_confirms.pop(message.get("id", -1), None)
        ):
            confirmed.confirmed = bool(message.get("success"))
            async with self._changed:
                self._changed.notify_all()

    # -- what the phone received, and answering ----------------------------------------------------------

    async def _record(self, notification: Notification) -> None:
        async with self._changed:
            self.notifications.append(notification)
            self._changed.notify_all()
        if self.on_notification is not None:
            self.on_notification(notification)

    async def wait_for(
        self, predicate: Callable[[Notification], bool] = lambda n: True, timeout: float = 10.0
    ) -> Notification:
        """The first notification (in arrival order) matching ``predicate``, waiting up to ``timeout``."""

        def first() -> Notification | None:
            return next((n for n in self.notifications if predicate(n)), None)

        return await self.wait_until(first, timeout)

    async def wait_until[T](self, condition: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Wait until ``condition()`` is truthy (checked on every push, confirmation or relay request)."""
        async with asyncio.timeout(timeout), self._changed:
            result = await self._changed.wait_for(condition)
        assert result is not None  # wait_for returns only a truthy result
        return result

    async def answer(self, action: str, *, notification: Notification | None = None, **extra: Any) -> int:
        """Tap ``action`` on a notification, as the app does (see :func:`fire_action`); returns the status.

        ``notification`` defaults to the newest one offering ``action`` (none: the event carries only
        ``action``). ``extra`` adds keys (``reply_text=...`` for a REPLY action).
        """
        if notification is None:
            notification = next((n for n in reversed(self.notifications) if action in n.actions), None)
        body = notification.body if notification is not None else None
        return await fire_action(self._http(), self.base_url, self.webhook_id, action, body, **extra)

    async def close(self) -> None:
        """Disconnect, stop the push server and close the HTTP session."""
        self._closing.set()
        await self.disconnect_local_push()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
