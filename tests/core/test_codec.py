"""Register codec round trips, word order and the shared point decoder."""

from __future__ import annotations

import struct

import pytest

from custom_components.smart_park.engine.catalogue import builtin_device_types
from custom_components.smart_park.engine.codec import (
    DataType,
    WordOrder,
    decode_at,
    decode_registers,
    encode_registers,
)
from custom_components.smart_park.engine.modbus import decode_point, encode_point, plan_blocks


@pytest.mark.parametrize(
    ("data_type", "value", "words"),
    [
        (DataType.UINT16, 65535, [0xFFFF]),
        (DataType.INT16, -2, [0xFFFE]),
        (DataType.UINT32, 0x12345678, [0x1234, 0x5678]),
        (DataType.INT32, -1, [0xFFFF, 0xFFFF]),
        (DataType.FLOAT32, 1.5, [0x3FC0, 0x0000]),
        (DataType.UINT64, 2**40 + 7, [0, 0x100, 0, 7]),
    ],
)
def test_round_trip(data_type: DataType, value: float, words: list[int]) -> None:
    assert encode_registers(value, data_type) == words
    assert decode_registers(words, data_type) == value
    little = encode_registers(value, data_type, WordOrder.LITTLE)
    assert little == list(reversed(words))
    assert decode_registers(little, data_type, WordOrder.LITTLE) == value


def test_wrong_word_count() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_registers([1], DataType.UINT32)


def test_decode_at_reads_in_place() -> None:
    """The poller's decoder reads a value inside a reply; a short reply or a non-16-bit word is refused."""
    reply = [7, 0x3FC0, 0x0000, 0xFFFE]
    assert decode_at(reply, 1, DataType.FLOAT32) == 1.5
    assert decode_at([7, 0x0000, 0x3FC0], 1, DataType.FLOAT32, WordOrder.LITTLE) == 1.5
    assert decode_at(reply, 3, DataType.INT16, WordOrder.LITTLE) == -2
    with pytest.raises(ValueError, match="needs 2 registers, got 1"):
        decode_at(reply, 3, DataType.UINT32)
    with pytest.raises(ValueError, match="needs 1 registers"):
        decode_at(reply, -1, DataType.UINT16)
    with pytest.raises(struct.error):
        decode_at([0x10000], 0, DataType.UINT16)


def test_point_scale_and_enum() -> None:
    meter = builtin_device_types()["energy_meter"]
    energy = meter.point("energy_import")
    words = encode_point(energy, 12345.67)
    [block] = plan_blocks([energy])
    assert decode_point(energy, block, words) == 12345.67
    air = builtin_device_types()["air_quality_station"]
    temperature = air.point("temperature")
    [block] = plan_blocks([temperature])
    assert decode_point(temperature, block, encode_point(temperature, -5.3)) == -5.3
    state = builtin_device_types()["broadcast_controller"].point("play_state")
    [block] = plan_blocks([state])
    assert decode_point(state, block, [1]) == "playing_preset"
    assert decode_point(state, block, [9]) is None
    assert encode_point(state, "idle") == [0]
    with pytest.raises(ValueError, match="not one of"):
        encode_point(state, "dancing")
