"""Read planning: fewest requests within protocol limits and the configured gap."""

from __future__ import annotations

import itertools
import random

import pytest

from custom_components.smart_park.engine.catalogue import Point, Table, builtin_device_types
from custom_components.smart_park.engine.codec import DataType
from custom_components.smart_park.engine.modbus import plan_blocks


def _reg(address: int, data_type: DataType = DataType.UINT16, table: Table = Table.INPUT_REGISTER) -> Point:
    return Point(key=f"p{address}", table=table, address=address, data_type=data_type)


def _bit(address: int) -> Point:
    return Point(key=f"b{address}", table=Table.DISCRETE_INPUT, address=address, data_type=DataType.BOOL)


def test_contiguous_points_make_one_block() -> None:
    blocks = plan_blocks([_reg(0), _reg(1), _reg(2, DataType.UINT32), _reg(4)])
    assert [(b.address, b.count, len(b.points)) for b in blocks] == [(0, 5, 4)]


def test_gap_within_limit_is_read_through() -> None:
    assert [(b.address, b.count) for b in plan_blocks([_reg(0), _reg(9)], max_gap=8)] == [(0, 10)]
    assert [(b.address, b.count) for b in plan_blocks([_reg(0), _reg(10)], max_gap=8)] == [(0, 1), (10, 1)]
    assert len(plan_blocks([_reg(0), _reg(2)], max_gap=0)) == 2
    assert len(plan_blocks([_reg(0), _reg(1)], max_gap=0)) == 1


def test_register_limit_125() -> None:
    points = [_reg(a) for a in range(300)]
    blocks = plan_blocks(points)
    assert [b.count for b in blocks] == [125, 125, 50]
    # A 32-bit value never straddles two requests.
    blocks = plan_blocks([_reg(a) for a in range(124)] + [_reg(124, DataType.UINT32)])
    assert [(b.address, b.count) for b in blocks] == [(0, 124), (124, 2)]


def test_bit_limit_2000_and_bit_gap() -> None:
    blocks = plan_blocks([_bit(a) for a in range(4500)])
    assert [b.count for b in blocks] == [2000, 2000, 500]
    # A gap of 8 registers is 128 bits.
    assert len(plan_blocks([_bit(0), _bit(129)], max_gap=8)) == 1
    assert len(plan_blocks([_bit(0), _bit(130)], max_gap=8)) == 2


def test_tables_never_mix() -> None:
    blocks = plan_blocks([_reg(0), _reg(1, table=Table.HOLDING_REGISTER), _bit(0)])
    assert sorted(b.table for b in blocks) == sorted(
        [Table.INPUT_REGISTER, Table.HOLDING_REGISTER, Table.DISCRETE_INPUT]
    )


@pytest.mark.parametrize("seed", range(20))
def test_random_layouts_cover_every_point_once_and_respect_limits(seed: int) -> None:
    rng = random.Random(seed)
    points = {rng.randrange(0, 3000): _reg(0) for _ in range(400)}
    pts = [_reg(a) for a in sorted(points)]
    gap = rng.randrange(0, 20)
    blocks = plan_blocks(pts, max_gap=gap)
    covered = [p.address for b in blocks for p in b.points]
    assert sorted(covered) == sorted(p.address for p in pts)
    for block in blocks:
        assert block.count <= 125
        assert all(block.address <= p.address and p.end <= block.address + block.count for p in block.points)
    # Minimality: adjacent blocks are split only by a gap larger than allowed or by the size limit.
    for first, second in itertools.pairwise(blocks):
        gap_between = second.address - (first.address + first.count)
        assert gap_between > gap or (second.points[-1].end - first.address) > 125


def test_catalogue_devices_plan_per_tier() -> None:
    bells = builtin_device_types()["fire_bell_controller"]
    fast = [p for p in bells.points_for(6) if p.tier == "safety"]
    blocks = plan_blocks(fast)
    # The six call points (DI 0-5): one request for a building's whole safety tier.
    assert [(b.table, b.address, b.count) for b in blocks] == [(Table.DISCRETE_INPUT, 0, 6)]
    normal = plan_blocks([p for p in bells.points_for(6) if p.tier == "normal"])
    # Bells (coils 0-5); circuit faults (DI 32-37) and mains/battery (DI 64-65) are 26 bits apart: one read.
    assert [(b.table, b.address, b.count) for b in normal] == [
        (Table.COIL, 0, 6),
        (Table.DISCRETE_INPUT, 32, 34),
    ]
