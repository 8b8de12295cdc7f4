"""Park profile model: the validated profile's dataclasses and its error, with the English issue messages.

:func:`.profile.parse_profile` builds these; everything else (the integration, the simulator, the
benchmarks) reads them, through :mod:`.profile`, which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .catalogue import DeviceType, Point


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    """One problem in a profile: where, what (a translation key) and the values for its message."""

    path: str
    code: str
    placeholders: Mapping[str, str] = field(default_factory=dict)

    def english(self) -> str:
        """The message in English (logs, CLI); HA renders it through the translation of ``code``."""
        return f"{self.path}: {ENGLISH[self.code].format(**self.placeholders)}"


class ProfileError(Exception):
    """The profile is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ProfileIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(issue.english() for issue in self.issues))


# English message per code; strings.json has the same as exceptions.profile_<code> (a test checks both).
ENGLISH: dict[str, str] = {
    "bad_yaml": "not valid YAML ({reason})",
    "too_large": "the profile is larger than {max} MB",
    "yaml_aliases": "more than {max} YAML aliases, or aliases that expand to more than {nodes} values",
    "yaml_depth": "nested deeper than {max} levels (line {line})",
    "duplicate_key": "key {key} appears twice in the same mapping (line {line})",
    "invalid": "{reason}",
    "required": "required field missing",
    "unknown_device_type": "unknown device type {type}",
    "duplicate_id": "id {id} already used",
    "duplicate_unit": "unit {unit} already used on gateway {gateway}",
    "unit_out_of_range": "unit {unit} is outside 1–247",
    "unknown_building": "no building with id {id}",
    "unknown_gateway": "no gateway with id {id}",
    "unknown_enterprise": "no enterprise with id {id}",
    "floor_out_of_range": "floor {floor} is outside building {building} ({lowest} to {highest})",
    "overlapping_registers": "{key} overlaps {other} in {table} at address {address}",
    "channels_out_of_range": "channels {channels} is more than {type} supports ({max})",
    "no_gateway": "no gateway given and the profile has none",
    "unknown_channel_function": "unknown channel function {function} (known: {known})",
    "channel_function_unsupported": "channel function {function} needs point {point}, which {type} lacks",
}


@dataclass(frozen=True, slots=True)
class Gateway:
    """A Modbus TCP gateway or a serial RTU bus."""

    id: str
    name: str
    protocol: str
    host: str | None
    port: int
    serial_port: str | None
    baudrate: int
    parity: str
    stopbits: int
    bytesize: int
    timeout: float
    # tcp, serial_over_tcp or rtu (None: not declared, no bus model); the serial line's timing
    # (engine/bus.py) in ms and bytes, None: defaults.
    transport: str | None = None
    turnaround: float | None = None
    frame_gap: float | None = None
    max_frame: int | None = None

    @property
    def serial(self) -> bool:
        """Whether requests cross a serial line (its bus time is then the limit, not the network)."""
        return self.transport in ("serial_over_tcp", "rtu")


@dataclass(frozen=True, slots=True)
class Building:
    """A building with its floor range (basements are negative floors)."""

    id: str
    name: str
    floors: int
    basements: int

    @property
    def floor_range(self) -> tuple[int, int]:
        """Lowest and highest valid floor numbers."""
        return (-self.basements if self.basements else 1, self.floors)

    def has_floor(self, floor: int) -> bool:
        """Whether ``floor`` exists in this building (there is no floor 0)."""
        lowest, highest = self.floor_range
        return floor != 0 and lowest <= floor <= highest


@dataclass(frozen=True, slots=True)
class Enterprise:
    """An enterprise of the park (the registry owns its other fields, kept in ``extra``)."""

    id: str
    name: str
    building: str | None
    floor: int | None
    extra: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Channel:
    """Where one channel of a multi-channel device (floor call point, IO input) is."""

    name: str | None = None
    floor: int | None = None
    enterprise: str | None = None
    # What the channel serves (a key of CHANNEL_FUNCTIONS), e.g. an IO module input wired to an alarm button.
    function: str | None = None
    # None: the device's building.
    building: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """A field device on a gateway, with its resolved register map."""

    id: str
    name: str
    device_type: DeviceType
    gateway: str
    unit: int
    building: str | None
    floor: int | None
    enterprise: str | None
    channels: int
    channel_map: Mapping[int, Channel]
    points: tuple[Point, ...]

    def channel(self, number: int) -> Channel:
        """Placement of a channel; a fire-bell controller's channel n defaults to floor n."""
        default = Channel(floor=number) if self.device_type.type == "fire_bell_controller" else Channel()
        return self.channel_map.get(number, default)


@dataclass(frozen=True, slots=True)
class ParkProfile:
    """A validated park profile."""

    id: str
    name: str
    gateways: Mapping[str, Gateway]
    buildings: Mapping[str, Building]
    enterprises: Mapping[str, Enterprise]
    devices: Mapping[str, Device]
    device_types: Mapping[str, DeviceType]
    raw: Mapping[str, Any]
