"""The incident blueprints (fire, one-key, gas) as automations in HA, driven by the park simulator."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.switch_as_x.const import CONF_INVERT, CONF_TARGET_DOMAIN
from homeassistant.const import CONF_ENTITY_ID, STATE_CLOSED, STATE_OFF, STATE_ON, STATE_OPEN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.smart_park.audit import Category, Source
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.volunteers.options import CONF_DISPATCH_KINDS
from simulator.server import ParkSimulator

from .blueprint_helpers import (  # blueprint_env: autouse
    PARK_ID,
    async_use_blueprint,
    audit,
    automation_errors,
    blueprint_env,  # noqa: F401
    notifications,
    plays,
    pushed,
    start_park,
    volunteer,
)
from .conftest import ParkFactory
from .helpers import async_poll, eid

pytestmark = pytest.mark.usefixtures("socket_enabled")

FIRE_EVACUATION, GAS_EVACUATION, EMERGENCY_ALERT = 1, 2, 3  # the controllers' built-in preset slots
FIRE, EMERGENCY = 4, 3  # priorities as the controller's register gets them


@pytest.fixture
async def park(hass: HomeAssistant, park_factory: ParkFactory) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park with the volunteers' own dispatch off (a roll-call then comes from the blueprint alone), and
    one volunteer on its roster (dispatching to an empty roster is an error)."""
    entry, sim = await start_park(park_factory, **{CONF_DISPATCH_KINDS: []})
    await volunteer(hass, "志愿者", building="b1")
    return entry, sim


def dispatched_by_automation(entry: SmartParkConfigEntry, incident_id: str) -> bool:
    """The blueprint's dispatch_volunteers call opened the incident's roll-call."""
    return (
        any(
            e.target == incident_id and e.source is Source.AUTOMATION
            for e in audit(entry, Category.VOLUNTEER, "rollcall_dispatched")
        )
        and entry.runtime_data.volunteers.rollcalls.get(incident_id) is not None
    )


async def test_fire_call_point_evacuates_the_building(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """A call point in b1: fire evacuation in b1's zones only, with the incident; dispatch; a UI alert."""
    entry, sim = park
    await async_use_blueprint(hass, "fire_alarm", {})
    start = len(sim.broadcasts)
    sim.press_call_point("bells_1", 3)
    await async_poll(hass, entry, Tier.SAFETY)
    [incident] = entry.runtime_data.incidents.open_incidents()
    [played] = plays(sim, start)
    assert (played.message_slot, played.zones, played.priority, played.repeat_count) == (
        FIRE_EVACUATION,
        [1, 2],
        FIRE,
        3,
    )
    [started] = audit(entry, Category.BROADCAST, "started")
    assert (started.source, started.data["incident_id"]) == (Source.AUTOMATION, incident.id)
    alert = notifications(hass)[f"smart_park_{incident.id}"]
    assert "1号楼 3层" in alert["title"]
    assert incident.id in alert["message"]
    assert dispatched_by_automation(entry, incident.id)
    assert not automation_errors(caplog)


async def test_fire_reaching_another_building_and_closing(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    hass_admin_user: MockUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Park linkage: a second building's call point moves the incident there; closing dismisses the alert."""
    entry, sim = park
    await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "linkage_scope": "park"})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await async_use_blueprint(hass, "fire_alarm", {"park": entry.entry_id, "plays": 1, "language": "en"})
    sim.press_call_point("bells_1", 2)
    await async_poll(hass, entry, Tier.SAFETY)
    [incident] = entry.runtime_data.incidents.open_incidents()
    assert [p.zones for p in plays(sim)] == [[1, 2]]
    # The fire reaches b2: its zones are on the same (busy) controller, so the message waits its turn.
    sim.press_call_point("bells_2", 1)
    await async_poll(hass, entry, Tier.SAFETY)
    assert entry.runtime_data.incidents.get(incident.id).building == "b2"  # type: ignore[union-attr]
    [queued] = audit(entry, Category.BROADCAST, "queued")
    assert queued.data["zones"] == ["pa.3", "pa.4"]
    assert notifications(hass)[f"smart_park_{incident.id}"]["title"] == "🔥 Fire: 2号楼 floor 1"
    await hass.services.async_call(
        "smart_park", "close_incident", {"incident_id": incident.id}, blocking=True
    )
    await hass.async_block_till_done()
    assert f"smart_park_{incident.id}" not in notifications(hass)
    assert not automation_errors(caplog)


