"""Translations (en + zh-Hans), icons, manifest, brand icon and quality scale are complete and consistent."""

from __future__ import annotations

import json
import re
import string
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant

from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import PointPlatform, builtin_device_types
from custom_components.smart_park.engine.profile import ENGLISH

from .conftest import PARK_ID
from .helpers import entity_state

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "smart_park"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INTEGRATION / name).read_text(encoding="utf-8"))
    return data


STRINGS = _load("strings.json")
EN = _load("translations/en.json")
ZH = _load("translations/zh-Hans.json")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_strings_equal_english() -> None:
    """Custom integrations load translations/en.json; it must be strings.json exactly."""
    assert STRINGS == EN
    # Custom integrations get no [%key:...%] resolution.
    assert not [k for k, v in flatten(EN).items() if "[%key:" in v]


def test_chinese_complete_with_same_placeholders() -> None:
    """zh-Hans has every string, with the same placeholders, and is really translated."""
    en, zh = flatten(EN), flatten(ZH)
    assert en.keys() == zh.keys()
    for key, text in en.items():
        assert placeholders(text) == placeholders(zh[key]), key
    untranslated = {k for k, v in en.items() if v == zh[k] and not re.fullmatch(r"[\s{}A-Za-z0-9_.]*", v)}
    assert not untranslated
    assert not [
        k for k in en if en[k] == zh[k] and k.endswith(".name") and not re.fullmatch(r"PM[0-9.]+", en[k])
    ]


@pytest.mark.parametrize("tree", [EN, ZH], ids=["en", "zh-Hans"])
def test_every_catalogue_point_named(tree: dict[str, Any]) -> None:
    """Every point of every built-in type that becomes an entity has a name (and enum states)."""
    for device_type in builtin_device_types().values():
        for point in device_type.points:
            if point.platform is PointPlatform.NONE:
                continue
            entry = tree["entity"][str(point.platform)].get(point.translation_key)
            assert entry is not None, f"{device_type.type}.{point.key}"
            # Repeated points carry their channel number; single points take none.
            assert placeholders(entry["name"]) == ({"n"} if point.repeat > 1 else set()), point.key
            for option in point.options.values():
                assert entry["state"][option], f"{point.key}: {option}"


@pytest.mark.parametrize("tree", [EN, ZH], ids=["en", "zh-Hans"])
def test_profile_errors_translated(tree: dict[str, Any]) -> None:
    """Every profile issue code has a message with exactly the placeholders the validator fills."""
    for code, english in ENGLISH.items():
        message = tree["exceptions"][f"profile_{code}"]["message"]
        assert placeholders(message) == placeholders(english), code
        if tree is EN:
            assert message == english


def test_keys_used_in_code_exist() -> None:
    """Error, abort, exception and issue keys the code uses are all in strings.json."""
    # Every module, the capability packages' too.
    source = "\n".join(p.read_text(encoding="utf-8") for p in INTEGRATION.rglob("*.py"))
    for key in re.findall(r'translation_key="(\w+)"', source):
        # Exceptions, repair issues, devices, selectors and entity descriptions all use translation_key.
        sections = [STRINGS[kind] for kind in ("exceptions", "issues", "device", "selector")]
        sections += list(STRINGS["entity"].values())
        assert any(key in section for section in sections), key
    for key in ("device_offline", "gateway_offline"):
        assert key in STRINGS["issues"]
    flows = ("config_flow.py", "profile_form.py", "options_flow.py", "enterprises/options_flow.py")
    flow = "\n".join((INTEGRATION / name).read_text(encoding="utf-8") for name in flows)
    errors = set(re.findall(r'errors\["base"\] = "(\w+)"', flow)) | set(
        re.findall(r'InvalidProfile\("(\w+)"', flow)
    )
    errors |= set(re.findall(r'\{"base": "(\w+)"\}', flow))
    assert errors, "no error key found: the patterns no longer match the flows"
    # The profile form serves both flows: every error is in the config or the options section.
    assert errors <= STRINGS["config"]["error"].keys() | STRINGS["options"]["error"].keys()
    assert {"invalid_profile", "park_mismatch", "profile_source"} <= STRINGS["options"]["error"].keys()
    for reason in re.findall(r'async_abort\(reason="(\w+)"\)', flow):
        assert reason in STRINGS["config"]["abort"]
    for step in re.findall(r'step_id="(\w+)"', flow):
        assert step in STRINGS["config"]["step"] or step in STRINGS["options"]["step"]


def test_icons_refer_to_entities() -> None:
    """icons.json only names translation keys that exist."""
    icons = _load("icons.json")
    for platform, entries in icons["entity"].items():
        for key, icon in entries.items():
            assert key in STRINGS["entity"][platform], key
            assert icon["default"].startswith("mdi:")


def test_manifest() -> None:
    """domain and name first, the rest sorted; the zeroconf type is the simulator's."""
    manifest = _load("manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "smart_park"
    assert manifest["zeroconf"] == ["_smartpark._tcp.local."]
    assert manifest["config_flow"] is True
    assert manifest["version"]


def test_brand_icon() -> None:
    """A real 256x256 PNG."""
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (256, 256)


RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}


def test_quality_scale_lists_every_rule() -> None:
    """Every rule has a status; exempt and todo say why."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    expected = {rule for tier in RULES.values() for rule in tier}
    assert set(rules) == expected
    for rule, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "todo", "exempt"}, rule
        if status == "exempt":
            assert value["comment"], rule


@pytest.mark.usefixtures("socket_enabled")
async def test_entity_names_in_chinese(hass: HomeAssistant, config_entry: SmartParkConfigEntry) -> None:
    """With HA in Simplified Chinese the entities are named in Chinese, channel numbers filled in."""
    hass.config.language = "zh-Hans"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    # Entity ids stay English (HA derives them from the English name); names follow the language.
    state = entity_state(hass, "binary_sensor", f"{PARK_ID}_fire_bell_controller_call_point_3")
    assert state is not None
    assert state.attributes["friendly_name"] == "Fire Bell Controller 手动报警按钮 3"
    assert (
        entity_state(hass, "sensor", f"{PARK_ID}_water_meter_volume")
        .attributes["friendly_name"]
        .endswith("用水量")
    )
    assert await hass.config_entries.async_unload(config_entry.entry_id)
