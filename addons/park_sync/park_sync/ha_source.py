"""Home Assistant websocket source: entity states of the selected integrations, incidents, audit, enterprises.

Subscribes first and snapshots second, so nothing falls between; record ids are content-derived, so the
overlap (and every re-snapshot after a reconnect or restart) collapses to the same ids in the outbox and at
the central.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse, urlunparse

import aiohttp

from .config import EntityFilter
from .outbox import Record

_LOGGER = logging.getLogger(__name__)

Sink = Callable[[list[Record]], Awaitable[None]]

# Subscriptions of the smart_park integration that may not exist yet (they land with later issues).
STREAMS: dict[str, str] = {
    "smart_park/incidents/subscribe": "incident",
    "smart_park/audit/subscribe": "audit",
    "smart_park/enterprises/subscribe": "enterprise",
}
# The duty-room screen's sync link (smart_park #13): called after uploads the central acknowledged.
HEARTBEAT_COMMAND = "smart_park/sync/heartbeat"
KEPT_ATTRIBUTES = ("unit_of_measurement", "device_class", "state_class", "friendly_name")
# Personal data (the integration's enterprise USCC, contact name and phone, a volunteer's name in the audit
# log, and the usual aliases): left out of every record unless the operator sets send_personal_data.
PERSONAL_KEYS = frozenset(
    {
        "uscc",
        "contact",
        "contact_name",
        "contact_phone",
        "volunteer_name",
        "phone",
        "mobile",
        "email",
        "id_number",
    }
)


def without_personal(value: Any) -> Any:
    """``value`` with personal keys removed at any depth (removed, not masked: the central gets nothing)."""
    if isinstance(value, dict):
        return {k: without_personal(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [without_personal(v) for v in value]
    return value


class AuthError(Exception):
    pass


def websocket_url(url: str) -> str:
    """Accept http(s)://host:8123, ws(s)://.../api/websocket or the Supervisor's http://supervisor/core."""
    parsed = urlparse(url)
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme, parsed.scheme)
    path = parsed.path.rstrip("/")
    if not path.endswith("websocket"):
        path += "/websocket" if path.endswith("/core") else "/api/websocket"
    return urlunparse((scheme, parsed.netloc, path, "", "", ""))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def state_record(state: dict[str, Any]) -> Record:
    entity_id = str(state["entity_id"])
    last_updated = str(state.get("last_updated", ""))
    attributes = state.get("attributes") or {}
    return Record(
        id="st-" + _digest(entity_id, last_updated, str(state.get("state"))),
        kind="telemetry",
        ts=last_updated,
        data={
            "entity_id": entity_id,
            "state": state.get("state"),
            "last_changed": state.get("last_changed"),
            "attributes": {k: attributes[k] for k in KEPT_ATTRIBUTES if k in attributes},
        },
    )


def item_records(kind: str, event: Any, personal_data: bool = False) -> list[Record]:
    """Incidents/audit/enterprise events: a list under a known key, a bare list, or one object with an id.

    Personal fields are dropped before the id is derived: a change of only a phone number is no new fact."""
    items: list[Any]
    if isinstance(event, list):
        items = event
    elif isinstance(event, dict):
        for key in ("items", "incidents", "entries", "enterprises", "added", "changed"):
            if isinstance(event.get(key), list):
                items = event[key]
                break
        else:
            items = [event.get(kind, event)]
    else:
        return []
    out = []
    for raw in items:
        if not isinstance(raw, dict) or "id" not in raw:
            continue
        item = raw if personal_data else without_personal(raw)
        canonical = json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
        ts = str(item.get("updated_at") or item.get("at") or item.get("opened_at") or item.get("ts") or "")
        out.append(
            Record(
                id=f"{kind[:3]}-" + _digest(str(item["id"]), canonical), kind=kind, ts=ts or "-", data=item
            )
        )
    return out


