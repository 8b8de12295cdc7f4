"""Emergency broadcast: the zones of the park's broadcast controllers, priorities, preset messages and TTS.

A broadcast controller plays one programme at a time in any set of its zones. This module drives it over
Modbus (zones, preset slot, play/stop, volume, priority, repeats; status read back) and hands it audio URLs
over its HTTP API (``docs/broadcast-protocol.md``). :class:`BroadcastManager` decides who may play where:

- priorities: fire evacuation > other emergencies (gas, one-key alarm) > drills > notices;
- a broadcast needs every controller of its zones; a higher priority preempts the broadcasts holding them at
  once, a lower or equal one is refused with a translated error naming the broadcast in the way, or waits in
  the queue when asked to. A preempted broadcast never resumes; only queued ones start when the way is clear;
- fire-evacuation priority is for automations, HA administrators, or whoever gives the linkage PIN;
- every broadcast is audited: who, what, zones, start, end and what preempted it.

The bells/message alternation during a fire alarm (:mod:`.alternation`) holds its zones as a fire broadcast
for the whole alarm and plays the evacuation message between bell phases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import probatio as vol
import yarl
from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    HassJob,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
from homeassistant.util.ulid import ulid_now

from .audit import Category, Outcome, Source, source_of
from .catalogue import Point, Table, Tier
from .const import DOMAIN, LOGGER
from .listeners import Listeners
from .modbus import PRIORITY, DeviceReading, GatewayClient, ModbusError
from .profile import Device, ParkProfile
from .services import ENTRY_FIELD, call_entry

if TYPE_CHECKING:
    from .alternation import Alternation
    from .coordinator import SmartParkConfigEntry

CONTROLLER_TYPE: Final = "broadcast_controller"
CMD_STOP, CMD_PRESET, CMD_URL = 0, 1, 2
# fetch_status values below 100; anything else is the HTTP status of the controller's last fetch.
FETCH_UNKNOWN_TICKET, FETCH_CONNECTION_FAILED = 1, 2
STATUS_KEYS: Final = ("play_state", "current_message", "active_zones", "fetch_status")
HTTP_TIMEOUT: Final = 5.0
MAX_TITLE: Final = 60
DEFAULT_QUEUE_TIMEOUT: Final = 600.0
ISSUE_AMPLIFIER_FAULT: Final = "broadcast_amplifier_fault"

ATTR_ZONES: Final = "zones"
ATTR_BUILDINGS: Final = "buildings"
ATTR_ALL: Final = "all"
ATTR_PRESET: Final = "preset"
ATTR_MESSAGE: Final = "message"
ATTR_LANGUAGE: Final = "language"
ATTR_TTS_ENGINE: Final = "tts_engine"
ATTR_PRIORITY: Final = "priority"
ATTR_REPEAT: Final = "repeat"
ATTR_VOLUME: Final = "volume"
ATTR_QUEUE: Final = "queue"
ATTR_QUEUE_TIMEOUT: Final = "queue_timeout"
ATTR_PIN: Final = "pin"
ATTR_INCIDENT_ID: Final = "incident_id"
ATTR_BROADCAST_ID: Final = "broadcast_id"


class Priority(IntEnum):
    """Broadcast priorities; the value is what the controller's ``priority`` register gets."""

    NOTICE = 1
    DRILL = 2
    EMERGENCY = 3  # gas leak, one-key alarm and other emergencies
    FIRE = 4  # fire evacuation

    @property
    def label(self) -> str:
        """The name used in actions and the audit log."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Priority:
        """The priority named ``label``."""
        return cls[label.upper()]


class Status(StrEnum):
    """Where a broadcast is in its life."""

    QUEUED = "queued"
    PLAYING = "playing"
    HOLDING = "holding"  # holds its zones silently (the alternation between messages)
    ENDED = "ended"


class EndReason(StrEnum):
    """Why a broadcast ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    PREEMPTED = "preempted"
    FAILED = "failed"
    EXPIRED = "expired"  # waited in the queue past its timeout
    RELEASED = "released"  # its owner (the alternation) let it go
    UNLOADED = "unloaded"


class MessageKind(StrEnum):
    """What the controller plays."""

    PRESET = "preset"
    URL = "url"


@dataclass(frozen=True, slots=True)
class Zone:
    """Zone ``number`` of a broadcast controller."""

    controller_id: str
    number: int
    name: str | None
    building: str | None
    floor: int | None

    @property
    def id(self) -> str:
        """The zone id actions take: ``<controller id>.<zone number>``."""
        return f"{self.controller_id}.{self.number}"


@dataclass(frozen=True, slots=True)
class Message:
    """A message to play: a preset slot (per controller) or an audio URL."""

    kind: MessageKind
    title: str
    slots: Mapping[str, int] = field(default_factory=dict)
    preset: str | None = None
    url: str | None = None
    text: str | None = None
    language: str | None = None

    def audit_data(self) -> dict[str, Any]:
        """What the audit log records of the message."""
        data: dict[str, Any] = {"kind": self.kind.value, "title": self.title}
        if self.kind is MessageKind.PRESET:
            data["preset"] = self.preset
            data["slots"] = dict(self.slots)
        else:
            data["url"] = self.url
            if self.text is not None:
                data["text"] = self.text
                data["language"] = self.language
        return data


type BroadcastCallback = Callable[[Broadcast], Awaitable[None]]


