"""A park for the blueprint tests; automations made from our blueprints by HA's real automation integration.

The blueprints reach HA's config folder the way they reach a user's: the integration's set-up installs them
(``blueprint_install``), so these tests also prove the shipped copies load.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.components import persistent_notification as pn
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_loader

from custom_components.smart_park.audit import AuditEntry, Category
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from simulator.server import BroadcastRecord, ParkSimulator

from .conftest import ParkFactory, entry_options

PARK_ID = "bp_park"
PA = "pa"


def blueprint_document(port: int = 5020) -> dict[str, Any]:
    """b1 and b2 with broadcast zones and bells in each; detectors, a terminal, tanks, air and electrical."""
    return {
        "park": {"id": PARK_ID, "name": "蓝图测试园"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6}, {"id": "b2", "name": "2号楼", "floors": 3}],
        "enterprises": [
            {"id": "e001", "name": "恒达机械有限公司", "building": "b1", "floor": 2},
            {"id": "e002", "name": "远航电子有限公司", "building": "b2", "floor": 1},
        ],
        "devices": [
            {
                "id": PA,
                "type": "broadcast_controller",
                "unit": 1,
                "building": "b1",
                "channels": 4,
                "channel_map": {
                    1: {"floor": 1},
                    2: {"floor": 2},
                    3: {"building": "b2", "floor": 1},
                    4: {"building": "b2", "floor": 2},
                },
            },
            {"id": "bells_1", "type": "fire_bell_controller", "unit": 2, "building": "b1", "channels": 6},
            {"id": "bells_2", "type": "fire_bell_controller", "unit": 3, "building": "b2", "channels": 3},
            {"id": "gas_1", "type": "gas_detector", "unit": 4, "building": "b1", "floor": 1},
            {
                "id": "alarm_1",
                "type": "one_key_alarm",
                "unit": 5,
                "building": "b1",
                "floor": 2,
                "enterprise": "e001",
            },
            {"id": "tank_1", "type": "fire_water_tank", "unit": 6, "building": "b1"},
            {"id": "tank_2", "type": "fire_water_tank", "unit": 7, "building": "b2"},
            {"id": "air_1", "type": "air_quality_station", "unit": 8, "building": "b1"},
            {
                "id": "elec_1",
                "type": "electrical_safety",
                "unit": 9,
                "building": "b1",
                "floor": 2,
                "enterprise": "e001",
            },
            {"id": "elec_2", "type": "electrical_safety", "unit": 10, "building": "b2", "floor": 1},
        ],
    }


@pytest.fixture(autouse=True)
async def blueprint_env(hass: HomeAssistant) -> AsyncIterator[None]:
    """HA's persistent notifications and notify (default_config loads them); automations off at the end.

    Turned off, the automations drop their time triggers: none lingers after the test. A test module uses
    it by importing it.
    """
    assert await async_setup_component(hass, "persistent_notification", {})
    assert await async_setup_component(hass, "notify", {})
    yield
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


async def start_park(park_factory: ParkFactory, **options: Any) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park in HA (polls on demand, ``options`` on top) with persistent notifications loaded."""
    entry, sim = await park_factory(blueprint_document(), options=entry_options(**options))
    return entry, sim


async def async_use_blueprint(
    hass: HomeAssistant, name: str, inputs: dict[str, Any], *, domain: str = "automation"
) -> str:
    """An automation (or script) from ``blueprints/<domain>/smart_park/<name>.yaml``; its entity id."""
    alias = f"bp {name}"
    config: dict[str, Any] = {"use_blueprint": {"path": f"smart_park/{name}.yaml", "input": inputs}}
    if domain == "automation":
        config["alias"] = alias
        assert await async_setup_component(hass, "automation", {"automation": [config]})
        entity_id = "automation.bp_" + name
    else:
        assert await async_setup_component(hass, "script", {"script": {f"bp_{name}": config}})
        entity_id = f"script.bp_{name}"
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} not set up"
    assert state.state == "on" or domain == "script", state
    return entity_id


def notifications(hass: HomeAssistant) -> dict[str, pn.Notification]:
    """The persistent notifications shown in HA, by id."""
    return dict(pn._async_get_or_create_notifications(hass))  # HA has no public reader


def pushed(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Notifications of notify.persistent_notification (the blueprints' notify action in these tests).

    Ours have ids ``smart_park_...`` (the blueprints' and the integration's own); that action's are random.
    """
    return [dict(n) for key, n in notifications(hass).items() if not key.startswith("smart_park_")]


async def volunteer(hass: HomeAssistant, name: str, user_id: str | None = None, **fields: Any) -> str:
    """An HA user (new unless given) put on the park's roster with ``fields``; the user id."""
    if user_id is None:
        user_id = (await hass.auth.async_create_user(name)).id
    await hass.services.async_call(
        "smart_park", "set_volunteer", {"user_id": user_id, "name": name, **fields}, blocking=True
    )
    return user_id


def plays(sim: ParkSimulator, after: int = 0) -> list[BroadcastRecord]:
    """Play commands the broadcast controller received (from index ``after``)."""
    return [b for b in sim.broadcasts[after:] if b.device_id == PA and b.command == 1]


def audit(entry: SmartParkConfigEntry, category: Category, action: str | None = None) -> list[AuditEntry]:
    """The park's audit entries of a category (and action)."""
    return [
        e
        for e in entry.runtime_data.audit.entries()
        if e.category is category and (action is None or e.action == action)
    ]


def automation_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors and warnings HA's automation and script integrations logged (a failed step, a bad template)."""
    return [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.levelno >= logging.WARNING
        and record.name.startswith(("homeassistant.components.automation", "homeassistant.components.script"))
    ]


def load_blueprint_yaml(text: str) -> dict[str, Any]:
    """A blueprint file as HA's YAML loader reads it (``!input`` tags kept as Input objects)."""
    return dict(yaml_loader.parse_yaml(text))