class HASource:
    def __init__(
        self,
        url: str,
        token: str,
        entity_filter: EntityFilter,
        sink: Sink,
        session: aiohttp.ClientSession,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        personal_data: bool = False,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self._url = websocket_url(url)
        self._personal_data = personal_data
        self._token = token
        self._filter = entity_filter
        self._sink = sink
        self._session = session
        self._on_state = on_state
        # Called once a session is subscribed, and when the entity set grew (a park loaded).
        self._on_connect = on_connect
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._streams: dict[int, str] = {}
        self._state_sub: int | None = None
        self._registry_sub: int | None = None
        self.entities: set[str] = set(entity_filter.entity_ids)
        # Last known state of every followed entity: a websocket that stays up says nothing about whether the
        # park's devices are there (a hung integration reload leaves every entity unavailable).
        self.states: dict[str, str] = {}
        self.connected = False
        self.unavailable_streams: set[str] = set()
        self.events = 0
        self._refresh_task: asyncio.Task[None] | None = None
        self._registry_dirty = False
        self._heartbeat_refusals: set[str] = set()

    def unavailable(self) -> tuple[int, int]:
        """(entities with a known state, of which unavailable)."""
        known = [self.states[e] for e in self.entities if e in self.states]
        return len(known), sum(1 for st in known if st == "unavailable")

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "entities": len(self.entities),
            "events": self.events,
            "unavailable_streams": sorted(self.unavailable_streams),
        }

    async def run(self) -> None:
        """Connect, follow, reconnect with backoff; only a rejected token stops retrying fast."""
        failures = 0
        while True:
            try:
                await self._session_once()
                failures = 0
            except AuthError as err:
                _LOGGER.error(  # noqa: TRY400 - no traceback for a bad token
                    "Home Assistant rejected the access token (%s); retrying in 60 s", err
                )
                failures = 0
                await asyncio.sleep(60)
                continue
            except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError) as err:
                if failures == 0:
                    _LOGGER.warning(
                        "Home Assistant websocket lost (%s: %s); reconnecting", type(err).__name__, err
                    )
            finally:
                self.connected = False
                self._ws = None
                for fut in self._pending.values():
                    fut.cancel()
                self._pending.clear()
            failures += 1
            delay = min(30.0, 0.5 * 2 ** min(failures, 6))
            await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))

    async def _session_once(self) -> None:
        async with self._session.ws_connect(self._url, heartbeat=30, max_msg_size=0) as ws:
            msg = await ws.receive_json(timeout=30)
            if msg.get("type") != "auth_required":
                raise ConnectionError(f"unexpected first message {msg.get('type')!r}")
            await ws.send_json({"type": "auth", "access_token": self._token})
            msg = await ws.receive_json(timeout=30)
            if msg.get("type") != "auth_ok":
                raise AuthError(msg.get("message", msg.get("type")))
            self._ws = ws
            self._next_id = 1
            self._streams.clear()
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._subscribe_all()
                self.connected = True
                if self._on_connect is not None:
                    self._on_connect()
                _LOGGER.info(
                    "Connected to Home Assistant %s; following %d entities",
                    msg.get("ha_version", ""),
                    len(self.entities),
                )
                await reader
            finally:
                reader.cancel()
                if self._refresh_task is not None:
                    self._refresh_task.cancel()

    async def _call(self, payload: dict[str, Any]) -> Any:
        assert self._ws is not None
        msg_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self._ws.send_json({"id": msg_id, **payload})
        return await asyncio.wait_for(fut, 60)

    async def _subscribe_all(self) -> None:
        # Subscription ids are recorded before the call: the first event can arrive right behind the result.
        self._state_sub = self._next_id
        await self._call({"type": "subscribe_events", "event_type": "state_changed"})
        self._registry_sub = self._next_id
        await self._call({"type": "subscribe_events", "event_type": "entity_registry_updated"})
        await self._refresh_entities()
        states = await self._call({"type": "get_states"})
        await self._emit_states(states)
        for command, kind in STREAMS.items():
            msg_id = self._next_id
            self._streams[msg_id] = kind
            try:
                await self._call({"type": command})
            except HAError as err:
                del self._streams[msg_id]
                if command not in self.unavailable_streams:
                    self.unavailable_streams.add(command)
                    _LOGGER.info(
                        "Home Assistant does not offer %s (%s); syncing without %s records",
                        command,
                        err.code,
                        kind,
                    )
                continue
            self.unavailable_streams.discard(command)

    async def command(self, payload: dict[str, Any]) -> Any:
        """One websocket command's result (HAError when HA refused it, ConnectionError when not connected)."""
        if self._ws is None or not self.connected:
            raise ConnectionError("not connected to Home Assistant")
        return await self._call(payload)

    async def heartbeat(self, park_id: str, interval: float) -> bool:
        """Tell HA's duty-room screen the central took our uploads (``smart_park/sync/heartbeat``).

        True when HA recorded it; False when not connected or HA refused (an HA without the command, or
        ``park_id`` not loaded there: logged once per kind of refusal, the sync itself goes on).
        """
        if self._ws is None or not self.connected:
            return False
        try:
            await self._call({"type": HEARTBEAT_COMMAND, "park_id": park_id, "interval": interval})
        except HAError as err:
            if err.code not in self._heartbeat_refusals:
                self._heartbeat_refusals.add(err.code)
                _LOGGER.warning("Home Assistant refused the sync heartbeat for park %s (%s)", park_id, err)
            return False
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return False  # the session ended under the call (its pending calls are cancelled)
        except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError):
            return False
        return True

    async def _refresh_while_dirty(self) -> None:
        while self._registry_dirty:
            self._registry_dirty = False
            await self._refresh_entities()

    async def _refresh_entities(self) -> None:
        wanted = set(self._filter.integrations)
        entities = set(self._filter.entity_ids)
        if wanted:
            try:
                entries = await self._call({"type": "config/entity_registry/list"})
            except HAError as err:
                _LOGGER.warning(
                    "Cannot list the entity registry (%s); syncing only listed entity_ids", err.code
                )
                entries = []
            entities |= {e["entity_id"] for e in entries if e.get("platform") in wanted}
        added = entities - self.entities
        self.entities = entities
        if added and self.connected:
            # New entities appear mid-session: take their current state now.
            states = await self._call({"type": "get_states"})
            await self._emit_states([s for s in states if s.get("entity_id") in added])
            if self._on_connect is not None:
                self._on_connect()

    async def _emit_states(self, states: list[dict[str, Any]]) -> None:
        records = []
        for s in states:
            if s.get("entity_id") in self.entities:
                self.states[str(s["entity_id"])] = str(s.get("state"))
                records.append(state_record(s))
                if self._on_state:
                    self._on_state(s)
        if records:
            await self._sink(records)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
                continue
            data = json.loads(msg.data)
            for item in data if isinstance(data, list) else [data]:
                await self._handle(item)
        raise ConnectionError("websocket closed by Home Assistant")

    async def _handle(self, msg: dict[str, Any]) -> None:
        msg_id = msg.get("id")
        if msg.get("type") == "result":
            self._resolve(msg_id, msg)
            return
        if msg.get("type") != "event":
            return
        self.events += 1
        event = msg.get("event")
        if msg_id == self._state_sub and isinstance(event, dict):
            await self._state_changed(event.get("data") or {})
        elif msg_id == self._registry_sub:
            # Refresh outside the read loop: it awaits results that this loop must deliver. An event during a
            # running refresh may come after its registry listing, so the task loops until nothing is pending.
            self._registry_dirty = True
            if self._refresh_task is None or self._refresh_task.done():
                self._refresh_task = asyncio.create_task(self._refresh_while_dirty())
        elif isinstance(msg_id, int) and msg_id in self._streams:
            records = item_records(self._streams[msg_id], event, self._personal_data)
            if records:
                await self._sink(records)

    def _resolve(self, msg_id: Any, msg: dict[str, Any]) -> None:
        """Hand a command's result (or its error) to the request waiting for it."""
        fut = self._pending.pop(msg_id, None) if isinstance(msg_id, int) else None
        if fut is not None and not fut.done():
            if msg.get("success"):
                fut.set_result(msg.get("result"))
            else:
                err = msg.get("error") or {}
                fut.set_exception(HAError(err.get("code", "unknown"), err.get("message", "")))

    async def _state_changed(self, data: dict[str, Any]) -> None:
        """A state_changed event: track the followed entity's state and send it on."""
        new_state = data.get("new_state")
        if new_state is None and data.get("entity_id"):
            self.states.pop(str(data["entity_id"]), None)  # entity removed
        if new_state and new_state.get("entity_id") in self.entities:
            self.states[str(new_state["entity_id"])] = str(new_state.get("state"))
            if self._on_state:
                self._on_state(new_state)
            await self._sink([state_record(new_state)])


class HAError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
