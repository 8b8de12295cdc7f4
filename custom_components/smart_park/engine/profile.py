"""Park profile: gateways, buildings, enterprises and devices, validated as one document.

Validation is all-or-nothing: :func:`parse_profile` either returns a complete :class:`ParkProfile` or raises
:class:`ProfileError` listing every problem, each with the path of the bad field, a translation code and its
placeholders. Nothing here touches HA, so the simulator, the demo and benchmarks share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import probatio as vol

from . import safe_yaml
from .catalogue import (
    MAX_UNIT,
    DeviceType,
    OverlappingRegisters,
    Point,
    build_device_type,
    builtin_device_types,
    find_overlaps,
    strict_int,
)

# Pasted or fetched profile text beyond this is refused before parsing (a 1,000-enterprise park is 0.7 MB).
MAX_PROFILE_BYTES = 2 * 1024 * 1024
# Id of the gateway the config flow tested (host/port), used when the profile declares none; the flow's
# discovery and const.DEFAULT_GATEWAY_ID refer to it by this name.
DEFAULT_GATEWAY_ID = "gw1"

_ID = vol.All(
    str, vol.Length(min=1, max=64), vol.Match(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", msg="letters, digits, _ or -")
)
_NAME = vol.All(str, vol.Length(min=1, max=100))
_PORT = vol.All(strict_int, vol.Range(min=1, max=65535))
# Channel numbers: ints in YAML, digit strings once the profile went through JSON (the config entry).
_CHANNEL_NUMBER = vol.Any(strict_int, vol.All(vol.Match(r"^\d{1,3}$"), vol.Coerce(int)))
_BAUDRATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

GATEWAY_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Optional("name"): _NAME,
        vol.Optional("protocol", default="tcp"): vol.In(["tcp", "rtu"]),
        vol.Optional("host"): str,
        vol.Optional("port", default=502): _PORT,
        vol.Optional("serial_port"): str,
        vol.Optional("baudrate", default=9600): vol.All(strict_int, vol.In(_BAUDRATES)),
        vol.Optional("parity", default="N"): vol.In(["N", "E", "O"]),
        vol.Optional("stopbits", default=1): vol.All(strict_int, vol.In([1, 2])),
        vol.Optional("bytesize", default=8): vol.All(strict_int, vol.In([7, 8])),
        vol.Optional("timeout", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=30)),
    }
)
BUILDING_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Optional("name"): _NAME,
        vol.Required("floors"): vol.All(strict_int, vol.Range(min=1, max=120)),
        vol.Optional("basements", default=0): vol.All(strict_int, vol.Range(min=0, max=10)),
    }
)
# The profile declares which enterprise ids devices may serve. The records themselves (USCC, contact, figures,
# ...) live in the enterprise registry (enterprises.py), which the profile's entries only seed: all of them on
# the first setup, later only ids the registry does not know. Extra fields are kept here as they are and
# validated by the registry when it takes them.
ENTERPRISE_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Required("name"): _NAME,
        vol.Optional("building"): _ID,
        vol.Optional("floor"): strict_int,
    },
    extra=vol.ALLOW_EXTRA,
)
# What a channel of a multi-channel device may serve, and the points (templates) each function needs there.
CHANNEL_FUNCTIONS: Mapping[str, tuple[str, ...]] = {"one_key_alarm": ("input_{n}", "output_{n}")}
CHANNEL_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): _NAME,
        vol.Optional("floor"): strict_int,
        vol.Optional("enterprise"): _ID,
        # Checked against CHANNEL_FUNCTIONS below, so that an unknown value gets its own translated message.
        vol.Optional("function"): str,
        # A channel in another building than its device, e.g. a broadcast zone of a park-wide controller.
        vol.Optional("building"): _ID,
    }
)
DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Required("type"): str,
        vol.Optional("gateway"): _ID,
        vol.Required("unit"): strict_int,
        vol.Optional("name"): _NAME,
        vol.Optional("building"): _ID,
        vol.Optional("floor"): strict_int,
        vol.Optional("enterprise"): _ID,
        vol.Optional("channels"): vol.All(strict_int, vol.Range(min=1, max=256)),
        vol.Optional("channel_map"): {_CHANNEL_NUMBER: CHANNEL_SCHEMA},
        vol.Optional("overrides"): [dict],
    }
)
PARK_SCHEMA = vol.Schema({vol.Required("id"): _ID, vol.Required("name"): _NAME}, extra=vol.ALLOW_EXTRA)
PROFILE_SCHEMA = vol.Schema(
    {
        vol.Required("park"): PARK_SCHEMA,
        vol.Optional("gateways", default=list): list,
        vol.Optional("buildings", default=list): list,
        vol.Optional("enterprises", default=list): list,
        vol.Optional("devices", default=list): list,
        vol.Optional("device_types", default=list): list,
    }
)


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


def load_yaml(text: str) -> Any:
    """Parse profile YAML text within the safe loader's limits; blocking (HA runs it in the executor)."""
    try:
        return safe_yaml.load(text, max_bytes=MAX_PROFILE_BYTES)
    except safe_yaml.YamlError as err:
        code = {"aliases": "yaml_aliases", "depth": "yaml_depth"}.get(err.code, err.code)
        raise ProfileError([ProfileIssue("$", code, err.placeholders)]) from None


