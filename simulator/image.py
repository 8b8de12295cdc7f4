"""One simulated unit's register image, built from its catalogue points and encoded with the shared codec."""

from __future__ import annotations

from collections.abc import Sequence

from custom_components.smart_park.engine.catalogue import Point, Table
from custom_components.smart_park.engine.codec import (
    DataType,
    decode_registers,
    encode_registers,
    scale_value,
    unscale_value,
)
from custom_components.smart_park.engine.profile import Device

# Raw ranges of the integer types; dynamics clamp into them so a random walk can never make struct.pack fail.
_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.UINT16: (0, 0xFFFF),
    DataType.INT16: (-0x8000, 0x7FFF),
    DataType.UINT32: (0, 0xFFFF_FFFF),
    DataType.INT32: (-0x8000_0000, 0x7FFF_FFFF),
    DataType.UINT64: (0, 0xFFFF_FFFF_FFFF_FFFF),
}

Raw = int | float | bool


class SimulatorError(Exception):
    """A control request the simulator cannot carry out; ``field`` names the bad input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotFound(SimulatorError, KeyError):
    """Unknown device, gateway, point or channel."""


class InvalidValue(SimulatorError, ValueError):
    """A value that cannot be applied (out of range, wrong kind of device, ...)."""


def clamp_raw(point: Point, raw: float) -> float:
    """Clamp a raw value into what the point's data type can carry."""
    bounds = _RANGES.get(point.data_type)
    if bounds is None:
        return raw
    return float(min(max(raw, bounds[0]), bounds[1]))


class DeviceImage:
    """The four tables of one unit, sized from its type's full map so gaps between points read as 0.

    A real box with 6 of 32 call-point channels wired still answers the whole block, which is what lets the
    integration coalesce reads across gaps; addresses past the map end are an illegal-address exception.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.points: dict[str, Point] = {p.key: p for p in device.points}
        full_map = device.device_type.points_for(device.device_type.max_channels)
        sizes = dict.fromkeys(Table, 0)
        self.writable: dict[Table, set[int]] = {Table.COIL: set(), Table.HOLDING_REGISTER: set()}
        for point in [*full_map, *device.points]:
            sizes[point.table] = max(sizes[point.table], point.end)
            if point.writable and point.table in self.writable:
                self.writable[point.table].update(range(point.address, point.end))
        self.bits: dict[Table, list[bool]] = {
            Table.COIL: [False] * sizes[Table.COIL],
            Table.DISCRETE_INPUT: [False] * sizes[Table.DISCRETE_INPUT],
        }
        self.registers: dict[Table, list[int]] = {
            Table.HOLDING_REGISTER: [0] * sizes[Table.HOLDING_REGISTER],
            Table.INPUT_REGISTER: [0] * sizes[Table.INPUT_REGISTER],
        }

    # --- wire side ------------------------------------------------------------------------------------

    def size(self, table: Table) -> int:
        """Addresses the table answers (0 .. size-1)."""
        return len(self.bits[table]) if table.is_bit else len(self.registers[table])

    def read(self, table: Table, address: int, count: int) -> list[bool] | list[int] | None:
        """Values for a read request, or None when the range is outside the map."""
        if address < 0 or count < 1 or address + count > self.size(table):
            return None
        if table.is_bit:
            return self.bits[table][address : address + count]
        return self.registers[table][address : address + count]

    def write(self, table: Table, address: int, values: Sequence[int | bool]) -> bool:
        """Apply a write request; False (nothing changed) unless every address belongs to a writable point."""
        addresses = range(address, address + len(values))
        if not values or not set(addresses) <= self.writable.get(table, set()):
            return False
        if table.is_bit:
            self.bits[table][address : address + len(values)] = [bool(v) for v in values]
        else:
            self.registers[table][address : address + len(values)] = [int(v) & 0xFFFF for v in values]
        return True

    # --- point side -----------------------------------------------------------------------------------

    def point(self, key: str) -> Point:
        """A concrete point of this unit."""
        try:
            return self.points[key]
        except KeyError:
            raise NotFound(f"device {self.device.id} has no point {key}", "key") from None

    def get_raw(self, point: Point) -> Raw:
        """The raw (unscaled) value of a point."""
        if point.table.is_bit:
            return self.bits[point.table][point.address]
        words = self.registers[point.table][point.address : point.end]
        return decode_registers(words, point.data_type, point.word_order)

    def set_raw(self, point: Point, raw: Raw) -> None:
        """Store a raw value; integer types are clamped (a simulator must not crash on a wild random walk)."""
        if point.table.is_bit:
            self.bits[point.table][point.address] = bool(raw)
            return
        value = clamp_raw(point, float(raw))
        self.registers[point.table][point.address : point.end] = encode_registers(
            value, point.data_type, point.word_order
        )

    def get_value(self, key: str) -> int | float | bool:
        """A point's engineering value (scale, offset and precision applied)."""
        point = self.point(key)
        raw = self.get_raw(point)
        if isinstance(raw, bool):
            return raw
        return scale_value(raw, point.scale, point.offset, point.precision)

    def raw_from_value(self, key: str, value: float | bool) -> Raw:
        """The raw value an engineering value encodes to; InvalidValue if the data type cannot carry it."""
        point = self.point(key)
        if point.table.is_bit:
            return bool(value)
        raw = unscale_value(float(value), point.scale, point.offset)
        bounds = _RANGES.get(point.data_type)
        if bounds is not None and not bounds[0] <= round(raw) <= bounds[1]:
            raise InvalidValue(
                f"{value} is out of range for {self.device.id}.{key} ({point.data_type})", "value"
            )
        return raw

    def set_value(self, key: str, value: float | bool) -> None:
        """Set a point from an engineering value."""
        self.set_raw(self.point(key), self.raw_from_value(key, value))

    def values(self) -> dict[str, int | float | bool]:
        """Every point's engineering value."""
        return {key: self.get_value(key) for key in self.points}
