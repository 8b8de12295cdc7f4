"""Register codec: the one place where Modbus words become values and back.

Used by the integration's poller, by the write path and by the park simulator, so a register map
decodes the same everywhere.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from enum import StrEnum


class DataType(StrEnum):
    """Wire data types a point may have."""

    BOOL = "bool"
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"
    UINT64 = "uint64"


class WordOrder(StrEnum):
    """Order of 16-bit words in a multi-register value (bytes inside a word are always big-endian)."""

    BIG = "big"
    LITTLE = "little"


# struct format and register count per register data type.
_FORMATS: dict[DataType, tuple[str, int]] = {
    DataType.UINT16: (">H", 1),
    DataType.INT16: (">h", 1),
    DataType.UINT32: (">I", 2),
    DataType.INT32: (">i", 2),
    DataType.FLOAT32: (">f", 2),
    DataType.UINT64: (">Q", 4),
}


# Per type: its register count, and the words -> bytes -> value step as one pack and one unpack (the poller
# decodes every point of every reply; this keeps it free of per-word Python work).
type _Coder = tuple[int, Callable[..., bytes], Callable[[bytes], tuple[int | float, ...]]]
_CODERS: dict[DataType, _Coder] = {
    data_type: (count, struct.Struct(f">{count}H").pack, struct.Struct(fmt).unpack)
    for data_type, (fmt, count) in _FORMATS.items()
}
_COUNTS = {data_type: count for data_type, (_fmt, count) in _FORMATS.items()} | {DataType.BOOL: 1}


def register_count(data_type: DataType) -> int:
    """Registers (or bits, for bool) a value of this type occupies."""
    return _COUNTS[data_type]


def decode_at(
    data: Sequence[int],
    offset: int,
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
) -> int | float:
    """Decode the raw value (no scaling) whose registers start at ``data[offset]``.

    Raises :class:`ValueError` when ``data`` ends before the value does, :class:`struct.error` when a word is
    not a 16-bit unsigned integer.
    """
    count, pack, unpack = _CODERS[data_type]
    words = data[offset : offset + count]
    if len(words) != count or offset < 0:
        raise ValueError(f"{data_type} needs {count} registers, got {len(words)}")
    if word_order is WordOrder.LITTLE and count > 1:
        words = words[::-1]
    return unpack(pack(*words))[0]


def decode_registers(
    words: Sequence[int],
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
) -> int | float:
    """Decode the raw value from its registers (no scaling)."""
    count = _CODERS[data_type][0]
    if len(words) != count:
        raise ValueError(f"{data_type} needs {count} registers, got {len(words)}")
    return decode_at(words, 0, data_type, word_order)


def encode_registers(
    value: int | float,
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
) -> list[int]:
    """Encode a raw value (no scaling) into registers."""
    fmt, count = _FORMATS[data_type]
    if data_type is not DataType.FLOAT32:
        value = round(value)
    raw = struct.pack(fmt, value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * count, 2)]
    return words if word_order is WordOrder.BIG else list(reversed(words))


def scale_value(raw: int | float, scale: float, offset: float, precision: int | None) -> int | float:
    """Engineering value = raw * scale + offset, rounded to the point's precision."""
    if scale == 1 and offset == 0:
        return raw
    value = raw * scale + offset
    return round(value, precision) if precision is not None else value


def unscale_value(value: float, scale: float, offset: float) -> float:
    """Inverse of :func:`scale_value` (before encoding)."""
    return (value - offset) / scale
