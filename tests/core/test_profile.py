"""Park profile validation: every bad-input case names its path and changes nothing."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import yaml

from custom_components.smart_park.engine.profile import (
    MAX_PROFILE_BYTES,
    ProfileError,
    load_yaml,
    parse_profile,
)
from simulator.reference import reference_profile


def _small() -> dict[str, Any]:
    return {
        "park": {"id": "p1", "name": "Test park"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": 5020}],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6, "basements": 1}],
        "enterprises": [{"id": "e1", "name": "恒达机械", "building": "b1", "floor": 2}],
        "devices": [
            {
                "id": "tank",
                "type": "fire_water_tank",
                "gateway": "gw1",
                "unit": 1,
                "building": "b1",
                "floor": 6,
            },
            {"id": "meter", "type": "energy_meter", "gateway": "gw1", "unit": 2, "enterprise": "e1"},
            {"id": "bells", "type": "fire_bell_controller", "unit": 3, "building": "b1", "channels": 6},
        ],
    }


def _issues(data: Any) -> list[tuple[str, str, dict[str, str]]]:
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    return [(i.path, i.code, dict(i.placeholders)) for i in info.value.issues]


def test_valid_profile_builds_park() -> None:
    park = parse_profile(_small())
    assert park.id == "p1"
    assert set(park.devices) == {"tank", "meter", "bells"}
    bells = park.devices["bells"]
    assert bells.gateway == "gw1"  # the only gateway is the default
    assert [p.key for p in bells.points if p.key.startswith("call_point_")] == [
        f"call_point_{n}" for n in range(1, 7)
    ]
    assert bells.channel(3).floor == 3
    assert park.buildings["b1"].floor_range == (-1, 6)


def test_reference_parks_are_valid() -> None:
    for size in (1, 40, 200):
        park = parse_profile(reference_profile(size))
        units = [(d.gateway, d.unit) for d in park.devices.values()]
        assert len(units) == len(set(units))
        assert all(1 <= unit <= 247 for _, unit in units)
        assert len(park.enterprises) == size


def test_unknown_device_type() -> None:
    data = _small()
    data["devices"][1]["type"] = "toaster"
    assert _issues(data) == [("devices[1].type", "unknown_device_type", {"type": "toaster"})]


@pytest.mark.parametrize("section", ["gateways", "buildings", "enterprises", "devices"])
def test_duplicate_ids(section: str) -> None:
    data = _small()
    twin = copy.deepcopy(data[section][0])
    if section == "devices":
        twin["unit"] = 99
    data[section].append(twin)
    path, code, placeholders = _issues(data)[0]
    assert path == f"{section}[{len(data[section]) - 1}].id"
    assert code == "duplicate_id"
    assert placeholders["id"] == twin["id"]


def test_duplicate_unit_on_gateway() -> None:
    data = _small()
    data["devices"][2]["unit"] = 2
    assert _issues(data) == [("devices[2].unit", "duplicate_unit", {"unit": "2", "gateway": "gw1"})]


def test_duplicate_unit_message() -> None:
    data = _small()
    data["devices"][2]["unit"] = 2
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    assert str(info.value) == "devices[2].unit: unit 2 already used on gateway gw1"


@pytest.mark.parametrize("unit", [0, 248, -5])
def test_unit_out_of_range(unit: int) -> None:
    data = _small()
    data["devices"][0]["unit"] = unit
    assert _issues(data) == [("devices[0].unit", "unit_out_of_range", {"unit": str(unit)})]


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [("building", "b9", "building"), ("enterprise", "e9", "enterprise"), ("gateway", "gw9", "gateway")],
)
def test_missing_references(field: str, value: str, kind: str) -> None:
    data = _small()
    data["devices"][1][field] = value
    assert _issues(data) == [(f"devices[1].{field}", f"unknown_{kind}", {"id": value})]


def test_enterprise_unknown_building() -> None:
    data = _small()
    data["enterprises"][0]["building"] = "b2"
    assert _issues(data) == [("enterprises[0].building", "unknown_building", {"id": "b2"})]


@pytest.mark.parametrize("floor", [7, 0, -2])
def test_floor_out_of_range(floor: int) -> None:
    data = _small()
    data["devices"][0]["floor"] = floor
    assert _issues(data) == [
        (
            "devices[0].floor",
            "floor_out_of_range",
            {"floor": str(floor), "building": "b1", "lowest": "-1", "highest": "6"},
        )
    ]


def test_overlapping_register_overrides() -> None:
    data = _small()
    data["devices"][1]["overrides"] = [{"key": "voltage", "address": 3}]  # power is a uint32 at 2-3
    [(path, code, placeholders)] = _issues(data)
    assert path == "devices[1].overrides"
    assert code == "overlapping_registers"
    assert placeholders == {"key": "voltage", "other": "power", "table": "input_register", "address": "3"}


def test_override_changes_point() -> None:
    data = _small()
    data["devices"][0]["overrides"] = [{"key": "level", "address": 10, "scale": 0.1}]
    level = parse_profile(data).devices["tank"].device_type.point("level")
    assert (level.address, level.scale, level.unit) == (10, 0.1, "m")


def test_bad_override_field_named() -> None:
    data = _small()
    data["devices"][0]["overrides"] = [{"key": "level", "scale": 0}]
    assert _issues(data) == [("devices[0].overrides[0].scale", "invalid", {"reason": "must not be 0"})]


def test_bad_yaml() -> None:
    [(path, code, placeholders)] = _issues("park: {id: p1\nname: [")
    assert (path, code) == ("$", "bad_yaml")
    assert placeholders["reason"].startswith("line ")


def test_yaml_text_accepted() -> None:
    park = parse_profile("park: {id: p1, name: P}\ngateways: [{id: g, host: h}]\n")
    assert park.gateways["g"].port == 502


def test_required_and_type_errors_are_all_reported() -> None:
    data = _small()
    del data["devices"][0]["unit"]
    data["buildings"][0]["floors"] = "six"
    issues = _issues(data)
    assert ("devices[0].unit", "required", {}) in issues
    assert any(path == "buildings[0].floors" and code == "invalid" for path, code, _ in issues)


def test_custom_device_type_and_extends() -> None:
    data = _small()
    data["device_types"] = [
        {
            "type": "vendor_tank",
            "extends": "fire_water_tank",
            "model": "ACME T-1",
            "points": [
                {"key": "level", "address": 20},
                {"key": "temperature", "table": "input_register", "address": 21, "unit": "°C"},
            ],
        },
        {
            "type": "acme_meter",
            "points": [{"key": "kwh", "table": "holding_register", "address": 0, "data_type": "uint32"}],
        },
    ]
    data["devices"][0]["type"] = "vendor_tank"
    data["devices"].append({"id": "acme", "type": "acme_meter", "unit": 9})
    park = parse_profile(data)
    tank = park.devices["tank"].device_type
    assert tank.model == "ACME T-1"
    assert tank.point("level").address == 20
    assert tank.point("pressure").address == 1
    assert park.devices["acme"].device_type.point("kwh").count == 2


def test_custom_type_unknown_base_and_overlap() -> None:
    data = _small()
    data["device_types"] = [
        {"type": "x", "extends": "nope", "points": []},
        {
            "type": "y",
            "points": [
                {"key": "a", "table": "coil", "address": 0},
                {"key": "b", "table": "coil", "address": 0},
            ],
        },
    ]
    issues = _issues(data)
    assert ("device_types[0].extends", "unknown_device_type", {"type": "nope"}) in issues
    assert any(path == "device_types[1].points" for path, _, _ in issues)


def test_gateway_defaults_from_config_flow() -> None:
    data = _small()
    del data["gateways"]
    park = parse_profile(data, default_gateway={"host": "10.0.0.5", "port": 1502})
    assert park.gateways["gw1"].host == "10.0.0.5"
    assert park.devices["tank"].gateway == "gw1"
    del data["devices"][0]["gateway"]
    assert ("devices[0].gateway", "no_gateway", {}) in _issues(data)


def test_channels_out_of_range() -> None:
    data = _small()
    data["devices"][2]["channels"] = 40
    assert _issues(data) == [
        (
            "devices[2].channels",
            "channels_out_of_range",
            {"channels": "40", "type": "fire_bell_controller", "max": "32"},
        )
    ]


def test_bad_gateway_is_reported_once() -> None:
    data = _small()
    data["gateways"][0]["port"] = 0
    assert _issues(data) == [("gateways[0].port", "invalid", {"reason": "value must be at least 1"})]


# --- malformed documents (issue #11 item 9): every bad shape is a path-named issue, never a crash ---


def _with(change: Any) -> dict[str, Any]:
    data = _small()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (lambda d: d.update(device_types=[42]), "device_types[0]", "expected a mapping"),
        (
            lambda d: d.update(device_types=[{"type": "x", "extends": ["energy_meter"]}]),
            "device_types[0].extends",
            "expected str",
        ),
        (
            lambda d: d.update(device_types=[{"type": "x", "extends": {"a": 1}}]),
            "device_types[0].extends",
            "expected str",
        ),
        (
            lambda d: d["devices"][0].update(overrides=[{"key": ["level"], "scale": 2}]),
            "devices[0].overrides[0].key",
            "expected str",
        ),
        (
            lambda d: d["devices"][1].update(overrides=[{"key": ["energy_import"]}]),
            "devices[1].overrides[0].key",
            "expected str",
        ),
        (lambda d: d["devices"][0].update(unit=True), "devices[0].unit", "expected int"),
        (lambda d: d["buildings"][0].update(floors=True), "buildings[0].floors", "expected int"),
        (lambda d: d["gateways"][0].update(stopbits=True), "gateways[0].stopbits", "expected int"),
        (
            lambda d: d["devices"][1].update(overrides=[{"key": "energy_import", "scale": float("nan")}]),
            "devices[1].overrides[0].scale",
            "must be a finite number",
        ),
        (
            lambda d: d["devices"][1].update(overrides=[{"key": "energy_import", "scale": "inf"}]),
            "devices[1].overrides[0].scale",
            "must be a finite number",
        ),
        (
            lambda d: d["devices"][1].update(overrides=[{"key": "energy_import", "offset": float("-inf")}]),
            "devices[1].overrides[0].offset",
            "must be a finite number",
        ),
    ],
)
def test_malformed_shapes_are_path_named(change: Any, path: str, reason: str) -> None:
    # The bad field is named first (a refused building also makes its references unknown).
    assert _issues(_with(change))[0] == (path, "invalid", {"reason": reason})


def test_nan_scale_from_yaml_text() -> None:
    text = yaml.safe_dump(_small(), allow_unicode=True) + (
        "device_types:\n- type: meter2\n  extends: energy_meter\n  points:\n"
        "  - {key: energy_import, scale: .nan}\n"
    )
    assert _issues(text) == [
        ("device_types[0].points[0].scale", "invalid", {"reason": "must be a finite number"})
    ]


def test_deep_nesting_refused() -> None:
    """5,000 nested lists overflowed Python's stack (RecursionError); now the depth limit names the line."""
    text = "park: {id: p1, name: P}\ndevices: " + "[" * 5000 + "]" * 5000 + "\n"
    assert _issues(text) == [("$", "yaml_depth", {"max": "32", "line": "2"})]
    # The same bound holds for a document that did not come from YAML text.
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert _issues({"park": {"id": "p1", "name": "P"}, "devices": deep}) == [
        ("$", "yaml_depth", {"max": "32", "line": "?"})
    ]


