"""GB/T 26875.3-2011 data units (应用数据单元): type flag (1) + object count (1) + information objects.

The one import point for units: the code tables (``gbt26875_codes``) and object classes
(``gbt26875_objects``) are re-exported here. ``DataUnit(type_flag, objects)`` encodes to the bytes a
``Frame`` carries and ``decode_unit`` reads them back, refusing with ``FrameError`` (reason ``type``,
``unit``, ``truncated`` or ``time``). Uploads go as 发送数据 (types 1-8, 21-28); the centre's reads
(61-68, 81-88) as 请求; its initialise (89), clock sync (90) and roll-call (91) as 控制命令.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

from .gbt26875 import MAX_DATA, Command, FrameError, Reason, decode_time, encode_time
from .gbt26875_codes import (
    ANALOG_SCALE,
    AnalogType,
    ComponentState,
    ComponentType,
    OperationFlag,
    SystemState,
    SystemType,
    UITDOperation,
    UITDState,
    UnitType,
    analog_raw,
)
from .gbt26875_objects import (
    DESCRIPTION_LEN,
    AnalogValue,
    ClockSync,
    ComponentConfig,
    ComponentStatus,
    InfoObject,
    Operation,
    ReadComponent,
    ReadOperations,
    ReadSystem,
    ReadUITD,
    ReadUITDOperations,
    RollCall,
    SoftwareVersion,
    SystemConfig,
    SystemStatus,
    SystemTime,
    UITDConfig,
    UITDOperationRecord,
    UITDStatus,
    UITDTime,
    UITDVersion,
    component_address,
    decode_description,
    encode_description,
    gb18030_prefix,
)

__all__ = [
    "ANALOG_SCALE",
    "CONTROL_TYPES",
    "DESCRIPTION_LEN",
    "MAX_OBJECTS",
    "OBJECT_CLASS",
    "READ_ANSWERS",
    "AnalogType",
    "AnalogValue",
    "ClockSync",
    "ComponentConfig",
    "ComponentState",
    "ComponentStatus",
    "ComponentType",
    "DataUnit",
    "InfoObject",
    "Operation",
    "OperationFlag",
    "ReadComponent",
    "ReadOperations",
    "ReadSystem",
    "ReadUITD",
    "ReadUITDOperations",
    "RollCall",
    "SoftwareVersion",
    "SystemConfig",
    "SystemState",
    "SystemStatus",
    "SystemTime",
    "SystemType",
    "UITDConfig",
    "UITDOperation",
    "UITDOperationRecord",
    "UITDState",
    "UITDStatus",
    "UITDTime",
    "UITDVersion",
    "UnitType",
    "analog_raw",
    "command_for",
    "component_address",
    "decode_description",
    "decode_unit",
    "encode_description",
    "unit",
]

MAX_OBJECTS = 255


# --- field codecs: (encode value -> bytes, decode bytes at offset -> (value, new offset)) -------------------
class _Field:
    def __init__(self, size: int, signed: bool = False, wrap: Callable[[int], Any] = int) -> None:
        self.size = size
        self.signed = signed
        self.wrap = wrap

    def encode(self, value: Any, name: str) -> bytes:
        bits = 8 * self.size
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)
        if not isinstance(value, int) or not low <= value <= high:
            raise FrameError(Reason.VALUE, name, f"{value!r} is outside {low}-{high}")
        return int(value).to_bytes(self.size, "little", signed=self.signed)

    def decode(self, data: bytes, at: int, name: str) -> tuple[Any, int]:
        end = _need(data, at, self.size, name)
        return self.wrap(int.from_bytes(data[at:end], "little", signed=self.signed)), end


class _Time(_Field):
    def __init__(self) -> None:
        super().__init__(6)

    def encode(self, value: Any, name: str) -> bytes:
        if not isinstance(value, datetime):
            raise FrameError(Reason.VALUE, name, f"{value!r} is not a datetime")
        return encode_time(value, name)

    def decode(self, data: bytes, at: int, name: str) -> tuple[Any, int]:
        end = _need(data, at, 6, name)
        return decode_time(data[at:end], name), end


class _Description(_Field):
    def __init__(self) -> None:
        super().__init__(DESCRIPTION_LEN)

    def encode(self, value: Any, name: str) -> bytes:
        return encode_description(str(value))

    def decode(self, data: bytes, at: int, name: str) -> tuple[Any, int]:
        end = _need(data, at, DESCRIPTION_LEN, name)
        return decode_description(data[at:end]), end


class _Text(_Field):
    """Length byte + GB18030 text (configuration descriptions); trailing NULs and spaces dropped."""

    def __init__(self) -> None:
        super().__init__(1)

    def encode(self, value: Any, name: str) -> bytes:
        data = gb18030_prefix(str(value), 0xFF)
        return bytes((len(data),)) + data

    def decode(self, data: bytes, at: int, name: str) -> tuple[Any, int]:
        end = _need(data, at, 1, name)
        stop = _need(data, end, data[at], name)
        return data[end:stop].decode("gb18030", errors="replace").rstrip("\x00 "), stop


def _need(data: bytes, at: int, size: int, name: str) -> int:
    if at + size > len(data):
        raise FrameError(
            Reason.TRUNCATED, name, f"needs {size} bytes at offset {at}, the unit has {len(data)}"
        )
    return at + size


U8, U32, TIME, DESC, TEXT = _Field(1), _Field(4), _Time(), _Description(), _Text()
I16 = _Field(2, signed=True)

# Each object class: its fields in wire order (names as in the dataclass).
_LAYOUTS: dict[type, tuple[_Field, ...]] = {
    SystemStatus: (U8, U8, _Field(2, wrap=SystemState), TIME),
    ComponentStatus: (U8, U8, U8, U32, _Field(2, wrap=ComponentState), DESC, TIME),
    AnalogValue: (U8, U8, U8, U32, U8, I16, TIME),
    Operation: (U8, U8, _Field(1, wrap=OperationFlag), U8, TIME),
    SoftwareVersion: (U8, U8, U8, U8),
    SystemConfig: (U8, U8, TEXT),
    ComponentConfig: (U8, U8, U8, U32, DESC),
    SystemTime: (U8, U8, TIME),
    UITDStatus: (_Field(1, wrap=UITDState), TIME),
    UITDOperationRecord: (_Field(1, wrap=UITDOperation), U8, TIME),
    UITDVersion: (U8, U8),
    UITDConfig: (TEXT,),
    UITDTime: (TIME,),
    ReadSystem: (U8, U8),
    ReadComponent: (U8, U8, U32),
    ReadOperations: (U8, U8, U8, TIME),
    ReadUITD: (U8,),
    ReadUITDOperations: (U8, TIME),
    ClockSync: (TIME,),
    RollCall: (U8,),
}

T = UnitType
OBJECT_CLASS: dict[UnitType, type] = {
    T.SYSTEM_STATE: SystemStatus,
    T.COMPONENT_STATE: ComponentStatus,
    T.COMPONENT_ANALOG: AnalogValue,
    T.OPERATION: Operation,
    T.SOFTWARE_VERSION: SoftwareVersion,
    T.SYSTEM_CONFIG: SystemConfig,
    T.COMPONENT_CONFIG: ComponentConfig,
    T.SYSTEM_TIME: SystemTime,
    T.UITD_STATE: UITDStatus,
    T.UITD_OPERATION: UITDOperationRecord,
    T.UITD_VERSION: UITDVersion,
    T.UITD_CONFIG: UITDConfig,
    T.UITD_TIME: UITDTime,
    T.READ_SYSTEM_STATE: ReadSystem,
    T.READ_COMPONENT_STATE: ReadComponent,
    T.READ_COMPONENT_ANALOG: ReadComponent,
    T.READ_OPERATIONS: ReadOperations,
    T.READ_SOFTWARE_VERSION: ReadSystem,
    T.READ_SYSTEM_CONFIG: ReadSystem,
    T.READ_COMPONENT_CONFIG: ReadComponent,
    T.READ_SYSTEM_TIME: ReadSystem,
    T.READ_UITD_STATE: ReadUITD,
    T.READ_UITD_OPERATIONS: ReadUITDOperations,
    T.READ_UITD_VERSION: ReadUITD,
    T.READ_UITD_CONFIG: ReadUITD,
    T.READ_UITD_TIME: ReadUITD,
    T.INITIALISE_UITD: ReadUITD,
    T.SYNC_UITD_TIME: ClockSync,
    T.ROLL_CALL: RollCall,
}
# The upload type that answers each read (sent as 应答 with the read's serial).
READ_ANSWERS: dict[UnitType, UnitType] = {
    T.READ_SYSTEM_STATE: T.SYSTEM_STATE,
    T.READ_COMPONENT_STATE: T.COMPONENT_STATE,
    T.READ_COMPONENT_ANALOG: T.COMPONENT_ANALOG,
    T.READ_OPERATIONS: T.OPERATION,
    T.READ_SOFTWARE_VERSION: T.SOFTWARE_VERSION,
    T.READ_SYSTEM_CONFIG: T.SYSTEM_CONFIG,
    T.READ_COMPONENT_CONFIG: T.COMPONENT_CONFIG,
    T.READ_SYSTEM_TIME: T.SYSTEM_TIME,
    T.READ_UITD_STATE: T.UITD_STATE,
    T.READ_UITD_OPERATIONS: T.UITD_OPERATION,
    T.READ_UITD_VERSION: T.UITD_VERSION,
    T.READ_UITD_CONFIG: T.UITD_CONFIG,
    T.READ_UITD_TIME: T.UITD_TIME,
}
CONTROL_TYPES = frozenset({T.INITIALISE_UITD, T.SYNC_UITD_TIME, T.ROLL_CALL})
_SHARED = frozenset({ReadSystem, ReadComponent, ReadUITD})
_TYPE_OF: dict[type, UnitType] = {cls: t for t, cls in OBJECT_CLASS.items() if cls not in _SHARED}


def command_for(type_flag: UnitType) -> Command:
    """The command a unit of this type travels with when it starts an exchange (answers to reads go as
    RESPONSE): uploads as SEND_DATA, reads as REQUEST, initialise / clock sync / roll-call as CONTROL."""
    if type_flag in CONTROL_TYPES:
        return Command.CONTROL
    return Command.REQUEST if type_flag >= T.READ_SYSTEM_STATE else Command.SEND_DATA


@dataclass(frozen=True, slots=True)
class DataUnit:
    """A type flag and its objects (1-255 of the class ``OBJECT_CLASS`` names for the type)."""

    type_flag: UnitType
    objects: tuple[InfoObject, ...]

    def encode(self) -> bytes:
        cls = OBJECT_CLASS.get(self.type_flag)
        if cls is None:
            raise FrameError(Reason.TYPE, "type", f"{int(self.type_flag)} is not a type this codec knows")
        if not 1 <= len(self.objects) <= MAX_OBJECTS:
            raise FrameError(
                Reason.UNIT, "count", f"{len(self.objects)} objects, a unit holds 1-{MAX_OBJECTS}"
            )
        out = bytearray((self.type_flag, len(self.objects)))
        for index, obj in enumerate(self.objects):
            if type(obj) is not cls:
                message = f"type {int(self.type_flag)} holds {cls.__name__}, got {type(obj).__name__}"
                raise FrameError(Reason.UNIT, f"objects[{index}]", message)
            for spec, value, name in zip(_LAYOUTS[cls], astuple(obj), _names(cls), strict=True):
                out += spec.encode(value, f"objects[{index}].{name}")
        if len(out) > MAX_DATA:
            raise FrameError(Reason.LENGTH, "length", f"data unit of {len(out)} bytes, limit {MAX_DATA}")
        return bytes(out)


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def unit(*objects: InfoObject, type_flag: UnitType | None = None) -> DataUnit:
    """A DataUnit of ``objects``; ``type_flag`` is needed only for classes several types share (ReadSystem,
    ReadComponent, ReadUITD)."""
    if type_flag is None:
        if not objects or type(objects[0]) not in _TYPE_OF:
            raise FrameError(Reason.TYPE, "type", "give type_flag for this object class")
        type_flag = _TYPE_OF[type(objects[0])]
    return DataUnit(type_flag, objects)


def decode_unit(data: bytes) -> DataUnit:
    """Read a frame's data unit. Empty data (a heartbeat, a confirm) is not a unit: check before calling."""
    if len(data) < 2:
        raise FrameError(Reason.TRUNCATED, "unit", f"{len(data)} bytes, a unit has a type flag and a count")
    try:
        type_flag = UnitType(data[0])
    except ValueError:
        raise FrameError(Reason.TYPE, "type", f"{data[0]} is not a type this codec knows") from None
    count = data[1]
    if count == 0:
        raise FrameError(Reason.UNIT, "count", "a unit holds at least one object")
    cls = OBJECT_CLASS[type_flag]
    names = _names(cls)
    objects: list[InfoObject] = []
    at = 2
    for index in range(count):
        values: list[Any] = []
        for spec, name in zip(_LAYOUTS[cls], names, strict=True):
            value, at = spec.decode(data, at, f"objects[{index}].{name}")
            values.append(value)
        objects.append(cls(*values))
    if at != len(data):
        message = f"{len(data) - at} bytes after {count} objects of type {int(type_flag)}"
        raise FrameError(Reason.UNIT, "unit", message)
    return DataUnit(type_flag, tuple(objects))
