"""Park profile parsing, section by section, into one issue collector.

:func:`.profile.parse_profile` runs these in document order (top level, device types, gateways, buildings,
enterprises, devices); each adds every problem it finds to one :class:`Collector`, so that the single
:class:`~.profile_model.ProfileError` lists them all, in that order.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
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
)
from .profile_model import (
    Building,
    Channel,
    Device,
    Enterprise,
    Gateway,
    ProfileError,
    ProfileIssue,
)
from .profile_schema import (
    BUILDING_SCHEMA,
    CHANNEL_FUNCTIONS,
    DEVICE_SCHEMA,
    ENTERPRISE_SCHEMA,
    GATEWAY_SCHEMA,
    PROFILE_SCHEMA,
)


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


class Collector:
    """Every issue of one parse, so that the section parsers here report all problems in one error."""

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

    def entries(
        self, schema: vol.Schema, raws: Sequence[Any], section: str, taken: Container[str]
    ) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        """Each schema-valid entry of a list section whose id is not ``taken`` (the caller's result so far,
        read as the caller fills it); invalid entries and duplicate ids become issues."""
        for i, raw in enumerate(raws):
            path: list[Any] = [section, i]
            item = self.validate(schema, raw, path)
            if item is None:
                continue
            if item["id"] in taken:
                self.add([*path, "id"], "duplicate_id", id=item["id"])
                continue
            yield path, item


@dataclass(frozen=True, slots=True)
class References:
    """What devices may refer to, resolved before the devices section is checked."""

    types: Mapping[str, DeviceType]
    # Ids as declared, valid or not: one bad gateway entry is reported once, not once per device.
    declared_gateways: Sequence[str]
    buildings: Mapping[str, Building]
    enterprises: Mapping[str, Enterprise]


def parse_document(out: Collector, data: Any) -> dict[str, Any]:
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


def parse_device_types(out: Collector, raws: Sequence[Any]) -> dict[str, DeviceType]:
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


def parse_gateways(out: Collector, raws: Sequence[Any]) -> dict[str, Gateway]:
    """Gateways by id; a TCP gateway needs a host, an RTU bus a serial port."""
    gateways: dict[str, Gateway] = {}
    for path, gw in out.entries(GATEWAY_SCHEMA, raws, "gateways", gateways):
        if gw["protocol"] == "tcp" and not gw.get("host"):
            out.add([*path, "host"], "required")
        if gw["protocol"] == "rtu" and not gw.get("serial_port"):
            out.add([*path, "serial_port"], "required")
        # Absent, the gateway is polled and checked as before transports existed (no bus model).
        transport = gw.get("transport")
        if transport is not None and (transport == "rtu") != (gw["protocol"] == "rtu"):
            out.add(
                [*path, "transport"],
                "invalid",
                reason=f"transport {transport} needs protocol rtu"
                if transport == "rtu"
                else f"transport {transport} needs protocol tcp",
            )
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
            transport=transport,
            turnaround=gw.get("turnaround"),
            frame_gap=gw.get("frame_gap"),
            max_frame=gw.get("max_frame"),
        )
    return gateways


def parse_buildings(out: Collector, raws: Sequence[Any]) -> dict[str, Building]:
    """Buildings by id."""
    buildings: dict[str, Building] = {}
    for _path, b in out.entries(BUILDING_SCHEMA, raws, "buildings", buildings):
        buildings[b["id"]] = Building(b["id"], b.get("name", b["id"]), b["floors"], b["basements"])
    return buildings


def parse_enterprises(
    out: Collector, raws: Sequence[Any], buildings: Mapping[str, Building]
) -> dict[str, Enterprise]:
    """Enterprises by id, placed in a known building and floor; other fields kept for the registry."""
    enterprises: dict[str, Enterprise] = {}
    for path, e in out.entries(ENTERPRISE_SCHEMA, raws, "enterprises", enterprises):
        _check_place(out, buildings, path, e.get("building"), e.get("floor"))
        extra = {k: v for k, v in e.items() if k not in ("id", "name", "building", "floor")}
        enterprises[e["id"]] = Enterprise(e["id"], e["name"], e.get("building"), e.get("floor"), extra)
    return enterprises


def parse_devices(out: Collector, raws: Sequence[Any], refs: References) -> dict[str, Device]:
    """Devices by id; only a device without issues is kept (and only kept ids count as duplicates)."""
    devices: dict[str, Device] = {}
    # Which device took each (gateway, unit), for every device whose schema passed, kept or not.
    units: dict[tuple[str, int], str] = {}
    for path, d in out.entries(DEVICE_SCHEMA, raws, "devices", devices):
        if d["type"] not in refs.types:
            out.add([*path, "type"], "unknown_device_type", type=d["type"])
            continue
        if (device := _parse_device(out, refs, units, path, d)) is not None:
            devices[d["id"]] = device
    return devices


def _parse_device(
    out: Collector, refs: References, units: dict[tuple[str, int], str], path: list[Any], d: dict[str, Any]
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


def _device_gateway(out: Collector, refs: References, path: list[Any], gateway_id: str | None) -> str | None:
    """The device's gateway: as named, else the only declared one; None (with an issue) if there is none."""
    declared = refs.declared_gateways
    gateway_id = gateway_id or (declared[0] if len(declared) == 1 else None)
    if gateway_id is None:
        out.add([*path, "gateway"], "no_gateway" if not declared else "required")
    elif gateway_id not in declared:
        out.add([*path, "gateway"], "unknown_gateway", id=gateway_id)
    return gateway_id


def _parse_channel_map(
    out: Collector,
    refs: References,
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
    out: Collector, path: list[Any], device_type: DeviceType, overrides: list[Any]
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
    out: Collector,
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


def _check_enterprise(out: Collector, refs: References, path: list[Any], enterprise: str | None) -> None:
    """A device's or channel's enterprise must be one the profile declares."""
    if enterprise is not None and enterprise not in refs.enterprises:
        out.add([*path, "enterprise"], "unknown_enterprise", id=enterprise)


def _check_place(
    out: Collector,
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


def _add_overlap(out: Collector, path: list[Any], first: Point, second: Point) -> None:
    out.add(
        path,
        "overlapping_registers",
        key=second.key,
        other=first.key,
        table=second.table,
        address=second.address,
    )