def test_alias_bomb_refused() -> None:
    """A ~1.8 KB profile whose aliases expand to millions of values (it became an 8 MB config entry)."""
    lines = ["park: {id: p1, name: P}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    text = "\n".join(lines) + "\n"
    assert len(text) < 2000
    started = time.perf_counter()
    assert _issues(text) == [("$", "yaml_aliases", {"max": "200", "nodes": "400000"})]
    assert time.perf_counter() - started < 1


def test_too_many_aliases_refused() -> None:
    text = "park: {id: p1, name: P}\nbase: &b 1\nlist: [" + ", ".join(["*b"] * 201) + "]\n"
    assert _issues(text) == [("$", "yaml_aliases", {"max": "200", "nodes": "400000"})]


def test_merge_keys_still_work() -> None:
    """A small anchor reused with a merge key is ordinary YAML and stays accepted."""
    merged = load_yaml("base: &b {host: h, port: 1}\ngw: {<<: *b, port: 2}\n")
    assert merged["gw"] == {"host": "h", "port": 2}


def test_duplicate_key_refused() -> None:
    """The second `unit:` silently won before; now the duplicate is named with its line."""
    text = (
        "park: {id: p1, name: P}\n"
        "gateways: [{id: gw1, host: 127.0.0.1}]\n"
        "devices:\n"
        "- id: tank\n"
        "  type: fire_water_tank\n"
        "  unit: 1\n"
        "  unit: 2\n"
    )
    assert _issues(text) == [("$", "duplicate_key", {"key": "unit", "line": "7"})]


def test_profile_size_cap() -> None:
    text = "park: {id: p1, name: P}\n# " + "x" * (MAX_PROFILE_BYTES) + "\n"
    assert _issues(text) == [("$", "too_large", {"max": "2"})]


def test_new_point_without_table_is_required_not_a_crash() -> None:
    """An override naming a point the type lacks is a new point: its table is required (was KeyError)."""
    data = _with(lambda d: d["devices"][1].update(overrides=[{"key": "new_point", "scale": 2}]))
    assert _issues(data) == [("devices[1].overrides[0].table", "required", {})]
    data = _with(lambda d: d.update(device_types=[{"type": "x9", "points": [{"key": "a", "address": 1}]}]))
    assert _issues(data) == [("device_types[0].points[0].table", "required", {})]