@dataclass(slots=True, eq=False)
class Broadcast:
    """One broadcast, from its request to its end."""

    id: str
    priority: Priority
    message: Message
    zones: tuple[Zone, ...]
    repeat: int
    volume: int
    origin: str
    source: Source
    context: Context | None
    created_at: datetime
    incident_id: str | None = None
    persistent: bool = False
    status: Status = Status.QUEUED
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    preempted_by: str | None = None
    # Controllers playing the message now (confirmed by a status read), and those whose play failed.
    playing: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)
    on_done: BroadcastCallback | None = None
    on_end: BroadcastCallback | None = None
    expiry: CALLBACK_TYPE | None = None

    @property
    def user_id(self) -> str | None:
        """The HA user who asked for it, if any."""
        return self.context.user_id if self.context else None

    def controllers(self) -> set[str]:
        """The controllers whose zones it uses."""
        return {zone.controller_id for zone in self.zones}

    def mask(self, controller_id: str) -> int:
        """Its zones of one controller as the controller's zone mask."""
        return sum(1 << (z.number - 1) for z in self.zones if z.controller_id == controller_id)

    def describe(self) -> dict[str, Any]:
        """Plain form for the action's response, diagnostics and the audit log."""
        return {
            "id": self.id,
            "priority": self.priority.label,
            "status": self.status.value,
            "message": self.message.audit_data(),
            "zones": [zone.id for zone in self.zones],
            "repeat": self.repeat,
            "volume": self.volume,
            "origin": self.origin,
            "incident_id": self.incident_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_reason": self.end_reason.value if self.end_reason else None,
            "preempted_by": self.preempted_by,
        }


@dataclass(slots=True)
class Controller:
    """A broadcast controller, its zones, its preset table and what it last reported."""

    device: Device
    zones: dict[int, Zone]
    presets: dict[int, str]
    points: dict[str, Point]
    online: bool = True
    playing: bool = False
    current_message: int = 0
    active_zones: int = 0
    fetch_status: int = 0
    volumes: dict[int, int] = field(default_factory=dict)
    amplifier_fault: bool = False
    issue_raised: bool = False

    @property
    def id(self) -> str:
        """The controller's device id."""
        return self.device.id

    def zone_playing(self, number: int) -> bool:
        """Whether the controller reports playing in zone ``number``."""
        return self.playing and bool(self.active_zones >> (number - 1) & 1)

    def fetch_failed(self) -> bool:
        """Whether the last URL fetch failed."""
        return (
            self.fetch_status in (FETCH_UNKNOWN_TICKET, FETCH_CONNECTION_FAILED) or self.fetch_status >= 300
        )


class BroadcastBlocked(Exception):
    """A broadcast cannot start: ``blocker`` holds zones it needs with the same or a higher priority."""

    def __init__(self, blocker: Broadcast) -> None:
        super().__init__(blocker.id)
        self.blocker = blocker


def _error(key: str, **placeholders: Any) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: str(v) for k, v in placeholders.items()},
    )


def _local(value: datetime | None) -> str:
    return dt_util.as_local(value).strftime("%H:%M:%S") if value else "?"


def build_controllers(profile: ParkProfile) -> dict[str, Controller]:
    """The park's broadcast controllers with their zones (named and placed by the device's channel map)."""
    controllers: dict[str, Controller] = {}
    for device in profile.devices.values():
        if device.device_type.type != CONTROLLER_TYPE:
            continue
        zones = {}
        for number in range(1, device.channels + 1):
            channel = device.channel_map.get(number)
            zones[number] = Zone(
                device.id,
                number,
                channel.name if channel else None,
                (channel.building if channel else None) or device.building,
                channel.floor if channel else None,
            )
        points = {point.key: point for point in device.points}
        slot_point = points.get("message_slot")
        presets = dict(slot_point.options) if slot_point is not None else {}
        controllers[device.id] = Controller(device, zones, presets, points)
    return controllers


async def async_preset_titles(hass: HomeAssistant) -> dict[str, str]:
    """Preset message names in HA's language (selector ``broadcast_preset`` of strings.json)."""
    translations = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    prefix = f"component.{DOMAIN}.selector.broadcast_preset.options."
    return {key.removeprefix(prefix): text for key, text in translations.items() if key.startswith(prefix)}


def preset_title(titles: Mapping[str, str], name: str | None, slot: int) -> str:
    """A preset's title: translated, else its name made readable, else its slot number."""
    if name is None:
        return f"#{slot}"
    return titles.get(name) or name.replace("_", " ").capitalize()


