"""Device catalogue: every device type's register map, declared as data.

The built-in types live in ``device_types/*.yaml`` next to this file. A park profile may add a vendor's
type or override points of a built-in one (``device_types:`` in the profile) without writing Python.
This module only loads, validates and expands those declarations; decoding is in :mod:`.codec`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import probatio as vol
import yaml

from .codec import DataType, WordOrder, register_count

DEVICE_TYPES_DIR = Path(__file__).parent / "device_types"


class Table(StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING_REGISTER = "holding_register"
    INPUT_REGISTER = "input_register"

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs hold bits; the others hold 16-bit registers."""
        return self in (Table.COIL, Table.DISCRETE_INPUT)


class Tier(StrEnum):
    """Poll tiers: safety (the linkage's call points), fast (alarms), normal (measurements), slow (counters).

    Call points get their own tier so the linkage reads a handful of controllers every 100 ms instead of
    waiting behind every enterprise's alarm terminal and detector in the fast tier.
    """

    SAFETY = "safety"
    FAST = "fast"
    NORMAL = "normal"
    SLOW = "slow"


class PointPlatform(StrEnum):
    """Which generic entity a point gets; ``none`` points serve capability modules (linkage, broadcast)."""

    SENSOR = "sensor"
    BINARY_SENSOR = "binary_sensor"
    NONE = "none"


MAX_UNIT = 247
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a device: where it lives on the wire and how HA should present it.

    ``key`` may contain ``{n}`` for repeated points (call point per floor, IO channel);
    :meth:`DeviceType.points_for` expands them to concrete keys (``call_point_3``) and addresses.
    """

    key: str
    table: Table
    address: int
    data_type: DataType = DataType.UINT16
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    offset: float = 0.0
    precision: int | None = None
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    platform: PointPlatform = PointPlatform.SENSOR
    tier: Tier = Tier.NORMAL
    writable: bool = False
    repeat: int = 1
    stride: int = 0
    # Enum points: raw integer -> option name (HA enum sensor).
    options: Mapping[int, str] = field(default_factory=dict)
    enabled_by_default: bool = True
    # Hints for the park simulator (model, base, span, rate); ignored by the integration.
    simulate: Mapping[str, Any] = field(default_factory=dict)
    channel: int | None = None
    # The declared key (``call_point_{n}``) of an expanded channel point; None for plain points.
    template: str | None = None

    @property
    def count(self) -> int:
        """Registers (or bits) this point occupies."""
        return register_count(self.data_type)

    @property
    def end(self) -> int:
        """One past the last address this point occupies."""
        return self.address + self.count

    @property
    def translation_key(self) -> str:
        """Key without the channel placeholder: all call points share one translation."""
        return (self.template or self.key).replace("_{n}", "").replace("{n}", "")


@dataclass(frozen=True, slots=True)
class DeviceType:
    """A device type: a name and a register map."""

    type: str
    name: str
    manufacturer: str
    model: str
    points: tuple[Point, ...]
    channels: int = 1
    max_channels: int = 1

    def points_for(self, channels: int | None = None) -> list[Point]:
        """Concrete points of one device with ``channels`` instances of each repeated point."""
        n_channels = self.channels if channels is None else channels
        out: list[Point] = []
        for point in self.points:
            if point.repeat == 1:
                out.append(point)
                continue
            stride = point.stride or point.count
            for n in range(1, min(n_channels, point.repeat) + 1):
                out.append(
                    replace(
                        point,
                        key=point.key.format(n=n),
                        address=point.address + (n - 1) * stride,
                        repeat=1,
                        channel=n,
                        template=point.key,
                    )
                )
        return out

    def point(self, key: str, channels: int | None = None) -> Point:
        """Look up one concrete point by key."""
        for candidate in self.points_for(channels if channels is not None else self.max_channels):
            if candidate.key == key:
                return candidate
        raise KeyError(f"{self.type} has no point {key}")


class OverlappingRegisters(vol.Invalid):
    """Two points of a device type share an address."""

    def __init__(self, first: Point, second: Point) -> None:
        super().__init__(
            f"{second.key} overlaps {first.key} in {second.table} at address {second.address}",
            path=["points"],
        )
        self.first = first
        self.second = second


def find_overlaps(points: Iterable[Point]) -> list[tuple[Point, Point]]:
    """Pairs of points of one table whose address ranges overlap."""
    overlaps: list[tuple[Point, Point]] = []
    by_table: dict[Table, list[Point]] = {}
    for point in points:
        by_table.setdefault(point.table, []).append(point)
    for table_points in by_table.values():
        ordered = sorted(table_points, key=lambda p: p.address)
        for prev, cur in itertools.pairwise(ordered):
            if cur.address < prev.end:
                overlaps.append((prev, cur))
    return overlaps


# --- schema --------------------------------------------------------------------------------------------


def strict_int(value: Any) -> int:
    """An integer, not a bool: YAML's ``true`` is an int subclass in Python and must not pass as unit 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("expected int")
    return int(value)


