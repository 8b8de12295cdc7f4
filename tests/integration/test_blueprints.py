"""Every blueprint against HA's own blueprint schemas and config validation, and our conventions for them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.automation.config import async_validate_config_item as validate_automation
from homeassistant.components.blueprint import BLUEPRINT_SCHEMA, Blueprint
from homeassistant.components.script.config import async_validate_config_item as validate_script
from homeassistant.core import HomeAssistant
from homeassistant.util.yaml import load_yaml_dict

from custom_components.smart_park.blueprint_install import SHIPPED_DIR, async_install_blueprints

ROOT = Path(__file__).resolve().parents[2]
AUTOMATIONS = [
    "fire_alarm",
    "one_key_alarm",
    "gas_alarm",
    "tank_low",
    "air_quality",
    "electrical_safety",
    "fire_drill",
    "night_patrol",
    "fire_inspection",
]
SCRIPTS = ["call_volunteers"]
ALL = [("automation", name) for name in AUTOMATIONS] + [("script", name) for name in SCRIPTS]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Inputs without a default: what a user must give (our tests' values).
REQUIRED = {
    "tank_low": {"level_sensors": ["sensor.tank_level"]},
    "fire_drill": {"building": "b1", "drill_time": "input_datetime.drill"},
}
# Entity selectors that pick what is not ours.
FOREIGN_ENTITIES = {("fire_drill", "drill_time"), ("night_patrol", "checkpoint_tags")}


def load(domain: str, name: str) -> dict[str, Any]:
    """A blueprint as HA reads it (``!input`` kept)."""
    return load_yaml_dict(ROOT / "blueprints" / domain / "smart_park" / f"{name}.yaml")


def inputs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input of a blueprint, out of its sections."""
    found: dict[str, dict[str, Any]] = {}
    for section in data["blueprint"]["input"].values():
        found.update(section["input"])
    return found


def test_the_list_is_every_blueprint() -> None:
    """No blueprint is left out of these checks."""
    assert sorted(
        p.stem for p in (ROOT / "blueprints" / "automation" / "smart_park").glob("*.yaml")
    ) == sorted(AUTOMATIONS)
    assert sorted(p.stem for p in (ROOT / "blueprints" / "script" / "smart_park").glob("*.yaml")) == SCRIPTS


@pytest.mark.parametrize(("domain", "name"), ALL)
def test_valid_for_has_blueprint_schema(domain: str, name: str) -> None:
    """HA's Blueprint model accepts it for its domain, and this HA meets its minimum version."""
    schema = AUTOMATION_BLUEPRINT_SCHEMA if domain == "automation" else BLUEPRINT_SCHEMA
    blueprint = Blueprint(
        load(domain, name), path=f"smart_park/{name}.yaml", expected_domain=domain, schema=schema
    )
    assert blueprint.validate() is None
    assert blueprint.metadata["homeassistant"] == {"min_version": "2026.10.0"}


@pytest.mark.parametrize(("domain", "name"), ALL)
def test_conventions(domain: str, name: str) -> None:
    """Bilingual name and description, inputs in sections, entity pickers limited to our integration."""
    meta = load(domain, name)["blueprint"]
    english, chinese = meta["name"].split(" · ")
    assert english.isascii()
    assert CJK.search(chinese)
    assert CJK.search(meta["description"])
    assert re.search(r"[A-Za-z]{4,} [a-z]+ [a-z]+", meta["description"])  # an English sentence too
    assert meta["source_url"].endswith(f"/blueprints/{domain}/smart_park/{name}.yaml")
    for section in meta["input"].values():
        assert set(section) >= {"name", "icon", "input"}, section
    for key, spec in inputs(load(domain, name)).items():
        assert " · " in spec["name"], key
        assert "default" in spec or key in REQUIRED.get(name, {}), key
        selector = spec["selector"]
        if "entity" in selector and (name, key) not in FOREIGN_ENTITIES:
            assert selector["entity"]["filter"]["integration"] == "smart_park", key
        if "config_entry" in selector:
            assert selector["config_entry"] == {"integration": "smart_park"}, key


@pytest.mark.parametrize(("domain", "name"), ALL)
async def test_instances_pass_has_config_validation(hass: HomeAssistant, domain: str, name: str) -> None:
    """An automation (or script) from it, with the defaults and the required inputs, validates in HA."""
    await async_install_blueprints(hass)
    config = {"use_blueprint": {"path": f"smart_park/{name}.yaml", "input": REQUIRED.get(name, {})}}
    if domain == "automation":
        assert await validate_automation(hass, "x", {"id": "x", **config}) is not None
    else:
        assert await validate_script(hass, "x", config) is not None


def test_air_quality_defaults_are_gb_3095_grade_ii() -> None:
    """SO₂ 150, PM2.5 75, PM10 150 μg/m³: the GB 3095-2012 grade II 24-hour limits."""
    found = inputs(load("automation", "air_quality"))
    assert (
        found["so2_limit"]["default"],
        found["pm25_limit"]["default"],
        found["pm10_limit"]["default"],
    ) == (
        150,
        75,
        150,
    )


def test_shipped_copies_are_what_is_installed() -> None:
    """The installer reads the integration's copies (kept equal to blueprints/ by tests/core)."""
    assert SHIPPED_DIR == ROOT / "custom_components" / "smart_park" / "blueprints"
