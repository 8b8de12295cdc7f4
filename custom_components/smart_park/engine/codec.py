"""Register codec: the one place where Modbus words become values and back.

Used by the integration's poller, by the write path and by the park simulator, so a register map
decodes the same everywhere.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
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


def register_count(data_type: DataType) -> int:
    """Registers (or bits, for bool) a value of this type occupies."""
    return 1 if data_type is DataType.BOOL else _FORMATS[data_type][1]


def decode_registers(
    words: Sequence[int],
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
) -> int | float:
    """Decode the raw value from its registers (no scaling)."""
    fmt, count = _FORMATS[data_type]
    if len(words) != count:
        raise ValueError(f"{data_type} needs {count} registers, got {len(words)}")
    ordered = list(words) if word_order is WordOrder.BIG else list(reversed(words))
    raw = b"".join(w.to_bytes(2, "big") for w in ordered)
    value: int | float = struct.unpack(fmt, raw)[0]
    return value


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
