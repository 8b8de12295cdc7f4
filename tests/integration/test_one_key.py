"""One-key alarm terminals against the park simulator: press -> incident -> acknowledge -> lamp, and back."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser, async_capture_events

from custom_components.smart_park.audit import Outcome
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.engine.profile import parse_profile
from custom_components.smart_park.incidents import (
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    IncidentKind,
)
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import async_poll, eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

EVENT_UNIQUE_ID = f"{PARK_ID}_one_key_alarm_alarm_button"
TERMINAL = "one_key_alarm"


def io_terminal_document() -> dict[str, Any]:
    """The test park with IO module channel 3 wired to enterprise e001's alarm button on floor 2."""
    document = park_document()
    io_module = next(device for device in document["devices"] if device["type"] == "io_module")
    io_module["channel_map"] = {3: {"function": "one_key_alarm", "floor": 2, "enterprise": "e001"}}
    return document


def audit_actions(entry: SmartParkConfigEntry) -> list[tuple[str, str, str | None]]:
    """(action, outcome, user id) of every audit entry, oldest first."""
    return [(e.action, e.outcome.value, e.user_id) for e in entry.runtime_data.audit.entries()]


async def test_press_acknowledge_close(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_read_only_user: MockUser,
    hass_admin_user: MockUser,
) -> None:
    """Press -> event + incident; a duty-room user acknowledges -> lamp on; an admin closes -> lamp off."""
    entry = init_integration
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    acknowledged = async_capture_events(hass, EVENT_INCIDENT_ACKNOWLEDGED)
    closed = async_capture_events(hass, EVENT_INCIDENT_CLOSED)
    assert entity_state(hass, "event", EVENT_UNIQUE_ID).state == STATE_UNKNOWN
    assert not entry.runtime_data.incidents.open_incidents()

    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)

    state = entity_state(hass, "event", EVENT_UNIQUE_ID)
    assert state.attributes["event_type"] == "pressed"
    assert state.attributes["event_types"] == ["pressed", "cancelled"]
    assert state.attributes["presses"] == 1
    assert len(opened) == 1
    incident = opened[0].data
    assert incident["kind"] == "one_key"
    assert incident["source"] == TERMINAL
    assert (incident["building"], incident["floor"], incident["building_name"]) == ("b1", 1, "1号楼")
    assert incident["state"] == "open"
    assert incident["id"] == f"{PARK_ID}-i1"
    assert state.attributes["incident_id"] == incident["id"]
    assert hass.states.get("sensor.ce_shi_xiao_wei_yuan_open_incidents").state == "1"
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is False

    # The alarm stays active and later polls see the same counter: still one incident, no new event.
    await async_poll(hass, entry, Tier.FAST)
    assert len(opened) == 1
    assert len(entry.runtime_data.incidents.incidents()) == 1

    duty = Context(user_id=hass_read_only_user.id)
    await hass.services.async_call(
        DOMAIN, "acknowledge_incident", {"incident_id": incident["id"]}, blocking=True, context=duty
    )
    await hass.async_block_till_done()
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is True
    lamp_write = await simulator.wait_for_write(device_id=TERMINAL, table="coil", address=0)
    assert lamp_write.values == [True]
    assert acknowledged[0].data["acknowledged_by"] == hass_read_only_user.id
    assert acknowledged[0].context.user_id == hass_read_only_user.id
    current = entry.runtime_data.incidents.get(incident["id"])
    assert current.acknowledged_by == hass_read_only_user.id
    assert current.detail["lamp"] == "on"
    # Acknowledged incidents are still open.
    assert hass.states.get("sensor.ce_shi_xiao_wei_yuan_open_incidents").state == "1"

    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN, "close_incident", {"incident_id": incident["id"]}, blocking=True, context=admin
    )
    await hass.async_block_till_done()
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is False
    assert closed[0].data["closed_by"] == hass_admin_user.id
    assert closed[0].data["state"] == "closed"
    assert entry.runtime_data.incidents.get(incident["id"]).detail["lamp"] == "off"
    assert hass.states.get("sensor.ce_shi_xiao_wei_yuan_open_incidents").state == "0"

    assert audit_actions(entry) == [
        ("open_incident", "ok", None),
        ("alarm_button_pressed", "ok", None),
        ("acknowledge_incident", "ok", hass_read_only_user.id),
        ("acknowledge_lamp", "ok", None),
        ("close_incident", "ok", hass_admin_user.id),
        ("acknowledge_lamp", "ok", None),
    ]
    sources = [e.source.value for e in entry.runtime_data.audit.entries()]
    assert sources == ["field", "field", "user", "system", "user", "system"]


