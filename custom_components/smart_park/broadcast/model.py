"""What the broadcast capability talks about: priorities, zones, controllers, messages and broadcasts.

Plain data, no I/O: every other module of the package shares it. The action field names live here too, since
the actions, the zones' media players and the errors' ``field`` placeholders all name them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Context

from ..audit import Source
from ..engine.catalogue import Point
from ..engine.profile import Device, ParkProfile

CONTROLLER_TYPE: Final = "broadcast_controller"
# fetch_status values below 100; anything else is the HTTP status of the controller's last fetch.
FETCH_UNKNOWN_TICKET, FETCH_CONNECTION_FAILED = 1, 2
DEFAULT_QUEUE_TIMEOUT: Final = 600.0

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


class BroadcastStatus(StrEnum):
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
    status: BroadcastStatus = BroadcastStatus.QUEUED
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

    def started_data(self, victims: Sequence[Broadcast]) -> dict[str, Any]:
        """What the audit log records when it starts (or is queued): who, what, where, whom it preempted."""
        data = self.describe()
        data.pop("ended_at")
        data.pop("end_reason")
        data.pop("preempted_by")
        data["zone_names"] = [zone.name for zone in self.zones if zone.name]
        data["preempted"] = [victim.id for victim in victims]
        if self.failed:
            data["failed"] = dict(self.failed)
        return data

    def ended_data(self) -> dict[str, Any]:
        """What the audit log records when it ends: the whole story in one entry."""
        return {
            "reason": self.end_reason.value if self.end_reason else None,
            "priority": self.priority.label,
            "title": self.message.title,
            "zones": [zone.id for zone in self.zones],
            "started_by": self.user_id,
            "origin": self.origin,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "preempted_by": self.preempted_by,
            "failed": dict(self.failed) or None,
        }


@dataclass(slots=True)
class BroadcastController:
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


def build_controllers(profile: ParkProfile) -> dict[str, BroadcastController]:
    """The park's broadcast controllers with their zones (named and placed by the device's channel map)."""
    controllers: dict[str, BroadcastController] = {}
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
        controllers[device.id] = BroadcastController(device, zones, presets, points)
    return controllers
