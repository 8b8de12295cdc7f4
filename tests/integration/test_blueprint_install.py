"""Installing the shipped blueprints into HA's config folder: fresh, updated, edited, deleted, unwritable.

Each test's config folder starts empty (tests/conftest.py), as on a new install.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.smart_park.blueprint_install import (
    STORAGE_KEY,
    async_install_blueprints,
    sha256,
    shipped_blueprints,
)

FIRE = "automation/smart_park/fire_alarm.yaml"
OLD = b"blueprint:\n  name: an older fire alarm\n  domain: automation\n"


def blueprints_dir(hass: HomeAssistant) -> Path:
    return Path(hass.config.path("blueprints"))


def installed_record(hass_storage: dict[str, Any]) -> dict[str, str]:
    return dict(hass_storage[STORAGE_KEY]["data"]["installed"])


def seed(hass_storage: dict[str, Any], installed: dict[str, str], kept: list[str] | None = None) -> None:
    """The Store as a previous start left it."""
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {"installed": installed, "kept": kept or []},
    }


def install_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "custom_components.smart_park" and r.levelno >= logging.INFO
    ]


async def test_fresh_install_writes_every_blueprint_and_keeps_has_examples(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Nothing there: every shipped blueprint is written byte for byte, after HA's own examples."""
    shipped = shipped_blueprints()
    assert FIRE in shipped
    assert "script/smart_park/call_volunteers.yaml" in shipped
    await async_install_blueprints(hass)
    root = blueprints_dir(hass)
    for name, content in shipped.items():
        assert (root / name).read_bytes() == content, name
    assert installed_record(hass_storage) == {name: sha256(content) for name, content in shipped.items()}
    # HA populates its examples only into a folder that does not exist: ours must not have created it first.
    assert (root / "automation" / "homeassistant" / "motion_light.yaml").is_file()
    assert (root / "script" / "homeassistant" / "confirmable_notification.yaml").is_file()


async def test_the_integration_installs_them_at_set_up(hass: HomeAssistant) -> None:
    """async_setup of smart_park (no park needed) installs them."""
    assert await async_setup_component(hass, "smart_park", {})
    await hass.async_block_till_done()
    assert (blueprints_dir(hass) / FIRE).read_bytes() == shipped_blueprints()[FIRE]


async def test_unchanged_copy_is_updated(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The file is what we installed last time: it becomes the shipped version."""
    caplog.set_level(logging.INFO, "custom_components.smart_park")
    target = blueprints_dir(hass) / FIRE
    target.parent.mkdir(parents=True)
    target.write_bytes(OLD)
    seed(hass_storage, {FIRE: sha256(OLD)})
    await async_install_blueprints(hass)
    assert target.read_bytes() == shipped_blueprints()[FIRE]
    assert installed_record(hass_storage)[FIRE] == sha256(shipped_blueprints()[FIRE])
    assert any(FIRE in message and "updated" in message for message in install_logs(caplog))


async def test_edited_copy_is_kept_and_logged_once(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The user changed the file we installed: it stays as they left it; one info line, not one per start."""
    caplog.set_level(logging.INFO, "custom_components.smart_park")
    target = blueprints_dir(hass) / FIRE
    target.parent.mkdir(parents=True)
    edited = OLD + b"# my building's own extra step\n"
    target.write_bytes(edited)
    seed(hass_storage, {FIRE: sha256(OLD)})
    await async_install_blueprints(hass)
    assert target.read_bytes() == edited
    assert [m for m in install_logs(caplog) if "is kept" in m] == [
        f"Blueprint {FIRE} was edited here and is kept; the shipped version is not installed"
    ]
    caplog.clear()
    await async_install_blueprints(hass)  # the next start
    assert target.read_bytes() == edited
    assert not [m for m in install_logs(caplog) if "is kept" in m]
    assert installed_record(hass_storage)[FIRE] == sha256(OLD)


async def test_users_own_copy_is_kept(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """A file we never installed (imported by URL, written by hand) is the user's: not overwritten."""
    target = blueprints_dir(hass) / FIRE
    target.parent.mkdir(parents=True)
    target.write_bytes(OLD)
    await async_install_blueprints(hass)
    assert target.read_bytes() == OLD
    assert FIRE not in installed_record(hass_storage)


async def test_deleted_copy_is_not_restored(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """The user deleted a blueprint we installed: it stays deleted; the others are installed."""
    seed(hass_storage, {FIRE: sha256(OLD)})
    await async_install_blueprints(hass)
    root = blueprints_dir(hass)
    assert not (root / FIRE).exists()
    assert (root / "automation" / "smart_park" / "gas_alarm.yaml").is_file()
    assert installed_record(hass_storage)[FIRE] == sha256(OLD)


async def test_an_unwritable_folder_is_a_warning_not_a_failed_set_up(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """blueprints/ is not a folder: logged, and the integration still sets up."""
    blueprints_dir(hass).write_text("not a folder")
    assert await async_setup_component(hass, "smart_park", {})
    assert any("Could not install the Smart Park blueprints" in m for m in install_logs(caplog))