def finite_float(value: Any) -> float:
    """A finite number (``.nan`` / ``.inf`` in YAML, "inf" in a text box are refused); not a bool."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise vol.Invalid("expected a number") from err
    if not math.isfinite(number):
        raise vol.Invalid("must be a finite number")
    return number


_KEY = vol.All(str, vol.Match(r"^[a-z][a-z0-9_]*(\{n\})?[a-z0-9_]*$", msg="must be snake_case"))
_ADDRESS = vol.All(strict_int, vol.Range(min=0, max=65535))


def _unit(value: str) -> str:
    """HA spells micro with the Greek mu (U+03BC) since 2025.9; vendor maps often have the micro sign."""
    return value.replace("\u00b5", "\u03bc")


POINT_FIELDS: dict[Any, Any] = {
    vol.Optional("table"): vol.Coerce(Table),
    vol.Optional("address"): _ADDRESS,
    vol.Optional("data_type"): vol.Coerce(DataType),
    vol.Optional("word_order"): vol.Coerce(WordOrder),
    vol.Optional("scale"): vol.All(finite_float, vol.NotIn([0.0], msg="must not be 0")),
    vol.Optional("offset"): finite_float,
    vol.Optional("precision"): vol.Any(None, vol.All(strict_int, vol.Range(min=0, max=6))),
    vol.Optional("unit"): vol.Any(None, vol.All(str, _unit)),
    vol.Optional("device_class"): vol.Any(None, str),
    vol.Optional("state_class"): vol.Any(None, vol.In(["measurement", "total", "total_increasing"])),
    vol.Optional("entity_category"): vol.Any(None, vol.In(["diagnostic", "config"])),
    vol.Optional("platform"): vol.Coerce(PointPlatform),
    vol.Optional("tier"): vol.Coerce(Tier),
    vol.Optional("writable"): bool,
    vol.Optional("repeat"): vol.All(strict_int, vol.Range(min=1, max=256)),
    vol.Optional("stride"): vol.All(strict_int, vol.Range(min=0, max=1000)),
    vol.Optional("options"): {vol.Any(strict_int, vol.All(str, vol.Coerce(int))): str},
    vol.Optional("enabled_by_default"): bool,
    vol.Optional("simulate"): dict,
}

POINT_SCHEMA = vol.Schema(
    {
        vol.Required("key"): _KEY,
        # Markers compare equal by name: spreading Optional("table") and then adding Required("table") would
        # keep the Optional one, and a new point without a table crashed later with KeyError.
        **{marker: value for marker, value in POINT_FIELDS.items() if marker not in ("table", "address")},
        vol.Required("table"): vol.Coerce(Table),
        vol.Required("address"): _ADDRESS,
    }
)
# A point override in a profile: the key of an existing point plus the fields to change.
POINT_OVERRIDE_SCHEMA = vol.Schema({vol.Required("key"): _KEY, **POINT_FIELDS})

DEVICE_TYPE_SCHEMA = vol.Schema(
    {
        vol.Required("type"): vol.All(str, vol.Match(r"^[a-z][a-z0-9_]*$", msg="must be snake_case")),
        vol.Optional("extends"): str,
        vol.Optional("name"): str,
        vol.Optional("manufacturer"): str,
        vol.Optional("model"): str,
        vol.Optional("channels"): vol.All(strict_int, vol.Range(min=1, max=256)),
        vol.Optional("max_channels"): vol.All(strict_int, vol.Range(min=1, max=256)),
        vol.Optional("points"): [dict],
    }
)


def _build_point(data: Mapping[str, Any]) -> Point:
    values = dict(data)
    table: Table = values["table"]
    if table.is_bit:
        values.setdefault("data_type", DataType.BOOL)
        values.setdefault("platform", PointPlatform.BINARY_SENSOR)
    elif values.get("data_type") is DataType.BOOL:
        raise vol.Invalid("bool needs a coil or discrete_input table", path=["data_type"])
    if table.is_bit and values["data_type"] is not DataType.BOOL:
        raise vol.Invalid("bit tables hold bool points only", path=["data_type"])
    values["options"] = dict(values.get("options", {}))
    values["simulate"] = dict(values.get("simulate", {}))
    return Point(**values)


def build_device_type(data: Mapping[str, Any], base: DeviceType | None = None) -> DeviceType:
    """Validate a device type declaration (full, or ``extends`` a base) and build it.

    Raises ``vol.Invalid`` / ``vol.MultipleInvalid`` whose path points into ``data``.
    """
    data = DEVICE_TYPE_SCHEMA(dict(data))
    points: dict[str, Point] = {p.key: p for p in base.points} if base else {}
    for index, raw in enumerate(data.get("points", [])):
        try:
            # A key that is not a string (a list, say) is not looked up: POINT_SCHEMA names it as invalid.
            if base is not None and isinstance(raw.get("key"), str) and raw["key"] in points:
                override = POINT_OVERRIDE_SCHEMA(raw)
                points[override["key"]] = _build_point({**_point_dict(points[override["key"]]), **override})
            else:
                points[raw.get("key", "")] = _build_point(POINT_SCHEMA(raw))
        except vol.Invalid as err:
            raise vol.Invalid(err.msg, path=["points", index, *err.path]) from err
    if not points:
        raise vol.Invalid("a device type needs at least one point", path=["points"])
    channels = data.get("channels", base.channels if base else 1)
    max_channels = max(
        data.get("max_channels", base.max_channels if base else 1),
        channels,
        *(p.repeat for p in points.values()),
    )
    device_type = DeviceType(
        type=data["type"],
        name=data.get("name", base.name if base else data["type"]),
        manufacturer=data.get("manufacturer", base.manufacturer if base else "Generic"),
        model=data.get("model", base.model if base else data["type"]),
        points=tuple(points.values()),
        channels=channels,
        max_channels=max_channels,
    )
    overlaps = find_overlaps(device_type.points_for(device_type.max_channels))
    if overlaps:
        raise OverlappingRegisters(*overlaps[0])
    return device_type


def _point_dict(point: Point) -> dict[str, Any]:
    return {name: getattr(point, name) for name in Point.__slots__ if name not in ("channel", "template")}


@cache
def builtin_device_types() -> Mapping[str, DeviceType]:
    """The catalogue shipped with the integration, keyed by type id."""
    types: dict[str, DeviceType] = {}
    for path in sorted(DEVICE_TYPES_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as file:
            device_type = build_device_type(yaml.safe_load(file))
        types[device_type.type] = device_type
    return types
