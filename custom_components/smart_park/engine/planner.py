"""Modbus read planning and point coding: which requests read a device's points, and their wire values.

Pure functions over the catalogue's points (no I/O): the poller plans each tier's reads once with
:func:`plan_blocks`, and decodes and encodes values with :func:`decode_point` and :func:`encode_point`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .catalogue import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, Point, Table
from .codec import DataType, decode_at, encode_registers, register_count, scale_value, unscale_value

DEFAULT_MAX_GAP = 8
# Bits are packed eight to a byte, so a gap of N registers costs as much as 16*N bits on the wire.
BITS_PER_REGISTER = 16


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: a contiguous address range of one table and the points decoded from it."""

    table: Table
    address: int
    count: int
    points: tuple[Point, ...]


def plan_blocks(
    points: Iterable[Point],
    *,
    max_gap: int = DEFAULT_MAX_GAP,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_bits: int = MAX_BITS_PER_READ,
) -> list[ReadBlock]:
    """Coalesce points into the fewest read requests.

    Points of one table are merged while the unread gap between them is at most ``max_gap`` registers
    (``16 * max_gap`` bits) and the block stays within the protocol limit. Sorted greedy merging is optimal
    here: any split it makes is forced by a gap or by the size limit.
    """
    by_table: dict[Table, list[Point]] = {}
    for point in points:
        by_table.setdefault(point.table, []).append(point)
    blocks: list[ReadBlock] = []
    for table in Table:
        table_points = sorted(by_table.get(table, []), key=lambda p: (p.address, p.count))
        limit = max_bits if table.is_bit else max_registers
        gap = max_gap * BITS_PER_REGISTER if table.is_bit else max_gap
        current: list[Point] = []
        start = end = 0
        for point in table_points:
            if current and point.address - end <= gap and max(end, point.end) - start <= limit:
                current.append(point)
                end = max(end, point.end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [point], point.address, point.end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


def decode_point(point: Point, block: ReadBlock, data: Sequence[int] | Sequence[bool]) -> Any:
    """Engineering value of ``point`` from the data a block read returned.

    Raises :class:`ValueError` when ``data`` does not cover the point (the read path checks replies first;
    this keeps a short list from ever turning into an ``IndexError`` or a value read from the wrong place).
    """
    offset = point.address - block.address
    data_type = point.data_type
    count = register_count(data_type)
    if offset < 0 or offset + count > len(data):
        raise ValueError(f"{point.key}: {len(data)} values do not cover offset {offset} + {count}")
    if data_type is DataType.BOOL:
        return bool(data[offset])
    raw = decode_at(data, offset, data_type, point.word_order)
    if point.options:
        return point.options.get(int(raw))
    return scale_value(raw, point.scale, point.offset, point.precision)


def encode_point(point: Point, value: Any) -> list[int] | list[bool]:
    """Wire words (or bits) for writing ``value`` to ``point``."""
    if point.data_type is DataType.BOOL:
        return [bool(value)]
    if point.options and isinstance(value, str):
        by_name = {name: raw for raw, name in point.options.items()}
        if value not in by_name:
            raise ValueError(f"{point.key}: {value!r} is not one of {sorted(by_name)}")
        value = by_name[value]
    return encode_registers(
        unscale_value(float(value), point.scale, point.offset), point.data_type, point.word_order
    )
