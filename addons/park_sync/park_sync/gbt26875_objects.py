"""GB/T 26875.3-2011 information objects (信息对象) as frozen dataclasses, and the 31-byte descriptions.

Type and address fields take plain ints (the enums in ``gbt26875_codes`` are ints); state fields take the
IntFlags. Time labels are naive local time. The byte layout of each class is in ``gbt26875_units``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .gbt26875 import FrameError, Reason
from .gbt26875_codes import (
    ANALOG_SCALE,
    ComponentState,
    OperationFlag,
    SystemState,
    UITDOperation,
    UITDState,
)

DESCRIPTION_LEN = 31  # 部件说明: GB18030, padded with 0x20 to 30 bytes and closed by 0x00


def component_address(zone: int, number: int) -> int:
    """The 4-byte component address (区号, 位号): zone in the first two bytes, number in the last two."""
    for name, value in (("zone", zone), ("number", number)):
        if not 0 <= value <= 0xFFFF:
            raise FrameError(Reason.VALUE, name, f"{value} is outside 0-65535")
    return zone | number << 16


def gb18030_prefix(text: str, limit: int) -> bytes:
    """GB18030 bytes of ``text``, cut at a character boundary to at most ``limit`` bytes."""
    data = text.encode("gb18030", errors="replace")
    if len(data) <= limit:
        return data
    out = b""
    for char in text:
        piece = char.encode("gb18030", errors="replace")
        if len(out) + len(piece) > limit:
            break
        out += piece
    return out


def encode_description(text: str) -> bytes:
    """31 bytes: GB18030, cut on a character boundary to 30 bytes, padded with 0x20, closed by 0x00."""
    return gb18030_prefix(text, DESCRIPTION_LEN - 1).ljust(DESCRIPTION_LEN - 1, b" ") + b"\x00"


def decode_description(raw: bytes) -> str:
    """Text up to the first 0x00, trailing spaces dropped; undecodable bytes become U+FFFD, never an error."""
    return raw.split(b"\x00", 1)[0].decode("gb18030", errors="replace").rstrip(" ")


# --- information objects ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SystemStatus:
    """Type 1 (and the answer to 61)."""

    system_type: int
    system_address: int
    state: SystemState
    time: datetime


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """Type 2 (and the answer to 62)."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    state: ComponentState
    description: str
    time: datetime

    @property
    def zone(self) -> int:
        return self.component_address & 0xFFFF

    @property
    def number(self) -> int:
        return self.component_address >> 16


@dataclass(frozen=True, slots=True)
class AnalogValue:
    """Type 3 (and the answer to 63). ``value`` is the raw signed count; ``scaled`` applies the unit."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    analog_type: int
    value: int
    time: datetime

    @property
    def scaled(self) -> float:
        """The value in the unit of ``ANALOG_SCALE`` (raw count for unknown or user-defined types)."""
        return self.value * ANALOG_SCALE.get(self.analog_type, (1.0, ""))[0]


@dataclass(frozen=True, slots=True)
class Operation:
    """Type 4 (and the answer to 64)."""

    system_type: int
    system_address: int
    operation: OperationFlag
    operator: int
    time: datetime


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    """Type 5 (answer to 65)."""

    system_type: int
    system_address: int
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """Type 6 (answer to 66): a GB18030 text of at most 255 bytes."""

    system_type: int
    system_address: int
    config: str


@dataclass(frozen=True, slots=True)
class ComponentConfig:
    """Type 7 (answer to 67)."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    description: str


@dataclass(frozen=True, slots=True)
class SystemTime:
    """Type 8 (answer to 68)."""

    system_type: int
    system_address: int
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDStatus:
    """Type 21 (answer to 81)."""

    state: UITDState
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDOperationRecord:
    """Type 24 (answer to 84); a roll-call answer has ``ROLL_CALL_ANSWER`` set."""

    operation: UITDOperation
    operator: int
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDVersion:
    """Type 25 (answer to 85)."""

    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class UITDConfig:
    """Type 26 (answer to 86): a GB18030 text of at most 255 bytes."""

    config: str


@dataclass(frozen=True, slots=True)
class UITDTime:
    """Type 28 (answer to 88)."""

    time: datetime


@dataclass(frozen=True, slots=True)
class ReadSystem:
    """Types 61, 65, 66, 68: read a system's state, software version, configuration or clock."""

    system_type: int
    system_address: int


@dataclass(frozen=True, slots=True)
class ReadComponent:
    """Types 62, 63, 67: read a component's state, analogue value or configuration."""

    system_type: int
    system_address: int
    component_address: int


@dataclass(frozen=True, slots=True)
class ReadOperations:
    """Type 64: the ``count`` most recent operation records of a system from ``since``."""

    system_type: int
    system_address: int
    count: int
    since: datetime


@dataclass(frozen=True, slots=True)
class ReadUITD:
    """Types 81, 85, 86, 88 (reads) and 89 (initialise): one reserved byte."""

    reserved: int = 0


@dataclass(frozen=True, slots=True)
class ReadUITDOperations:
    """Type 84: the ``count`` most recent UITD operation records from ``since``."""

    count: int
    since: datetime


@dataclass(frozen=True, slots=True)
class ClockSync:
    """Type 90: set the UITD's clock to ``time``."""

    time: datetime


@dataclass(frozen=True, slots=True)
class RollCall:
    """Type 91 (查岗): the duty room must answer within ``timeout`` minutes."""

    timeout: int


InfoObject = (
    SystemStatus
    | ComponentStatus
    | AnalogValue
    | Operation
    | SoftwareVersion
    | SystemConfig
    | ComponentConfig
    | SystemTime
    | UITDStatus
    | UITDOperationRecord
    | UITDVersion
    | UITDConfig
    | UITDTime
    | ReadSystem
    | ReadComponent
    | ReadOperations
    | ReadUITD
    | ReadUITDOperations
    | ClockSync
    | RollCall
)