def _fmt(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


def _issues_from_invalid(err: vol.Invalid, prefix: Sequence[Any]) -> list[ProfileIssue]:
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    issues = []
    for error in errors:
        path = _fmt([*prefix, *error.path])
        if error.error_message == "required key not provided":
            issues.append(ProfileIssue(path, "required"))
        else:
            issues.append(ProfileIssue(path, "invalid", {"reason": error.error_message}))
    return issues


class _Collector:
    """Every issue of one parse, so that the section parsers below report all problems in one error."""

    def __init__(self) -> None:
        self.issues: list[ProfileIssue] = []

    def add(self, path: Sequence[Any], code: str, **placeholders: Any) -> None:
        self.issues.append(ProfileIssue(_fmt(path), code, {k: str(v) for k, v in placeholders.items()}))

    def validate(self, schema: vol.Schema, data: Any, path: Sequence[Any]) -> Any:
        try:
            return schema(data)
        except vol.Invalid as err:
            self.issues.extend(_issues_from_invalid(err, path))
            return None


@dataclass(frozen=True, slots=True)
class _References:
    """What devices may refer to, resolved before the devices section is checked."""

    types: Mapping[str, DeviceType]
    # Ids as declared, valid or not: one bad gateway entry is reported once, not once per device.
    declared_gateways: Sequence[str]
    buildings: Mapping[str, Building]
    enterprises: Mapping[str, Enterprise]


def parse_profile(data: Any, default_gateway: Mapping[str, Any] | None = None) -> ParkProfile:
    """Validate a profile document and build the park; raise :class:`ProfileError` with every issue.

    ``default_gateway`` (from the config flow's tested host/port) is used as gateway
    :data:`DEFAULT_GATEWAY_ID` when the profile declares no gateway, and as the gateway of devices that name
    none. Sections are checked in order (device types, gateways, buildings, enterprises, devices), each
    adding its issues to one collector, so the error lists them in document order.
    """
    if isinstance(data, str):
        data = load_yaml(data)
    out = _Collector()
    doc = _parse_document(out, data)
    types = _parse_device_types(out, doc["device_types"])
    raw_gateways = list(doc["gateways"])
    if not raw_gateways and default_gateway is not None:
        raw_gateways = [{"id": DEFAULT_GATEWAY_ID, **default_gateway}]
    gateways = _parse_gateways(out, raw_gateways)
    buildings = _parse_buildings(out, doc["buildings"])
    enterprises = _parse_enterprises(out, doc["enterprises"], buildings)
    declared_gateways = [
        raw["id"] for raw in raw_gateways if isinstance(raw, Mapping) and isinstance(raw.get("id"), str)
    ]
    refs = _References(types, declared_gateways, buildings, enterprises)
    devices = _parse_devices(out, doc["devices"], refs)
    if out.issues:
        raise ProfileError(out.issues)
    park = doc["park"]
    return ParkProfile(
        id=park["id"],
        name=park["name"],
        gateways=gateways,
        buildings=buildings,
        enterprises=enterprises,
        devices=devices,
        device_types=types,
        raw=dict(data),
    )


def _parse_document(out: _Collector, data: Any) -> dict[str, Any]:
    """The top level (park and section lists); a bad one stops the parse, as nothing below can be checked."""
    if not isinstance(data, Mapping):
        raise ProfileError([ProfileIssue("$", "invalid", {"reason": "expected a mapping"})])
    if safe_yaml.depth_exceeds(data):
        # A document that did not come through load_yaml (stored, fetched as JSON) gets the same bound.
        raise ProfileError([ProfileIssue("$", "yaml_depth", {"max": str(safe_yaml.MAX_DEPTH), "line": "?"})])
    doc: dict[str, Any] | None = out.validate(PROFILE_SCHEMA, dict(data), [])
    if doc is None:
        raise ProfileError(out.issues)
    return doc


def _parse_device_types(out: _Collector, raws: Sequence[Any]) -> dict[str, DeviceType]:
    """Built-in types plus the profile's own, each of which may extend one declared before it."""
    types = dict(builtin_device_types())
    for i, raw in enumerate(raws):
        if not isinstance(raw, Mapping):
            out.add(["device_types", i], "invalid", reason="expected a mapping")
            continue
        base_id = raw.get("extends")
        if base_id is not None and not isinstance(base_id, str):
            out.add(["device_types", i, "extends"], "invalid", reason="expected str")
            continue
        if base_id is not None and base_id not in types:
            out.add(["device_types", i, "extends"], "unknown_device_type", type=base_id)
            continue
        try:
            device_type = build_device_type(raw, types.get(base_id) if base_id else None)
        except vol.Invalid as err:
            out.issues.extend(_issues_from_invalid(err, ["device_types", i]))
            continue
        types[device_type.type] = device_type
    return types


def _parse_gateways(out: _Collector, raws: Sequence[Any]) -> dict[str, Gateway]:
    """Gateways by id; a TCP gateway needs a host, an RTU bus a serial port."""
    gateways: dict[str, Gateway] = {}
    for i, raw in enumerate(raws):
        gw = out.validate(GATEWAY_SCHEMA, raw, ["gateways", i])
        if gw is None:
            continue
        if gw["id"] in gateways:
            out.add(["gateways", i, "id"], "duplicate_id", id=gw["id"])
            continue
        if gw["protocol"] == "tcp" and not gw.get("host"):
            out.add(["gateways", i, "host"], "required")
        if gw["protocol"] == "rtu" and not gw.get("serial_port"):
            out.add(["gateways", i, "serial_port"], "required")
        gateways[gw["id"]] = Gateway(
            id=gw["id"],
            name=gw.get("name", gw["id"]),
            protocol=gw["protocol"],
            host=gw.get("host"),
            port=gw["port"],
            serial_port=gw.get("serial_port"),
            baudrate=gw["baudrate"],
            parity=gw["parity"],
            stopbits=gw["stopbits"],
            bytesize=gw["bytesize"],
            timeout=gw["timeout"],
        )
    return gateways


def _parse_buildings(out: _Collector, raws: Sequence[Any]) -> dict[str, Building]:
    """Buildings by id."""
    buildings: dict[str, Building] = {}
    for i, raw in enumerate(raws):
        b = out.validate(BUILDING_SCHEMA, raw, ["buildings", i])
        if b is None:
            continue
        if b["id"] in buildings:
            out.add(["buildings", i, "id"], "duplicate_id", id=b["id"])
            continue
        buildings[b["id"]] = Building(b["id"], b.get("name", b["id"]), b["floors"], b["basements"])
    return buildings


def _parse_enterprises(
    out: _Collector, raws: Sequence[Any], buildings: Mapping[str, Building]
) -> dict[str, Enterprise]:
    """Enterprises by id, placed in a known building and floor; other fields kept for the registry."""
    enterprises: dict[str, Enterprise] = {}
    for i, raw in enumerate(raws):
        e = out.validate(ENTERPRISE_SCHEMA, raw, ["enterprises", i])
        if e is None:
            continue
        if e["id"] in enterprises:
            out.add(["enterprises", i, "id"], "duplicate_id", id=e["id"])
            continue
        _check_place(out, buildings, ["enterprises", i], e.get("building"), e.get("floor"))
        extra = {k: v for k, v in e.items() if k not in ("id", "name", "building", "floor")}
        enterprises[e["id"]] = Enterprise(e["id"], e["name"], e.get("building"), e.get("floor"), extra)
    return enterprises


def _parse_devices(out: _Collector, raws: Sequence[Any], refs: _References) -> dict[str, Device]:
    """Devices by id; only a device without issues is kept (and only kept ids count as duplicates)."""
    devices: dict[str, Device] = {}
    # Which device took each (gateway, unit), for every device whose schema passed, kept or not.
    units: dict[tuple[str, int], str] = {}
    for i, raw in enumerate(raws):
        path: list[Any] = ["devices", i]
        d = out.validate(DEVICE_SCHEMA, raw, path)
        if d is None:
            continue
        if d["id"] in devices:
            out.add([*path, "id"], "duplicate_id", id=d["id"])
            continue
        if d["type"] not in refs.types:
            out.add([*path, "type"], "unknown_device_type", type=d["type"])
            continue
        if (device := _parse_device(out, refs, units, path, d)) is not None:
            devices[d["id"]] = device
    return devices


def _parse_device(
    out: _Collector, refs: _References, units: dict[tuple[str, int], str], path: list[Any], d: dict[str, Any]
) -> Device | None:
    """One schema-valid device of a known type: references, channels, overrides; None if it can't be built."""
    device_type = refs.types[d["type"]]
    gateway_id = _device_gateway(out, refs, path, d.get("gateway"))
    unit = d["unit"]
    if not 1 <= unit <= MAX_UNIT:
        out.add([*path, "unit"], "unit_out_of_range", unit=unit)
    elif gateway_id is not None:
        if (gateway_id, unit) in units:
            out.add([*path, "unit"], "duplicate_unit", unit=unit, gateway=gateway_id)
        units[(gateway_id, unit)] = d["id"]
    _check_place(out, refs.buildings, path, d.get("building"), d.get("floor"))
    _check_enterprise(out, refs, path, d.get("enterprise"))
    channels = d.get("channels", device_type.channels)
    if channels > device_type.max_channels:
        out.add(
            [*path, "channels"],
            "channels_out_of_range",
            channels=channels,
            type=device_type.type,
            max=device_type.max_channels,
        )
        return None
    channel_map = _parse_channel_map(out, refs, path, d, device_type, channels)
    if d.get("overrides"):
        overridden = _apply_overrides(out, path, device_type, d["overrides"])
        if overridden is None:
            return None
        device_type = overridden
    points = device_type.points_for(channels)
    _check_channel_functions(out, path, channel_map, points, device_type)
    if overlaps := find_overlaps(points):
        _add_overlap(out, [*path, "overrides"], *overlaps[0])
        return None
    return Device(
        id=d["id"],
        name=d.get("name", d["id"]),
        device_type=device_type,
        gateway=gateway_id or "",
        unit=unit,
        building=d.get("building"),
        floor=d.get("floor"),
        enterprise=d.get("enterprise"),
        channels=channels,
        channel_map=channel_map,
        points=tuple(points),
    )


def _device_gateway(
    out: _Collector, refs: _References, path: list[Any], gateway_id: str | None
) -> str | None:
    """The device's gateway: as named, else the only declared one; None (with an issue) if there is none."""
    declared = refs.declared_gateways
    gateway_id = gateway_id or (declared[0] if len(declared) == 1 else None)
    if gateway_id is None:
        out.add([*path, "gateway"], "no_gateway" if not declared else "required")
    elif gateway_id not in declared:
        out.add([*path, "gateway"], "unknown_gateway", id=gateway_id)
    return gateway_id


def _parse_channel_map(
    out: _Collector,
    refs: _References,
    path: list[Any],
    d: Mapping[str, Any],
    device_type: DeviceType,
    channels: int,
) -> dict[int, Channel]:
    """Placement per channel number; channels beyond ``channels`` are reported and dropped."""
    channel_map = {}
    for number, placement in d.get("channel_map", {}).items():
        ch_path = [*path, "channel_map", number]
        if not 1 <= number <= channels:
            out.add(ch_path, "channels_out_of_range", channels=number, type=device_type.type, max=channels)
            continue
        _check_enterprise(out, refs, ch_path, placement.get("enterprise"))
        _check_place(
            out, refs.buildings, ch_path, placement.get("building", d.get("building")), placement.get("floor")
        )
        if (function := placement.get("function")) is not None and function not in CHANNEL_FUNCTIONS:
            out.add(
                [*ch_path, "function"],
                "unknown_channel_function",
                function=function,
                known=", ".join(CHANNEL_FUNCTIONS),
            )
            function = None
        channel_map[number] = Channel(
            placement.get("name"),
            placement.get("floor"),
            placement.get("enterprise"),
            function,
            building=placement.get("building"),
        )
    return channel_map


def _apply_overrides(
    out: _Collector, path: list[Any], device_type: DeviceType, overrides: list[Any]
) -> DeviceType | None:
    """The device's type with its point overrides; None (with issues) if they are invalid or overlap."""
    try:
        return build_device_type({"type": device_type.type, "points": overrides}, base=device_type)
    except OverlappingRegisters as err:
        _add_overlap(out, [*path, "overrides"], err.first, err.second)
    except vol.Invalid as err:
        # build_device_type names the list "points"; here the user wrote it under "overrides".
        for issue in _issues_from_invalid(err, path):
            out.issues.append(replace(issue, path=issue.path.replace(".points", ".overrides", 1)))
    return None


def _check_channel_functions(
    out: _Collector,
    path: list[Any],
    channel_map: Mapping[int, Channel],
    points: Sequence[Point],
    device_type: DeviceType,
) -> None:
    """Each channel's function needs its points (e.g. ``input_3``) among the device's."""
    keys = {point.key for point in points}
    for number, channel in channel_map.items():
        needed = CHANNEL_FUNCTIONS.get(channel.function or "", ())
        if missing := [key for key in (t.format(n=number) for t in needed) if key not in keys]:
            out.add(
                [*path, "channel_map", number, "function"],
                "channel_function_unsupported",
                function=channel.function,
                point=missing[0],
                type=device_type.type,
            )


def _check_enterprise(out: _Collector, refs: _References, path: list[Any], enterprise: str | None) -> None:
    """A device's or channel's enterprise must be one the profile declares."""
    if enterprise is not None and enterprise not in refs.enterprises:
        out.add([*path, "enterprise"], "unknown_enterprise", id=enterprise)


def _check_place(
    out: _Collector,
    buildings: Mapping[str, Building],
    path: list[Any],
    building_id: str | None,
    floor: int | None,
) -> None:
    """A building must exist, and a floor needs a building that has it."""
    if building_id is not None and building_id not in buildings:
        out.add([*path, "building"], "unknown_building", id=building_id)
    elif floor is not None:
        building = buildings.get(building_id) if building_id else None
        if building is None:
            out.add([*path, "building"], "required")
        elif not building.has_floor(floor):
            lowest, highest = building.floor_range
            out.add(
                [*path, "floor"],
                "floor_out_of_range",
                floor=floor,
                building=building.id,
                lowest=lowest,
                highest=highest,
            )


def _add_overlap(out: _Collector, path: list[Any], first: Point, second: Point) -> None:
    out.add(
        path,
        "overlapping_registers",
        key=second.key,
        other=first.key,
        table=second.table,
        address=second.address,
    )