async def test_fire_of_another_park_is_left_alone(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """An automation for one park ignores the other parks' incidents."""
    entry, sim = park
    other = MockConfigEntry(domain="smart_park", unique_id="elsewhere")
    other.add_to_hass(hass)
    await async_use_blueprint(hass, "fire_alarm", {"park": other.entry_id})
    sim.press_call_point("bells_1", 3)
    await async_poll(hass, entry, Tier.SAFETY)
    [incident] = entry.runtime_data.incidents.open_incidents()
    assert not plays(sim)
    assert f"smart_park_{incident.id}" not in notifications(hass)


async def test_one_key_alerts_the_duty_room(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """A press: the duty room's zone sounds the alert, its notify action and the UI say where; dispatch."""
    entry, sim = park
    duty_zone = eid(hass, "media_player", f"{PARK_ID}_pa_zone_1")
    await async_use_blueprint(
        hass,
        "one_key_alarm",
        {"duty_zones": [duty_zone], "notify_action": "notify.persistent_notification"},
    )
    sim.press_alarm_button("alarm_1")
    await async_poll(hass, entry, Tier.FAST)
    [incident] = entry.runtime_data.incidents.open_incidents()
    [played] = plays(sim)
    assert (played.message_slot, played.zones, played.priority) == (EMERGENCY_ALERT, [1], EMERGENCY)
    alert = notifications(hass)[f"smart_park_{incident.id}"]
    assert alert["title"] == "🆘 一键报警：恒达机械有限公司 1号楼 2层"
    [sent] = pushed(hass)  # the notify action's
    assert (sent["title"], sent["message"]) == (alert["title"], alert["message"])
    assert dispatched_by_automation(entry, incident.id)
    # Pressed again while open: the alert says so.
    sim.cancel_alarm("alarm_1")
    await async_poll(hass, entry, Tier.FAST)
    sim.press_alarm_button("alarm_1")
    await async_poll(hass, entry, Tier.FAST)
    assert "第 2 次" in notifications(hass)[f"smart_park_{incident.id}"]["message"]
    assert not automation_errors(caplog)


async def outputs(hass: HomeAssistant) -> dict[str, str]:
    """A gas valve (switch_as_x over a template switch), a supply relay, an exhaust fan and its relay."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "switch": [
                        {"name": "Valve relay", "unique_id": "valve_relay"},
                        {"name": "Supply relay", "unique_id": "supply_relay"},
                        {"name": "Exhaust relay", "unique_id": "exhaust_relay"},
                    ],
                    "fan": [{"name": "Exhaust fan", "turn_on": [], "turn_off": []}],
                }
            ]
        },
    )
    await hass.async_block_till_done()
    for relay in ("switch.valve_relay", "switch.supply_relay"):
        await hass.services.async_call("switch", "turn_on", {"entity_id": relay}, blocking=True)
    valve_entry = MockConfigEntry(
        domain="switch_as_x",
        options={CONF_ENTITY_ID: "switch.valve_relay", CONF_INVERT: False, CONF_TARGET_DOMAIN: "valve"},
        title="Gas valve",
    )
    valve_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(valve_entry.entry_id)
    await hass.async_block_till_done()
    return {
        "valve": "valve.valve_relay",
        "supply": "switch.supply_relay",
        "fan": "fan.exhaust_fan",
        "exhaust": "switch.exhaust_relay",
    }


async def test_gas_leak_evacuates_shuts_off_and_ventilates(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """A gas alarm in b1: emergency evacuation there, valve closed, supply off, fan and exhaust on."""
    entry, sim = park
    entities = await outputs(hass)
    assert hass.states.get(entities["valve"]).state == STATE_OPEN  # type: ignore[union-attr]
    inputs: dict[str, Any] = {
        "shut_off_valves": {"entity_id": entities["valve"]},
        "shut_off_switches": {"entity_id": [entities["supply"]]},
        "ventilation_fans": {"entity_id": entities["fan"]},
        "ventilation_switches": {"entity_id": entities["exhaust"]},
    }
    await async_use_blueprint(hass, "gas_alarm", inputs)
    sim.set_value("gas_1", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    [incident] = entry.runtime_data.incidents.open_incidents()
    [played] = plays(sim)
    assert (played.message_slot, played.zones, played.priority) == (GAS_EVACUATION, [1, 2], EMERGENCY)
    states = {name: hass.states.get(entity_id).state for name, entity_id in entities.items()}  # type: ignore[union-attr]
    assert states == {"valve": STATE_CLOSED, "supply": STATE_OFF, "fan": STATE_ON, "exhaust": STATE_ON}
    assert "1号楼 1层" in notifications(hass)[f"smart_park_{incident.id}"]["title"]
    assert dispatched_by_automation(entry, incident.id)
    assert not automation_errors(caplog)


async def test_gas_without_outputs_still_evacuates(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """No outputs chosen (the defaults): the broadcast and the alert only."""
    entry, sim = park
    await async_use_blueprint(hass, "gas_alarm", {"park_wide": True})
    sim.set_value("gas_1", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    [played] = plays(sim)
    assert played.zones == [1, 2, 3, 4]
    assert not automation_errors(caplog)


async def test_fire_without_the_blueprints_own_alert(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """ui_alert off (the integration's own alarm notification is enough): the evacuation still plays."""
    entry, sim = park
    await async_use_blueprint(hass, "fire_alarm", {"ui_alert": False})
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, entry, Tier.SAFETY)
    [incident] = entry.runtime_data.incidents.open_incidents()
    assert [p.zones for p in plays(sim)] == [[1, 2]]
    assert f"smart_park_{incident.id}" not in notifications(hass)
    assert dispatched_by_automation(entry, incident.id)
    assert not automation_errors(caplog)