async def test_press_released_between_polls(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A press cancelled before the next poll is still seen through the counters: pressed, then cancelled."""
    entry = init_integration
    changes = async_capture_events(hass, "state_changed")
    simulator.press_alarm_button(TERMINAL)
    simulator.cancel_alarm(TERMINAL)
    assert simulator.get_value(TERMINAL, "alarm_active") is False
    await async_poll(hass, entry, Tier.FAST)

    events = [
        change.data["new_state"].attributes["event_type"]
        for change in changes
        if change.data["entity_id"] == eid(hass, "event", EVENT_UNIQUE_ID)
    ]
    assert events == ["pressed", "cancelled"]
    (incident,) = entry.runtime_data.incidents.open_incidents()
    # The caller withdrew the call: noted, but the duty room still closes the incident.
    assert incident.detail["cancelled_at"]
    assert incident.detail["cancel_count"] == 1
    assert entity_state(hass, "binary_sensor", f"{PARK_ID}_one_key_alarm_alarm_active").state == "off"
    assert [a for a, _o, _u in audit_actions(entry)] == [
        "open_incident",
        "alarm_button_pressed",
        "alarm_cancelled",
    ]

    # Two presses between polls: one event saying two presses, the same incident repeated once.
    simulator.press_alarm_button(TERMINAL)
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    state = entity_state(hass, "event", EVENT_UNIQUE_ID)
    assert (state.attributes["event_type"], state.attributes["presses"]) == ("pressed", 2)
    (again,) = entry.runtime_data.incidents.open_incidents()
    assert again.id == incident.id
    assert again.repeats == 1
    assert again.detail["press_count"] == 3


async def test_counter_wraps_and_terminal_restart(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A 16-bit counter wrapping over 65535 is a press; a counter falling back (terminal restart) is none."""
    entry = init_integration
    incidents = entry.runtime_data.incidents
    simulator.set_value(TERMINAL, "press_count", 65534)  # a jump backwards (0 -> 65534): not a press
    await async_poll(hass, entry, Tier.FAST)
    assert not incidents.incidents()
    simulator.press_alarm_button(TERMINAL)  # 65535
    simulator.press_alarm_button(TERMINAL)  # wraps to 0
    await async_poll(hass, entry, Tier.FAST)
    assert entity_state(hass, "event", EVENT_UNIQUE_ID).attributes["presses"] == 2
    (incident,) = incidents.open_incidents()
    assert incident.detail["press_count"] == 0
    simulator.press_alarm_button(TERMINAL)
    simulator.cancel_alarm(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    incidents.close(incident.id, context=None)

    simulator.set_value(TERMINAL, "press_count", 0)  # the terminal restarted, alarm not active
    await async_poll(hass, entry, Tier.FAST)
    assert not incidents.open_incidents()
    simulator.press_alarm_button(TERMINAL)  # counting from the new baseline
    await async_poll(hass, entry, Tier.FAST)
    (second,) = incidents.open_incidents()
    incidents.close(second.id, context=None)

    # Restarted with its alarm active and no open incident: the press cannot be counted, the alarm shows it.
    simulator.set_value(TERMINAL, "press_count", 0)
    await async_poll(hass, entry, Tier.FAST)
    (third,) = incidents.open_incidents()
    assert third.detail["terminal_restarted"] is True


async def test_lamp_write_retried_until_confirmed(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
) -> None:
    """A lamp write the terminal does not carry out is audited once, marked, and retried on each fast poll."""
    entry = init_integration
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    (incident,) = entry.runtime_data.incidents.open_incidents()
    simulator.lose_writes(TERMINAL, 2)

    await hass.services.async_call(
        DOMAIN,
        "acknowledge_incident",
        {"incident_id": incident.id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is False
    assert entry.runtime_data.incidents.get(incident.id).detail["lamp"] == "failed"
    failed = [e for e in entry.runtime_data.audit.entries() if e.outcome is Outcome.FAILED]
    assert [(e.action, e.target, e.data["on"]) for e in failed] == [("acknowledge_lamp", TERMINAL, True)]

    await async_poll(hass, entry, Tier.FAST)  # second write lost too: no second failure entry
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is False
    assert len([e for e in entry.runtime_data.audit.entries() if e.outcome is Outcome.FAILED]) == 1

    await async_poll(hass, entry, Tier.FAST)
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is True
    confirmed = entry.runtime_data.audit.entries()[-1]
    assert (confirmed.action, confirmed.outcome, confirmed.data["attempts"]) == (
        "acknowledge_lamp",
        Outcome.OK,
        3,
    )
    assert entry.runtime_data.incidents.get(incident.id).detail["lamp"] == "on"
    lamp_writes = [w for w in simulator.writes if w.device_id == TERMINAL and w.table == "coil"]
    assert [w.lost for w in lamp_writes] == [True, True, False]

    # Later polls leave a confirmed lamp alone.
    await async_poll(hass, entry, Tier.FAST)
    assert len([w for w in simulator.writes if w.device_id == TERMINAL]) == 3


async def test_lamp_reasserted_when_read_back_off(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
) -> None:
    """A terminal that lost its lamp (restarted) while the incident is acknowledged gets it back."""
    entry = init_integration
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    (incident,) = entry.runtime_data.incidents.open_incidents()
    entry.runtime_data.incidents.acknowledge(incident.id, context=Context(user_id=hass_admin_user.id))
    await hass.async_block_till_done()
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is True
    simulator.set_value(TERMINAL, "acknowledge_lamp", False)
    await async_poll(hass, entry, Tier.NORMAL)
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is True


async def test_first_setup_reading_is_baseline(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: ParkSimulator
) -> None:
    """Counters already up (and an alarm active) at the very first setup are not presses."""
    simulator.press_alarm_button(TERMINAL)
    simulator.set_value("io_module", "input_3", True)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await async_poll(hass, config_entry, Tier.FAST)  # type: ignore[arg-type]
    assert not config_entry.runtime_data.incidents.incidents()
    assert entity_state(hass, "event", EVENT_UNIQUE_ID).state == STATE_UNKNOWN
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_press_while_home_assistant_was_down(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """Counters are compared with the last poll before the restart: a press (even cancelled) is not lost."""
    entry = init_integration
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    assert await hass.config_entries.async_unload(entry.entry_id)
    simulator.press_alarm_button(TERMINAL)
    simulator.cancel_alarm(TERMINAL)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert len(opened) == 1
    (incident,) = entry.runtime_data.incidents.open_incidents()
    assert incident.detail["press_count"] == 1
    assert incident.detail["cancel_count"] == 1
    assert entity_state(hass, "event", EVENT_UNIQUE_ID).attributes["event_type"] == "cancelled"

    # Closed while the terminal's alarm is still active: a restart does not open it again.
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    entry.runtime_data.incidents.close(incident.id, context=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await async_poll(hass, entry, Tier.FAST)
    assert simulator.get_value(TERMINAL, "alarm_active") is True
    assert len(opened) == 1
    assert not entry.runtime_data.incidents.open_incidents()


async def test_acknowledged_lamp_reasserted_after_restart(
    hass: HomeAssistant,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
) -> None:
    """After a restart an acknowledged incident's lamp is on again, even if the terminal lost it meanwhile."""
    entry = init_integration
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    (incident,) = entry.runtime_data.incidents.open_incidents()
    entry.runtime_data.incidents.acknowledge(incident.id, context=Context(user_id=hass_admin_user.id))
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    simulator.set_value(TERMINAL, "acknowledge_lamp", False)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.get_value(TERMINAL, "acknowledge_lamp") is True
    assert entry.runtime_data.incidents.get(incident.id).acknowledged_by == hass_admin_user.id


async def test_io_module_channel_terminal(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    hass_admin_user: MockUser,
    park_factory: ParkFactory,
) -> None:
    """An IO module input wired as an alarm button: edge-detected press, incident, lamp on its output."""
    entry, sim = await park_factory(io_terminal_document())
    entity_id = eid(hass, "event", f"{PARK_ID}_io_module_alarm_button_3")
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["friendly_name"] == "Io Module Alarm button 3"
    assert entity_registry.async_get(entity_id).translation_key == "alarm_button_channel"
    # Only the wired channel is a terminal.
    assert (
        er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{PARK_ID}_io_module_alarm_button_2") is None
    )

    sim.set_value("io_module", "input_3", True)
    await async_poll(hass, entry, Tier.FAST)
    assert hass.states.get(entity_id).attributes["event_type"] == "pressed"
    (incident,) = entry.runtime_data.incidents.open_incidents()
    assert incident.kind is IncidentKind.ONE_KEY
    assert incident.source == "io_module:3"
    assert (incident.building, incident.floor, incident.enterprise) == ("b1", 2, "e001")
    # Held down over several polls: one press.
    await async_poll(hass, entry, Tier.FAST)
    assert entry.runtime_data.incidents.open_incidents()[0].repeats == 0

    await hass.services.async_call(
        DOMAIN,
        "acknowledge_incident",
        {"incident_id": incident.id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()
    assert sim.get_value("io_module", "output_3") is True
    assert sim.get_value("io_module", "output_2") is False

    # Released and pressed again: a repeat of the open incident.
    sim.set_value("io_module", "input_3", False)
    await async_poll(hass, entry, Tier.FAST)
    sim.set_value("io_module", "input_3", True)
    await async_poll(hass, entry, Tier.FAST)
    assert entry.runtime_data.incidents.get(incident.id).repeats == 1

    await hass.services.async_call(
        DOMAIN, "close_incident", {"incident_id": incident.id}, blocking=True, context=Context()
    )
    await hass.async_block_till_done()
    assert sim.get_value("io_module", "output_3") is False


async def test_channel_function_validated() -> None:
    """An unknown function, or one the device type cannot serve, is a profile error with its own code."""
    from custom_components.smart_park.engine.profile import ProfileError

    document = io_terminal_document()
    io_module = next(device for device in document["devices"] if device["type"] == "io_module")
    io_module["channel_map"][3]["function"] = "doorbell"
    with pytest.raises(ProfileError) as err:
        parse_profile(document)
    issue = err.value.issues[0]
    assert (issue.code, issue.path) == ("unknown_channel_function", "devices[10].channel_map[3].function")
    assert issue.placeholders == {"function": "doorbell", "known": "one_key_alarm"}

    document = park_document()
    meter = next(device for device in document["devices"] if device["type"] == "water_meter")
    meter["channel_map"] = {1: {"function": "one_key_alarm"}}
    with pytest.raises(ProfileError) as err:
        parse_profile(document)
    issue = err.value.issues[0]
    assert issue.code == "channel_function_unsupported"
    assert issue.placeholders["point"] == "input_1"
    assert "needs point input_1, which water_meter lacks" in str(err.value)


async def test_unknown_incident_refused(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    """Acknowledging an incident id that does not exist is a translated error naming it."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "acknowledge_incident",
            {"incident_id": "nope"},
            blocking=True,
            context=Context(user_id=hass_admin_user.id),
        )
    assert err.value.translation_key == "incident_not_found"
    assert str(err.value).startswith("No incident nope (unknown")
