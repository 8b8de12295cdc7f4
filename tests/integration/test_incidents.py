"""Incidents: idempotent opening, gas alarms, refusals, persistence, bounds, several parks, automations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.smart_park.audit import Outcome
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.incidents import (
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
    IncidentKind,
    IncidentState,
)
from custom_components.smart_park.incidents import manager as incidents_module
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import async_poll

pytestmark = pytest.mark.usefixtures("socket_enabled")

SENSOR = "sensor.ce_shi_xiao_wei_yuan_open_incidents"


def second_park() -> dict[str, Any]:
    """Another park with a gas detector, for tests with two parks loaded."""
    document = park_document()
    document["park"] = {"id": "annex", "name": "Annex"}
    document["enterprises"] = []
    document["devices"] = [
        {"id": "annex_gas", "type": "gas_detector", "unit": 1, "building": "b1", "floor": 4}
    ]
    return document


async def test_open_is_idempotent_per_kind_and_source(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry
) -> None:
    """The linkage's call: a second alarm of the same source repeats the open incident, detail merged."""
    manager = init_integration.runtime_data.incidents
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    first = manager.open(
        IncidentKind.FIRE, source="linkage:b1", building="b1", floor=3, detail={"inputs": ["call_point_3"]}
    )
    again = manager.open(
        IncidentKind.FIRE, source="linkage:b1", building="b1", floor=3, detail={"smoke": True}
    )
    assert again.id == first.id == f"{PARK_ID}-i1"
    assert again.repeats == 1
    assert again.detail == {"inputs": ["call_point_3"], "smoke": True}
    assert again.opened_at == first.opened_at
    assert again.updated_at >= first.updated_at
    assert again.state is IncidentState.OPEN
    # Another source or another kind is another incident.
    other = manager.open(IncidentKind.FIRE, source="linkage:b2")
    gas = manager.open(IncidentKind.GAS, source="linkage:b1")
    assert (other.id, gas.id) == (f"{PARK_ID}-i2", f"{PARK_ID}-i3")
    await hass.async_block_till_done()
    assert [event.data["id"] for event in opened] == [first.id, other.id, gas.id]
    assert opened[0].data["building_name"] == "1号楼"
    assert opened[0].data["park_id"] == PARK_ID

    state = hass.states.get(SENSOR)
    assert state.state == "3"
    assert state.attributes["state_class"] == "measurement"
    assert (state.attributes["fire"], state.attributes["gas"], state.attributes["one_key"]) == (2, 1, 0)
    assert state.attributes["friendly_name"] == "测试小微园 Open incidents"

    entries = init_integration.runtime_data.audit.entries()
    assert [(e.action, e.source.value, e.target) for e in entries] == [
        ("open_incident", "field", first.id),
        ("open_incident", "field", first.id),
        ("open_incident", "field", other.id),
        ("open_incident", "field", gas.id),
    ]
    assert entries[1].data["repeats"] == 1
    # Once closed, the same source opens a new incident.
    manager.close(first.id, context=None)
    assert manager.open(IncidentKind.FIRE, source="linkage:b1").id == f"{PARK_ID}-i4"