class BroadcastManager:
    """Every broadcast controller of one park, the broadcasts on them and the queue."""

    def __init__(self, hass: HomeAssistant, entry: SmartParkConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.profile = entry.runtime_data.profile
        self.controllers = build_controllers(self.profile)
        self.zones: dict[str, Zone] = {
            zone.id: zone for controller in self.controllers.values() for zone in controller.zones.values()
        }
        self.active: dict[str, Broadcast] = {}
        self.queue: list[Broadcast] = []
        self.alternation: Alternation | None = None
        self._lock = asyncio.Lock()
        self._callbacks: list[tuple[BroadcastCallback, Broadcast]] = []
        self._listeners: Listeners[[]] = Listeners()

    # --- life cycle -----------------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Take the first polls' readings and follow the coordinators."""
        runtime = self.entry.runtime_data
        gateways = {controller.device.gateway for controller in self.controllers.values()}
        for (gateway_id, _tier), coordinator in runtime.coordinators.items():
            if gateway_id not in gateways:
                continue
            coordinator.hooks.append(self._async_on_readings)
            for device_id, reading in (coordinator.data or {}).items():
                if device_id in self.controllers:
                    self._take_reading(self.controllers[device_id], reading)

    @callback
    def async_unload(self) -> None:
        """On unload: close the books of the broadcasts still running or waiting (controllers play on)."""
        for broadcast in [*self.active.values(), *self.queue]:
            if broadcast.expiry is not None:
                broadcast.expiry()
            self._close(broadcast, EndReason.UNLOADED, None)
        self.active.clear()
        self.queue.clear()
        for controller in self.controllers.values():
            if controller.issue_raised:
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(controller))
                controller.issue_raised = False

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` after every change (the zones' media players refresh)."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners.notify()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Serialise decisions and writes; run owners' callbacks and tell listeners afterwards."""
        try:
            async with self._lock:
                yield
        finally:
            callbacks, self._callbacks = self._callbacks, []
            for function, broadcast in callbacks:
                try:
                    await function(broadcast)
                except Exception:
                    LOGGER.exception("Error in a callback of broadcast %s", broadcast.id)
            self._notify()

    # --- lookups --------------------------------------------------------------------------------------

    def zone_broadcast(self, zone: Zone) -> Broadcast | None:
        """The active broadcast that uses ``zone``."""
        return next((b for b in self.active.values() if zone in b.zones), None)

    def zone_in_use(self, zone: Zone) -> bool:
        """Whether a broadcast uses or waits for ``zone``."""
        return any(zone in b.zones for b in [*self.active.values(), *self.queue])

    def resolve_zones(
        self, zones: Sequence[str] | None, buildings: Sequence[str] | None, everything: bool
    ) -> tuple[Zone, ...]:
        """Zones named by zone ids or media player entity ids, by building, or all; translated errors."""
        if everything and self.zones:
            return tuple(self.zones.values())
        if not zones and not buildings:
            raise _error("broadcast_no_target", field=ATTR_ZONES)
        chosen: dict[str, Zone] = {}
        by_unique_id = {self.unique_id(zone): zone for zone in self.zones.values()}
        registry = er.async_get(self.hass)
        for name in zones or ():
            zone = self.zones.get(name)
            if zone is None and (entity := registry.async_get(name)) is not None:
                zone = by_unique_id.get(entity.unique_id) if entity.platform == DOMAIN else None
            if zone is None:
                raise _error(
                    "broadcast_unknown_zone", field=ATTR_ZONES, zone=name, zones=self._list(self.zones)
                )
            chosen[zone.id] = zone
        for building in buildings or ():
            if building not in self.profile.buildings:
                raise _error(
                    "broadcast_unknown_building",
                    field=ATTR_BUILDINGS,
                    building=building,
                    buildings=self._list(self.profile.buildings),
                )
            found = self.zones_of(building)
            if not found:
                raise _error("broadcast_building_without_zones", field=ATTR_BUILDINGS, building=building)
            chosen.update((zone.id, zone) for zone in found)
        return tuple(chosen.values())

    def zones_of(self, building: str | None) -> list[Zone]:
        """Zones in a building (every zone for ``None``, the park)."""
        return [zone for zone in self.zones.values() if building is None or zone.building == building]

    def unique_id(self, zone: Zone) -> str:
        """Unique id of the zone's media player."""
        return f"{self.profile.id}_{zone.controller_id}_zone_{zone.number}"

    @staticmethod
    def _list(items: Iterable[str], limit: int = 12) -> str:
        names = sorted(items)
        more = f" (+{len(names) - limit})" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more

    async def async_preset_message(self, zones: Sequence[Zone], preset: str) -> Message:
        """A preset (name or slot number) as each controller of ``zones`` numbers it; translated errors."""
        titles = await async_preset_titles(self.hass)
        slots: dict[str, int] = {}
        name: str | None = None
        for controller_id in sorted({zone.controller_id for zone in zones}):
            table = self.controllers[controller_id].presets
            known = ", ".join(f"{slot} {key}" for slot, key in sorted(table.items()))
            if preset.isdigit():
                slot = int(preset)
                # A vendor map without a preset table accepts any slot number.
                if not 1 <= slot <= 0xFFFF or (table and slot not in table):
                    raise _error("broadcast_unknown_preset", field=ATTR_PRESET, preset=preset, presets=known)
            else:
                slot = next((s for s, key in table.items() if key == preset), 0)
                if not slot:
                    raise _error("broadcast_unknown_preset", field=ATTR_PRESET, preset=preset, presets=known)
            slots[controller_id] = slot
            name = name or table.get(slot)
        first = next(iter(slots.values()), 0)
        return Message(
            MessageKind.PRESET, preset_title(titles, name, first), slots=slots, preset=name or preset
        )

    async def async_tts_message(
        self, text: str, language: str | None, engine: str | None, target: str | None = None
    ) -> Message:
        """A text made into speech by HA's TTS, as an absolute URL the controllers can fetch."""
        if not {"tts", "media_source"} <= self.hass.config.components:
            raise _error("broadcast_tts_unavailable", field=ATTR_MESSAGE)
        from homeassistant.components import tts
        from homeassistant.components.tts.helper import get_engine_instance

        resolved_engine = tts.async_resolve_engine(self.hass, engine)
        if resolved_engine is None:
            raise _error("broadcast_tts_unavailable", field=ATTR_TTS_ENGINE)
        instance = get_engine_instance(self.hass, resolved_engine)
        if (
            language is not None
            and instance is not None
            and language not in (instance.supported_languages or ())
        ):
            raise _error(
                "broadcast_tts_language",
                field=ATTR_LANGUAGE,
                language=language,
                languages=self._list(instance.supported_languages or ()),
            )
        try:
            media_id = tts.generate_media_source_id(
                self.hass, text, engine=resolved_engine, language=language
            )
        except HomeAssistantError as err:
            raise _error("broadcast_tts_failed", field=ATTR_MESSAGE, error=str(err)) from err
        url = await self.async_media_url(media_id, target)
        title = text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"
        return Message(MessageKind.URL, title, url=url, text=text, language=language)

    @staticmethod
    def url_message(url: str, title: str | None = None) -> Message:
        """An audio URL to play; titled by ``title`` or the URL's file name."""
        title = title or yarl.URL(url).name or url
        return Message(
            MessageKind.URL, title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…", url=url
        )

    async def async_media_url(self, media_id: str, target: str | None = None) -> str:
        """An absolute URL for a media source id or a URL (HA's own paths made absolute and signed)."""
        from homeassistant.components import media_source
        from homeassistant.components.media_player.browse_media import async_process_play_media_url

        if media_source.is_media_source_id(media_id):
            if "media_source" not in self.hass.config.components:
                raise _error("broadcast_tts_unavailable", field=ATTR_MESSAGE)
            try:
                resolved = await media_source.async_resolve_media(self.hass, media_id, target)
            except HomeAssistantError as err:
                raise _error("broadcast_media_unresolvable", media=media_id, error=str(err)) from err
            media_id = resolved.url
        try:
            url = async_process_play_media_url(self.hass, media_id)
        except HomeAssistantError as err:
            raise _error("broadcast_no_url", error=str(err)) from err
        if not url.startswith(("http://", "https://")):
            raise _error("broadcast_no_url", error=url)
        return url

    # --- readings -------------------------------------------------------------------------------------

    def _take_reading(self, controller: Controller, reading: DeviceReading) -> bool:
        """Take one tier's reading of a controller; True when what entities show changed."""
        before = (
            controller.online,
            controller.playing,
            controller.active_zones,
            dict(controller.volumes),
            controller.amplifier_fault,
        )
        controller.online = reading.available
        if reading.available:
            values = reading.values
            if "play_state" in values:
                # Decoded through the enum options: anything but idle (even an unknown state) is playing.
                controller.playing = values["play_state"] not in ("idle", 0)
            for key in ("current_message", "active_zones", "fetch_status"):
                if isinstance(values.get(key), int | float):
                    setattr(controller, key, int(values[key]))
            for number in controller.zones:
                if isinstance(volume := values.get(f"zone_volume_{number}"), int | float):
                    controller.volumes[number] = int(volume)
            if "amplifier_fault" in values:
                controller.amplifier_fault = bool(values["amplifier_fault"])
                self._update_issue(controller)
        return before != (
            controller.online,
            controller.playing,
            controller.active_zones,
            controller.volumes,
            controller.amplifier_fault,
        )

    def _issue_id(self, controller: Controller) -> str:
        return f"{self.profile.id}_{ISSUE_AMPLIFIER_FAULT}_{controller.id}"

    def _update_issue(self, controller: Controller) -> None:
        if controller.amplifier_fault and not controller.issue_raised:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(controller),
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key=ISSUE_AMPLIFIER_FAULT,
                translation_placeholders={"controller": controller.device.name},
            )
            controller.issue_raised = True
            self._audit("amplifier_fault", Source.FIELD, target=controller.id, fault=True)
        elif not controller.amplifier_fault and controller.issue_raised:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(controller))
            controller.issue_raised = False
            self._audit("amplifier_fault", Source.FIELD, target=controller.id, fault=False)

    async def _async_on_readings(
        self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]
    ) -> None:
        """Coordinator hook: status, volumes and faults; a controller gone idle ends its programme."""
        changed = False
        for device_id, reading in readings.items():
            if (controller := self.controllers.get(device_id)) is not None:
                changed |= self._take_reading(controller, reading)
        idle = {
            controller_id
            for broadcast in self.active.values()
            for controller_id in broadcast.playing
            if self.controllers[controller_id].device.gateway == gateway_id
            and not self.controllers[controller_id].playing
            and self.controllers[controller_id].online
        }
        if idle:
            async with self._transaction():
                await self._async_programmes_ended(idle)
        elif changed:
            self._notify()

    async def _async_programmes_ended(self, controller_ids: set[str]) -> None:
        """Confirm with a fresh read (a poll may predate our play command), then end what finished."""
        for controller_id in controller_ids:
            try:
                await self._async_read_status(self.controllers[controller_id])
            except ModbusError as err:
                LOGGER.debug("Status of %s not confirmed: %s", controller_id, err)
        finished: list[Broadcast] = []
        for broadcast in list(self.active.values()):
            for controller_id in controller_ids & broadcast.playing:
                controller = self.controllers[controller_id]
                if controller.playing:
                    continue
                broadcast.playing.discard(controller_id)
                if broadcast.message.kind is MessageKind.URL and controller.fetch_failed():
                    broadcast.failed[controller_id] = f"fetch status {controller.fetch_status}"
                if not broadcast.playing:
                    finished.append(broadcast)
        for broadcast in finished:
            if broadcast.persistent:
                broadcast.status = Status.HOLDING
                if broadcast.on_done is not None:
                    self._callbacks.append((broadcast.on_done, broadcast))
            else:
                failed = len(broadcast.failed) == len(broadcast.controllers())
                await self._async_end(broadcast, EndReason.FAILED if failed else EndReason.COMPLETED)
        if finished:
            await self._async_start_queued()

    # --- controller I/O -------------------------------------------------------------------------------

    def _client_of(self, controller: Controller) -> GatewayClient:
        return self.entry.runtime_data.pollers[controller.device.gateway].client

    async def _async_write(self, controller: Controller, values: Mapping[str, int]) -> None:
        """Write holding registers by key, contiguous runs in one request each, the command last."""
        points = sorted(
            (controller.points[key] for key in values if key in controller.points), key=lambda p: p.address
        )
        runs: list[list[Point]] = []
        for point in points:
            if runs and runs[-1][-1].end == point.address:
                runs[-1].append(point)
            else:
                runs.append([point])
        runs.sort(key=lambda run: any(p.key == "command" for p in run))
        client = self._client_of(controller)
        for run in runs:
            await client.async_write_registers(
                controller.device.unit, run[0].address, [int(values[p.key]) for p in run], verify=True
            )

    async def _async_read_status(self, controller: Controller) -> None:
        """Read play state, message, zones and fetch status now (one request)."""
        points = [controller.points[key] for key in STATUS_KEYS if key in controller.points]
        if not points:
            return
        start = min(p.address for p in points)
        count = max(p.end for p in points) - start
        data = await self._client_of(controller).async_read(
            controller.device.unit, Table.INPUT_REGISTER, start, count, priority=PRIORITY["write"]
        )
        raw = {p.key: int(data[p.address - start]) for p in points}
        controller.online = True
        controller.playing = raw.get("play_state", 0) != 0
        controller.current_message = raw.get("current_message", 0)
        controller.active_zones = raw.get("active_zones", 0)
        controller.fetch_status = raw.get("fetch_status", 0)

    async def _async_http_base(self, controller: Controller) -> str:
        """The controller's HTTP API: the gateway's host, the port it publishes in ``http_port``."""
        gateway = self.profile.gateways[controller.device.gateway]
        point = controller.points.get("http_port")
        port = 0
        if point is not None and gateway.protocol == "tcp" and gateway.host:
            data = await self._client_of(controller).async_read(
                controller.device.unit, Table.INPUT_REGISTER, point.address, 1, priority=PRIORITY["write"]
            )
            port = int(data[0])
        if not port:
            raise _error("broadcast_no_http", field=ATTR_MESSAGE, controller=controller.device.name)
        host = gateway.host or ""
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    async def _async_hand_url(self, controller: Controller, url: str) -> int:
        """Tell the controller the audio URL (``PUT /audio``); returns its ticket."""
        base = await self._async_http_base(controller)
        session = async_get_clientsession(self.hass)
        try:
            async with session.put(
                f"{base}/audio", json={"url": url}, timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
            ) as response:
                body = await response.json(content_type=None)
                if response.status != 201 or not isinstance(body, dict) or "ticket" not in body:
                    raise _error(
                        "broadcast_http_failed",
                        controller=controller.device.name,
                        error=f"HTTP {response.status}: {body}",
                    )
                return int(body["ticket"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _error(
                "broadcast_http_failed",
                controller=controller.device.name,
                error=str(err) or type(err).__name__,
            ) from err

    async def _async_prepare(self, broadcast: Broadcast) -> None:
        """Hand a URL message to every controller first (tickets): a refusal there leaves everything as is."""
        broadcast.failed.clear()
        broadcast.tickets.clear()
        if broadcast.message.kind is not MessageKind.URL:
            return
        controllers = [self.controllers[cid] for cid in sorted(broadcast.controllers())]
        results = await asyncio.gather(
            *(self._async_hand_url(c, broadcast.message.url or "") for c in controllers),
            return_exceptions=True,
        )
        first_error: BaseException | None = None
        for controller, result in zip(controllers, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ModbusError | HomeAssistantError):
                    raise result
                broadcast.failed[controller.id] = str(result)
                first_error = first_error or result
            else:
                broadcast.tickets[controller.id] = result
        if not broadcast.tickets:
            if isinstance(first_error, HomeAssistantError):
                raise first_error
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="broadcast_failed",
                translation_placeholders={"error": str(first_error)},
            )

    async def _async_play_on(self, broadcast: Broadcast, controller: Controller) -> None:
        """Start the message on one controller and confirm it plays."""
        if broadcast.message.kind is MessageKind.URL:
            slot = broadcast.tickets[controller.id]
            command = CMD_URL
        else:
            slot = broadcast.message.slots[controller.id]
            command = CMD_PRESET
        await self._async_write(
            controller,
            {
                "zone_mask": broadcast.mask(controller.id),
                "message_slot": slot,
                "command": command,
                "volume": broadcast.volume,
                "priority": int(broadcast.priority),
                "repeat_count": broadcast.repeat,
            },
        )
        await self._async_read_status(controller)
        if not controller.playing:
            raise _error("broadcast_not_playing", controller=controller.device.name)

    async def _async_play(self, broadcast: Broadcast) -> None:
        """Play on every controller at once (after :meth:`_async_prepare`); fail only when none plays."""
        controllers = [
            self.controllers[cid] for cid in sorted(broadcast.controllers()) if cid not in broadcast.failed
        ]
        results = await asyncio.gather(
            *(self._async_play_on(broadcast, c) for c in controllers), return_exceptions=True
        )
        broadcast.playing = set()
        first_error: BaseException | None = None
        for controller, result in zip(controllers, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ModbusError | HomeAssistantError):
                    raise result
                LOGGER.warning("Broadcast %s did not start on %s: %s", broadcast.id, controller.id, result)
                broadcast.failed[controller.id] = str(result)
                first_error = first_error or result
            else:
                broadcast.playing.add(controller.id)
        if not broadcast.playing:
            if isinstance(first_error, HomeAssistantError):
                raise first_error
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="broadcast_failed",
                translation_placeholders={"error": str(first_error)},
            )

    async def _async_stop_on(self, controller_ids: Iterable[str]) -> None:
        """Stop whatever plays on these controllers; a controller that does not answer is logged."""

        async def stop(controller: Controller) -> None:
            try:
                await self._async_write(controller, {"command": CMD_STOP})
                await self._async_read_status(controller)
            except ModbusError as err:
                LOGGER.warning("Could not stop broadcast controller %s: %s", controller.id, err)

        await asyncio.gather(*(stop(self.controllers[cid]) for cid in controller_ids))

    # --- deciding -------------------------------------------------------------------------------------

    def _blockers(self, broadcast: Broadcast) -> list[Broadcast]:
        needed = broadcast.controllers()
        return [
            other
            for other in self.active.values()
            if other is not broadcast
            and other.priority >= broadcast.priority
            and other.controllers() & needed
        ]

    def _victims(self, broadcast: Broadcast) -> list[Broadcast]:
        needed = broadcast.controllers()
        return [
            other
            for other in self.active.values()
            if other.priority < broadcast.priority and other.controllers() & needed
        ]

    def _audit(
        self,
        action: str,
        source: Source,
        outcome: Outcome = Outcome.OK,
        *,
        target: str | None = None,
        context: Context | None = None,
        user_id: str | None = None,
        **data: Any,
    ) -> None:
        self.entry.runtime_data.audit.record(
            Category.BROADCAST,
            action,
            source=source,
            outcome=outcome,
            user_id=user_id,
            target=target,
            context=context,
            **data,
        )

    async def _async_begin(self, broadcast: Broadcast, *, silent: bool = False) -> None:
        """Preempt what is lower on its controllers, then play (or, ``silent``, only hold the zones)."""
        if not silent:
            await self._async_prepare(broadcast)
        victims = self._victims(broadcast)
        taken = set() if silent else broadcast.controllers()
        for victim in victims:
            # Controllers the new broadcast plays on are simply overwritten: no gap of silence between.
            await self._async_end(
                victim, EndReason.PREEMPTED, preempted_by=broadcast, context=broadcast.context, keep=taken
            )
        if broadcast.expiry is not None:
            broadcast.expiry()
            broadcast.expiry = None
        if broadcast in self.queue:
            self.queue.remove(broadcast)
        broadcast.started_at = dt_util.utcnow()
        self.active[broadcast.id] = broadcast
        if silent:
            broadcast.status = Status.HOLDING
            # Holding means silence there, also of what this integration did not start (the panel, a run
            # before a restart).
            await self._async_stop_on(cid for cid in broadcast.controllers() if self.controllers[cid].playing)
        else:
            broadcast.status = Status.PLAYING
            try:
                await self._async_play(broadcast)
            except HomeAssistantError:
                self.active.pop(broadcast.id, None)
                broadcast.status, broadcast.ended_at = Status.ENDED, dt_util.utcnow()
                broadcast.end_reason = EndReason.FAILED
                self._audit(
                    "started",
                    broadcast.source,
                    Outcome.FAILED,
                    target=broadcast.id,
                    context=broadcast.context,
                    **self._started_data(broadcast, victims),
                )
                raise
        self._audit(
            "started",
            broadcast.source,
            target=broadcast.id,
            context=broadcast.context,
            **self._started_data(broadcast, victims),
        )

    def _started_data(self, broadcast: Broadcast, victims: Sequence[Broadcast]) -> dict[str, Any]:
        data = broadcast.describe()
        data.pop("ended_at")
        data.pop("end_reason")
        data.pop("preempted_by")
        data["zone_names"] = [zone.name for zone in broadcast.zones if zone.name]
        data["preempted"] = [victim.id for victim in victims]
        if broadcast.failed:
            data["failed"] = dict(broadcast.failed)
        return data

    async def _async_end(
        self,
        broadcast: Broadcast,
        reason: EndReason,
        *,
        preempted_by: Broadcast | None = None,
        context: Context | None = None,
        keep: set[str] | None = None,
        write: bool = True,
    ) -> None:
        """End an active broadcast: stop its controllers (but ``keep``), audit, tell its owner."""
        self.active.pop(broadcast.id, None)
        if write and reason is not EndReason.COMPLETED:
            await self._async_stop_on(
                cid
                for cid in broadcast.controllers() - (keep or set())
                if self.controllers[cid].playing or cid in broadcast.playing
            )
        broadcast.playing.clear()
        if preempted_by is not None:
            broadcast.preempted_by = preempted_by.id
        self._close(broadcast, reason, context)

    def _close(self, broadcast: Broadcast, reason: EndReason, context: Context | None) -> None:
        broadcast.status, broadcast.end_reason, broadcast.ended_at = Status.ENDED, reason, dt_util.utcnow()
        self._audit(
            "ended",
            source_of(context) if context is not None else Source.SYSTEM,
            Outcome.FAILED if reason is EndReason.FAILED else Outcome.OK,
            target=broadcast.id,
            context=context,
            reason=reason.value,
            priority=broadcast.priority.label,
            title=broadcast.message.title,
            zones=[zone.id for zone in broadcast.zones],
            started_by=broadcast.user_id,
            origin=broadcast.origin,
            created_at=broadcast.created_at.isoformat(),
            started_at=broadcast.started_at.isoformat() if broadcast.started_at else None,
            ended_at=broadcast.ended_at.isoformat(),
            preempted_by=broadcast.preempted_by,
            failed=dict(broadcast.failed) or None,
        )
        if broadcast.on_end is not None:
            self._callbacks.append((broadcast.on_end, broadcast))

    async def _async_start_queued(self) -> None:
        """Start queued broadcasts whose way is now clear, the highest priority first."""
        for broadcast in sorted(self.queue, key=lambda b: (-b.priority, b.created_at)):
            if broadcast in self.queue and not self._blockers(broadcast):
                try:
                    await self._async_begin(broadcast)
                except HomeAssistantError as err:
                    LOGGER.warning("Queued broadcast %s could not start: %s", broadcast.id, err)

    def _new(
        self,
        *,
        priority: Priority,
        message: Message,
        zones: Sequence[Zone],
        repeat: int,
        volume: int | None,
        origin: str,
        context: Context | None,
        incident_id: str | None = None,
        persistent: bool = False,
    ) -> Broadcast:
        if volume is None:
            # Emergencies play at full volume (forced, as broadcast hosts do); others at each zone's volume.
            volume = 100 if priority >= Priority.EMERGENCY else 0
        return Broadcast(
            id=f"bc{ulid_now()[-10:].lower()}",
            priority=priority,
            message=message,
            zones=tuple(zones),
            repeat=repeat,
            volume=volume,
            origin=origin,
            source=source_of(context),
            context=context,
            created_at=dt_util.utcnow(),
            incident_id=incident_id,
            persistent=persistent,
        )

    async def async_authorise(
        self, priority: Priority, command: str, context: Context | None, pin: str | None
    ) -> None:
        """Fire evacuation: HA admins or the linkage PIN; automations may start one but not stop one.

        An automation (no user) announcing an evacuation is what blueprints are for; one stopping "every
        broadcast" at the end of a drill must not silence a real evacuation unless it carries the PIN.
        """
        if priority < Priority.FIRE or context is None:
            return
        if context.user_id is None and command == "broadcast":
            return
        await self.entry.runtime_data.linkage.async_authorise(command, None, context, pin)

    def _refuse(self, broadcast: Broadcast, blocker: Broadcast) -> ServiceValidationError:
        self._audit(
            "refused",
            broadcast.source,
            Outcome.REFUSED,
            target=broadcast.id,
            context=broadcast.context,
            priority=broadcast.priority.label,
            title=broadcast.message.title,
            zones=[zone.id for zone in broadcast.zones],
            blocked_by=blocker.id,
        )
        return _error(
            "broadcast_blocked",
            blocking=blocker.message.title,
            broadcast_id=blocker.id,
            since=_local(blocker.started_at),
        )

    async def async_broadcast(
        self,
        *,
        zones: Sequence[Zone],
        message: Message,
        priority: Priority,
        repeat: int = 1,
        volume: int | None = None,
        queue: bool = False,
        queue_timeout: float = DEFAULT_QUEUE_TIMEOUT,
        origin: str = "action",
        context: Context | None = None,
        pin: str | None = None,
        incident_id: str | None = None,
    ) -> Broadcast:
        """Play ``message`` in ``zones`` now, or queue it; raise a translated error when it may not."""
        await self.async_authorise(priority, "broadcast", context, pin)
        broadcast = self._new(
            priority=priority,
            message=message,
            zones=zones,
            repeat=repeat,
            volume=volume,
            origin=origin,
            context=context,
            incident_id=incident_id,
        )
        async with self._transaction():
            if blockers := self._blockers(broadcast):
                if not queue:
                    raise self._refuse(broadcast, max(blockers, key=lambda b: b.priority))
                self.queue.append(broadcast)
                broadcast.expiry = async_call_later(
                    self.hass, queue_timeout, HassJob(self._expiry_job(broadcast), cancel_on_shutdown=True)
                )
                self._audit(
                    "queued",
                    broadcast.source,
                    target=broadcast.id,
                    context=context,
                    **self._started_data(broadcast, []),
                    waiting_for=[b.id for b in blockers],
                )
                return broadcast
            await self._async_begin(broadcast)
        return broadcast

    def _expiry_job(self, broadcast: Broadcast) -> Callable[[datetime], Coroutine[Any, Any, None]]:
        async def expire(_now: datetime) -> None:
            broadcast.expiry = None
            async with self._transaction():
                if broadcast in self.queue:
                    self.queue.remove(broadcast)
                    self._close(broadcast, EndReason.EXPIRED, None)

        return expire

    async def async_stop(
        self,
        *,
        zones: Iterable[Zone] | None = None,
        broadcast_id: str | None = None,
        context: Context | None = None,
        pin: str | None = None,
    ) -> list[str]:
        """Stop broadcasts in ``zones`` (only there), one broadcast, or everything; queued ones too."""
        async with self._transaction():
            everything = [*self.active.values(), *self.queue]
            if broadcast_id is not None:
                targets = [b for b in everything if b.id == broadcast_id]
                if not targets:
                    raise _error("broadcast_not_found", field=ATTR_BROADCAST_ID, broadcast_id=broadcast_id)
                wanted = None
            else:
                wanted = set(zones) if zones is not None else None
                targets = [b for b in everything if wanted is None or wanted & set(b.zones)]
            if not targets:
                raise _error("broadcast_nothing_to_stop")
            for broadcast in targets:
                await self.async_authorise(broadcast.priority, "stop_broadcast", context, pin)
            stopped: list[str] = []
            for broadcast in targets:
                remaining = [z for z in broadcast.zones if wanted is not None and z not in wanted]
                if remaining:
                    await self._async_narrow(broadcast, remaining, context)
                elif broadcast in self.queue:
                    self.queue.remove(broadcast)
                    if broadcast.expiry is not None:
                        broadcast.expiry()
                        broadcast.expiry = None
                    self._close(broadcast, EndReason.STOPPED, context)
                else:
                    await self._async_end(broadcast, EndReason.STOPPED, context=context)
                stopped.append(broadcast.id)
            await self._async_start_queued()
            return stopped

    async def _async_narrow(
        self, broadcast: Broadcast, zones: Sequence[Zone], context: Context | None
    ) -> None:
        """Take zones out of a broadcast; controllers left without zones stop."""
        dropped = [zone.id for zone in broadcast.zones if zone not in zones]
        before = broadcast.controllers()
        broadcast.zones = tuple(zones)
        if broadcast.status is Status.PLAYING:
            for controller_id in before:
                controller = self.controllers[controller_id]
                mask = broadcast.mask(controller_id)
                try:
                    await self._async_write(
                        controller, {"zone_mask": mask} if mask else {"command": CMD_STOP}
                    )
                    await self._async_read_status(controller)
                except ModbusError as err:
                    LOGGER.warning("Could not change the zones of %s: %s", controller_id, err)
                if not mask:
                    broadcast.playing.discard(controller_id)
        self._audit("zones_stopped", source_of(context), target=broadcast.id, context=context, zones=dropped)

    # --- held broadcasts (the alternation) -------------------------------------------------------------

    async def async_hold(
        self,
        *,
        zones: Sequence[Zone],
        message: Message,
        repeat: int,
        origin: str,
        on_done: BroadcastCallback,
        on_end: BroadcastCallback,
    ) -> Broadcast:
        """Hold ``zones`` at fire priority, silent until :meth:`async_play_held`; raise BroadcastBlocked."""
        broadcast = self._new(
            priority=Priority.FIRE,
            message=message,
            zones=zones,
            repeat=repeat,
            volume=None,
            origin=origin,
            context=None,
            persistent=True,
        )
        broadcast.on_done, broadcast.on_end = on_done, on_end
        async with self._transaction():
            if blockers := self._blockers(broadcast):
                raise BroadcastBlocked(blockers[0])
            await self._async_begin(broadcast, silent=True)
        return broadcast

    async def async_play_held(self, broadcast: Broadcast) -> bool:
        """Play a held broadcast's message once (its repeats); False when it is gone or cannot play."""
        async with self._transaction():
            if self.active.get(broadcast.id) is not broadcast:
                return False
            try:
                await self._async_prepare(broadcast)
                await self._async_play(broadcast)
            except HomeAssistantError as err:
                LOGGER.warning("Evacuation message of %s did not play: %s", broadcast.origin, err)
                broadcast.status = Status.HOLDING
                return False
            broadcast.status = Status.PLAYING
            self._audit(
                "played",
                Source.SYSTEM,
                target=broadcast.id,
                origin=broadcast.origin,
                repeat=broadcast.repeat,
                zones=[zone.id for zone in broadcast.zones],
                failed=dict(broadcast.failed) or None,
            )
            return True

    async def async_quiet_held(self, broadcast: Broadcast) -> None:
        """Stop a held broadcast's message but keep its zones (the message overran its time)."""
        async with self._transaction():
            if self.active.get(broadcast.id) is not broadcast or broadcast.status is not Status.PLAYING:
                return
            await self._async_stop_on(broadcast.controllers())
            broadcast.playing.clear()
            broadcast.status = Status.HOLDING

    async def async_release(self, broadcast: Broadcast) -> None:
        """End a held broadcast (the alarm was silenced or reset)."""
        async with self._transaction():
            if self.active.get(broadcast.id) is broadcast:
                broadcast.on_end = None  # its owner is the one letting go
                await self._async_end(broadcast, EndReason.RELEASED)
                await self._async_start_queued()

    # --- zones ----------------------------------------------------------------------------------------

    async def async_set_zone_volume(self, zone: Zone, volume: int, context: Context | None) -> None:
        """Set a zone's own volume (0-100), verified by read-back."""
        controller = self.controllers[zone.controller_id]
        key = f"zone_volume_{zone.number}"
        if key not in controller.points:
            raise _error("broadcast_no_zone_volume", zone=zone.id)
        async with self._transaction():
            try:
                await self._async_write(controller, {key: volume})
            except ModbusError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="broadcast_failed",
                    translation_placeholders={"error": str(err)},
                ) from err
            controller.volumes[zone.number] = volume
            self._audit("volume", source_of(context), target=zone.id, context=context, volume=volume)

    def diagnostics(self) -> dict[str, Any]:
        """Active and queued broadcasts and what each controller reports."""
        return {
            "active": [b.describe() for b in self.active.values()],
            "queued": [b.describe() for b in self.queue],
            "controllers": {
                c.id: {
                    "online": c.online,
                    "playing": c.playing,
                    "current_message": c.current_message,
                    "active_zones": c.active_zones,
                    "fetch_status": c.fetch_status,
                    "amplifier_fault": c.amplifier_fault,
                    "zones": len(c.zones),
                }
                for c in self.controllers.values()
            },
        }


async def async_setup_broadcast(hass: HomeAssistant, entry: SmartParkConfigEntry) -> BroadcastManager:
    """Create the park's broadcast manager and, when enabled, the bells/message alternation."""
    from .alternation import async_setup_alternation

    manager = BroadcastManager(hass, entry)
    manager.async_start()
    entry.async_on_unload(manager.async_unload)
    manager.alternation = async_setup_alternation(hass, entry, manager)
    return manager


# --- actions --------------------------------------------------------------------------------------------

PRIORITY_LABELS: Final = [p.label for p in Priority]
TARGET_FIELDS: Final = {
    vol.Optional(ATTR_ZONES): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_BUILDINGS): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_ALL, default=False): cv.boolean,
    vol.Optional(ATTR_PIN): cv.string,
}
BROADCAST_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        **TARGET_FIELDS,
        # Checked in the handler, so that each bad value gets a translated error naming its field.
        vol.Optional(ATTR_PRESET): vol.Any(cv.string, int),
        vol.Optional(ATTR_MESSAGE): vol.Any(None, cv.string),
        vol.Optional(ATTR_LANGUAGE): cv.string,
        vol.Optional(ATTR_TTS_ENGINE): cv.string,
        vol.Optional(ATTR_PRIORITY, default=Priority.NOTICE.label): vol.In(PRIORITY_LABELS),
        vol.Optional(ATTR_REPEAT, default=1): vol.All(vol.Coerce(int), vol.Range(min=0, max=99)),
        vol.Optional(ATTR_VOLUME): vol.All(vol.Coerce(int), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_QUEUE, default=False): cv.boolean,
        vol.Optional(ATTR_QUEUE_TIMEOUT, default=DEFAULT_QUEUE_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=86400)
        ),
        vol.Optional(ATTR_INCIDENT_ID): cv.string,
    }
)
STOP_SCHEMA: Final = vol.Schema({**ENTRY_FIELD, **TARGET_FIELDS, vol.Optional(ATTR_BROADCAST_ID): cv.string})


async def async_message_from(
    manager: BroadcastManager, data: Mapping[str, Any], zones: Sequence[Zone]
) -> Message:
    """The message of an action: exactly one of a preset or a non-empty text; translated errors."""
    preset, text = data.get(ATTR_PRESET), data.get(ATTR_MESSAGE)
    if preset is not None and text is not None:
        raise _error("broadcast_preset_and_message", field=ATTR_PRESET)
    if preset is None and text is None:
        raise _error("broadcast_no_message", field=ATTR_MESSAGE)
    if text is not None:
        if not text.strip():
            raise _error("broadcast_empty_message", field=ATTR_MESSAGE)
        return await manager.async_tts_message(
            text.strip(), data.get(ATTR_LANGUAGE), data.get(ATTR_TTS_ENGINE)
        )
    return await manager.async_preset_message(zones, str(preset).strip())


async def _async_broadcast(call: ServiceCall) -> ServiceResponse:
    entry = call_entry(call)
    manager = entry.runtime_data.broadcast
    data = call.data
    # Everything is checked before anything is written: a bad call changes nothing.
    if (incident_id := data.get(ATTR_INCIDENT_ID)) is not None and entry.runtime_data.incidents.get(
        incident_id
    ) is None:
        raise _error("incident_not_found", incident_id=incident_id)
    zones = manager.resolve_zones(data.get(ATTR_ZONES), data.get(ATTR_BUILDINGS), data[ATTR_ALL])
    message = await async_message_from(manager, data, zones)
    broadcast = await manager.async_broadcast(
        zones=zones,
        message=message,
        priority=Priority.from_label(data[ATTR_PRIORITY]),
        repeat=data[ATTR_REPEAT],
        volume=data.get(ATTR_VOLUME),
        queue=data[ATTR_QUEUE],
        queue_timeout=data[ATTR_QUEUE_TIMEOUT],
        context=call.context,
        pin=data.get(ATTR_PIN),
        incident_id=incident_id,
    )
    return {ATTR_BROADCAST_ID: broadcast.id, "status": broadcast.status.value}


async def _async_stop_broadcast(call: ServiceCall) -> ServiceResponse:
    manager = call_entry(call).runtime_data.broadcast
    data = call.data
    zones: tuple[Zone, ...] | None = None
    if data.get(ATTR_ZONES) or data.get(ATTR_BUILDINGS):
        zones = manager.resolve_zones(data.get(ATTR_ZONES), data.get(ATTR_BUILDINGS), data[ATTR_ALL])
    stopped = await manager.async_stop(
        zones=zones, broadcast_id=data.get(ATTR_BROADCAST_ID), context=call.context, pin=data.get(ATTR_PIN)
    )
    return {"stopped": list[JsonValueType](stopped)}


def async_register_services(hass: HomeAssistant) -> None:
    """Register ``smart_park.broadcast`` and ``smart_park.stop_broadcast``."""
    hass.services.async_register(
        DOMAIN,
        "broadcast",
        _async_broadcast,
        schema=BROADCAST_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "stop_broadcast",
        _async_stop_broadcast,
        schema=STOP_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
