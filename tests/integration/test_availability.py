"""Entities go unavailable and recover; repair issues for devices and gateways offline too long."""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.smart_park.const import CONF_OFFLINE_THRESHOLD, DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory, entry_options, park_document
from .helpers import async_poll, async_poll_until_recovered, eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

SMOKE_ENTITIES = (  # platform, unique id
    ("binary_sensor", "test_park_smoke_detector_smoke_alarm"),
    ("binary_sensor", "test_park_smoke_detector_fault"),
    ("sensor", "test_park_smoke_detector_battery"),
)
DEVICE_ISSUE = f"{PARK_ID}_device_smoke_detector_offline"
GATEWAY_ISSUE = f"{PARK_ID}_gateway_gw1_offline"


def engine_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "custom_components.smart_park.engine.modbus" and text in r.getMessage()
    ]


async def test_silent_unit_unavailable_then_recovers(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the silent unit's entities go unavailable; one log line when it stops, one when it is back."""
    caplog.set_level(logging.INFO)
    simulator.silence_unit("smoke_detector")
    for _ in range(2):
        await async_poll(hass, init_integration)
    for platform, unique_id in SMOKE_ENTITIES:
        entity_id = eid(hass, platform, unique_id)
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE, entity_id
    assert entity_state(hass, "binary_sensor", "test_park_gas_detector_gas_alarm").state == "off"
    assert entity_state(hass, "sensor", "test_park_energy_meter_power").state == "15000"
    assert len(engine_lines(caplog, "Device smoke_detector (unit 5 on gateway gw1) is unavailable")) == 1

    simulator.silence_unit("smoke_detector", silent=False)
    for _ in range(2):
        await async_poll(hass, init_integration)
    assert entity_state(hass, "binary_sensor", "test_park_smoke_detector_smoke_alarm").state == "off"
    assert entity_state(hass, "sensor", "test_park_smoke_detector_battery").state == "95"
    assert len(engine_lines(caplog, "Device smoke_detector (unit 5 on gateway gw1) is available again")) == 1
    assert len(engine_lines(caplog, "is unavailable")) == 1


async def test_gateway_down_then_up(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A dead gateway makes all its entities unavailable; they recover when it is back (after backoff)."""
    await simulator.gateway_down("gw1")
    await async_poll(hass, init_integration)
    assert entity_state(hass, "sensor", "test_park_energy_meter_power").state == STATE_UNAVAILABLE
    assert (
        entity_state(hass, "binary_sensor", "test_park_fire_bell_controller_call_point_1").state
        == STATE_UNAVAILABLE
    )
    coordinator = init_integration.runtime_data.coordinators[("gw1", Tier.FAST)]
    assert not coordinator.last_update_success
    # The failure is reported with the translated exception message.
    assert "Gateway gw1 cannot be reached" in str(coordinator.last_exception)
    # Nothing raised yet: the default threshold is five minutes.
    assert ir.async_get(hass).async_get_issue(DOMAIN, GATEWAY_ISSUE) is None

    await simulator.gateway_up("gw1")
    await async_poll_until_recovered(hass, init_integration)
    assert entity_state(hass, "sensor", "test_park_energy_meter_power").state == "15000"
    assert entity_state(hass, "binary_sensor", "test_park_fire_bell_controller_call_point_1").state == "off"


@pytest.mark.parametrize("options", [entry_options(**{CONF_OFFLINE_THRESHOLD: 0})])
async def test_repair_issue_for_offline_device(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A device offline past the threshold raises one translated issue, removed when it answers again."""
    assert issue_registry.async_get_issue(DOMAIN, DEVICE_ISSUE) is None
    simulator.silence_unit("smoke_detector")
    await async_poll(hass, init_integration)
    await async_poll(hass, init_integration)
    issue = issue_registry.async_get_issue(DOMAIN, DEVICE_ISSUE)
    assert issue is not None
    assert issue.translation_key == "device_offline"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["device"] == "Smoke Detector"
    assert issue.translation_placeholders["unit"] == "5"
    assert len([i for i in issue_registry.issues.values() if i.domain == DOMAIN]) == 1

    simulator.silence_unit("smoke_detector", silent=False)
    await async_poll(hass, init_integration)
    assert issue_registry.async_get_issue(DOMAIN, DEVICE_ISSUE) is None


@pytest.mark.parametrize("options", [entry_options(**{CONF_OFFLINE_THRESHOLD: 0})])
async def test_repair_issue_for_offline_gateway(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A gateway offline past the threshold raises an issue; it goes when the gateway is back."""
    await simulator.gateway_down("gw1")
    await async_poll(hass, init_integration)
    issue = issue_registry.async_get_issue(DOMAIN, GATEWAY_ISSUE)
    assert issue is not None
    assert issue.translation_key == "gateway_offline"
    assert issue.translation_placeholders["address"].startswith("127.0.0.1:")
    await simulator.gateway_up("gw1")
    await async_poll_until_recovered(hass, init_integration)
    assert issue_registry.async_get_issue(DOMAIN, GATEWAY_ISSUE) is None


@pytest.mark.parametrize("options", [entry_options(**{CONF_OFFLINE_THRESHOLD: 0})])
async def test_unload_removes_issues(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Issues of an unloaded park do not linger."""
    simulator.silence_unit("smoke_detector")
    await async_poll(hass, init_integration)
    assert issue_registry.async_get_issue(DOMAIN, DEVICE_ISSUE) is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, DEVICE_ISSUE) is None


async def test_one_gateway_down_at_setup_leaves_the_rest_running(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    """A park on two gateways sets up with one of them dead; its entities come when it does."""
    document = park_document()
    for device in document["devices"]:
        device["gateway"] = "gw1"
    document["gateways"].append(
        {"id": "gw2", "name": "Gateway 2", "host": "127.0.0.1", "port": 5021, "timeout": 0.3}
    )
    document["devices"].append(
        {
            "id": "tank_b2",
            "type": "fire_water_tank",
            "gateway": "gw2",
            "unit": 1,
            "building": "b1",
            "floor": 2,
        }
    )
    entry, sim = await park_factory(document, setup=False)
    await sim.gateway_down("gw2")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    registry = er.async_get(hass)
    tank_b2 = registry.async_get_entity_id("sensor", DOMAIN, f"{PARK_ID}_tank_b2_level")
    tank_b1 = registry.async_get_entity_id("sensor", DOMAIN, f"{PARK_ID}_fire_water_tank_level")
    assert tank_b2
    assert tank_b1
    assert hass.states.get(tank_b2).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(tank_b1).state == "3.5"  # type: ignore[union-attr]
    await sim.gateway_up("gw2")
    await async_poll_until_recovered(hass, entry)  # type: ignore[arg-type]
    assert hass.states.get(tank_b2).state == "3.5"  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)