async def test_gas_alarm_opens_incident(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A detector's gas alarm opens a gas incident in the poll that sees it; clearing it keeps it open."""
    entry = init_integration
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    simulator.set_value("gas_detector", "gas_concentration", 50.0)
    await async_poll(hass, entry, Tier.NORMAL)
    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    assert len(opened) == 1
    incident = opened[0].data
    assert (incident["kind"], incident["source"], incident["building"], incident["floor"]) == (
        "gas",
        "gas_detector",
        "b1",
        1,
    )
    assert incident["detail"]["gas_concentration"] == 50.0
    await async_poll(hass, entry, Tier.FAST)
    assert len(opened) == 1

    simulator.set_value("gas_detector", "gas_alarm", False)
    await async_poll(hass, entry, Tier.FAST)
    (current,) = entry.runtime_data.incidents.open_incidents()
    assert current.detail["alarm_cleared_at"]
    assert entry.runtime_data.audit.entries()[-1].action == "gas_alarm_cleared"

    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    assert entry.runtime_data.incidents.get(current.id).repeats == 1
    assert len(opened) == 1


async def test_refusals_change_nothing(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    """Unknown, already acknowledged and closed incidents: translated errors, audited, nothing changed."""
    entry = init_integration
    manager = entry.runtime_data.incidents
    admin = Context(user_id=hass_admin_user.id)
    incident = manager.open(IncidentKind.FIRE, source="linkage:b1")
    acknowledged = async_capture_events(hass, EVENT_INCIDENT_ACKNOWLEDGED)
    closed = async_capture_events(hass, EVENT_INCIDENT_CLOSED)

    async def refused(service: str, incident_id: str) -> ServiceValidationError:
        before = manager.incidents()
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, service, {"incident_id": incident_id}, blocking=True, context=admin
            )
        assert manager.incidents() == before
        assert err.value.translation_placeholders == {"incident_id": incident_id}
        return err.value

    assert (await refused("acknowledge_incident", "test_park-i99")).translation_key == "incident_not_found"
    await hass.services.async_call(
        DOMAIN, "acknowledge_incident", {"incident_id": incident.id}, blocking=True, context=admin
    )
    err = await refused("acknowledge_incident", incident.id)
    assert err.translation_key == "incident_already_acknowledged"
    assert str(err) == f"Incident {incident.id} has already been acknowledged"
    await hass.services.async_call(
        DOMAIN,
        "close_incident",
        {"incident_id": incident.id, "config_entry_id": entry.entry_id},
        blocking=True,
    )
    assert (await refused("acknowledge_incident", incident.id)).translation_key == "incident_already_closed"
    assert (await refused("close_incident", incident.id)).translation_key == "incident_already_closed"
    await hass.async_block_till_done()
    assert (len(acknowledged), len(closed)) == (1, 1)  # refusals fire nothing

    refusals = [e for e in entry.runtime_data.audit.entries() if e.outcome is Outcome.REFUSED]
    assert [(e.action, e.data["reason"], e.user_id, e.source.value) for e in refusals] == [
        ("acknowledge_incident", "incident_not_found", hass_admin_user.id, "user"),
        ("acknowledge_incident", "incident_already_acknowledged", hass_admin_user.id, "user"),
        ("acknowledge_incident", "incident_already_closed", hass_admin_user.id, "user"),
        ("close_incident", "incident_already_closed", hass_admin_user.id, "user"),
    ]
    # The close came from an automation (no user in its context).
    close = next(e for e in entry.runtime_data.audit.entries() if e.action == "close_incident")
    assert (close.source.value, close.user_id, close.outcome) == ("automation", None, Outcome.OK)


async def test_incidents_survive_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: SmartParkConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """Stored at once (a crash loses nothing); after a restart open and closed incidents are back."""
    entry = init_integration
    manager = entry.runtime_data.incidents
    fire = manager.open(
        IncidentKind.FIRE, source="linkage:b1", building="b1", floor=2, detail={"inputs": ["x"]}
    )
    gas = manager.open(IncidentKind.GAS, source="gas_detector")
    manager.acknowledge(fire.id, context=Context(user_id=hass_admin_user.id))
    manager.close(gas.id, context=None)
    # Written on the next loop turn: in storage before any unload or shutdown.
    await asyncio.sleep(0.01)
    await hass.async_block_till_done()
    stored = hass_storage[f"smart_park.{entry.entry_id}.incidents"]["data"]
    assert [(item["id"], item["acknowledged_by"]) for item in stored["incidents"]] == [
        (fire.id, hass_admin_user.id),
        (gas.id, None),
    ]
    before = manager.incidents()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.incidents
    assert manager.incidents() == before
    assert [i.id for i in manager.open_incidents()] == [fire.id]
    assert manager.get(fire.id).acknowledged_by == hass_admin_user.id
    assert hass.states.get(SENSOR).state == "1"
    # Ids continue after the restart; the fire's source is still deduplicated.
    assert manager.open(IncidentKind.ONE_KEY, source="one_key_alarm").id == f"{PARK_ID}-i3"
    assert manager.open(IncidentKind.FIRE, source="linkage:b1").id == fire.id


async def test_closed_incidents_bounded(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the newest closed incidents are kept; open ones never go, however old."""
    monkeypatch.setattr(incidents_module, "MAX_CLOSED", 3)
    manager = init_integration.runtime_data.incidents
    oldest_open = manager.open(IncidentKind.FIRE, source="linkage:b1")
    for n in range(6):
        manager.close(manager.open(IncidentKind.GAS, source=f"detector{n}").id, context=None)
    kept = manager.incidents()
    assert kept[0] == oldest_open
    assert [i.source for i in kept[1:]] == ["detector3", "detector4", "detector5"]
    assert manager.get(f"{PARK_ID}-i2") is None


async def test_action_finds_the_park_of_the_incident(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    hass_admin_user: MockUser,
    park_factory: ParkFactory,
) -> None:
    """With two parks loaded the incident id names the park; an unknown id is refused as unknown."""
    annex, sim = await park_factory(second_park())
    sim.set_value("annex_gas", "gas_alarm", True)
    await async_poll(hass, annex, Tier.FAST)
    (incident,) = annex.runtime_data.incidents.open_incidents()
    assert incident.id == "annex-i1"
    assert incident.floor == 4
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_incident",
        {"incident_id": incident.id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert annex.runtime_data.incidents.get(incident.id).acknowledged_by == hass_admin_user.id
    assert not init_integration.runtime_data.incidents.incidents()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "close_incident", {"incident_id": "x-i1"}, blocking=True)
    assert err.value.translation_key == "incident_not_found"


async def test_automation_triggers_on_incident_event(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A blueprint-style automation: on a gas incident opened, call someone with the place in the message."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "trigger": {
                    "trigger": "event",
                    "event_type": "smart_park_incident_opened",
                    "event_data": {"kind": "gas"},
                },
                "action": {
                    "event": "call_duty_team",
                    "event_data": {
                        "message": "{{ trigger.event.data.building_name }} {{ trigger.event.data.floor }}F",
                        "incident": "{{ trigger.event.data.id }}",
                    },
                },
            }
        },
    )
    calls = async_capture_events(hass, "call_duty_team")
    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, init_integration, Tier.FAST)
    assert [call.data for call in calls] == [{"message": "1号楼 1F", "incident": f"{PARK_ID}-i1"}]


async def test_stored_incidents_of_a_removed_device_stay(
    hass: HomeAssistant, hass_storage: dict[str, Any], park_factory: ParkFactory
) -> None:
    """Incidents stored for a park load even when their source is no longer in the profile."""
    entry, _sim = await park_factory(park_document(), options={}, setup=False)
    hass_storage[f"smart_park.{entry.entry_id}.incidents"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"smart_park.{entry.entry_id}.incidents",
        "data": {
            "seq": 7,
            "incidents": [
                {
                    "id": f"{PARK_ID}-i7",
                    "kind": "one_key",
                    "source": "removed_terminal",
                    "opened_at": "2025-01-01T08:00:00+00:00",
                    "updated_at": "2025-01-01T08:00:00+00:00",
                }
            ],
        },
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    (incident,) = entry.runtime_data.incidents.open_incidents()
    assert (incident.id, incident.repeats, incident.detail, incident.acknowledged_at) == (
        f"{PARK_ID}-i7",
        0,
        {},
        None,
    )
    assert hass.states.get(SENSOR).attributes["one_key"] == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_repeated_alarm_of_an_open_incident_is_announced(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A gas alarm coming back while its incident is open fires smart_park_incident_updated (a repeat)."""
    entry = init_integration
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    updated = async_capture_events(hass, EVENT_INCIDENT_UPDATED)
    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    simulator.set_value("gas_detector", "gas_alarm", False)
    await async_poll(hass, entry, Tier.FAST)
    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    await hass.async_block_till_done()
    [incident] = entry.runtime_data.incidents.open_incidents()
    assert [e.data["id"] for e in opened] == [incident.id]
    assert [(e.data["id"], e.data["change"], e.data["repeats"]) for e in updated] == [
        (incident.id, "repeat", 1)
    ]
    # A new episode of the linkage is a new incident even while one of its source is open.
    manager = entry.runtime_data.incidents
    fire = manager.open(IncidentKind.FIRE, source="linkage:b1", floor=3)
    again = manager.open(IncidentKind.FIRE, source="linkage:b1", floor=5, merge=False)
    assert again.id != fire.id
    assert [i.floor for i in manager.open_incidents() if i.kind is IncidentKind.FIRE] == [3, 5]


async def test_gas_incident_carries_the_triggering_concentration_and_its_peak(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """The alarm's own concentration, not the normal tier's older value; the peak follows while open."""
    entry = init_integration
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    simulator.set_value("gas_detector", "gas_concentration", 0.6)
    await async_poll(hass, entry, Tier.NORMAL)
    # A leak: the fast poll sees the alarm before the normal tier reads the concentration again.
    simulator.set_value("gas_detector", "gas_concentration", 30.3)
    simulator.set_value("gas_detector", "gas_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    [incident] = entry.runtime_data.incidents.open_incidents()
    assert opened[0].data["detail"]["gas_concentration"] == 30.3
    assert (incident.detail["gas_concentration"], incident.detail["gas_concentration_peak"]) == (30.3, 30.3)

    simulator.set_value("gas_detector", "gas_concentration", 45.5)
    await async_poll(hass, entry, Tier.NORMAL)
    simulator.set_value("gas_detector", "gas_concentration", 12.0)
    await async_poll(hass, entry, Tier.NORMAL)
    incident = entry.runtime_data.incidents.get(incident.id)
    assert incident is not None
    assert (incident.detail["gas_concentration"], incident.detail["gas_concentration_peak"]) == (30.3, 45.5)
    assert incident.detail["gas_concentration_peak_at"]
    # Closed, the incident no longer follows the detector.
    entry.runtime_data.incidents.close(incident.id, context=None)
    simulator.set_value("gas_detector", "gas_concentration", 80.0)
    await async_poll(hass, entry, Tier.NORMAL)
    assert entry.runtime_data.incidents.get(incident.id).detail["gas_concentration_peak"] == 45.5  # type: ignore[union-attr]
