"""Reset rules and alarm episodes of the fire-bell linkage against the simulator (#11 items 3 and 12).

The park has two gateways so that one building's controller can be out of reach while HA runs on.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.smart_park.audit import Outcome
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.incidents import (
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
    IncidentKind,
)
from custom_components.smart_park.linkage import LinkageState
from custom_components.smart_park.logbook import describe_incident
from simulator.server import ParkSimulator

from .conftest import ParkFactory
from .helpers import async_poll, async_poll_until_recovered

pytestmark = pytest.mark.usefixtures("socket_enabled")

BELLS_A, BELLS_C = 6, 3
B2_INPUTS = "bells_c.call_point_1, bells_c.call_point_2, bells_c.call_point_3"


def document(ports: dict[str, int]) -> dict[str, Any]:
    """b1's controller on gw1, b2's on gw2."""
    return {
        "park": {"id": "rr_park", "name": "Reset rules park"},
        "gateways": [
            {"id": "gw1", "host": "127.0.0.1", "port": ports.get("gw1", 5020), "timeout": 0.3},
            {"id": "gw2", "host": "127.0.0.1", "port": ports.get("gw2", 5021), "timeout": 0.3},
        ],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6}, {"id": "b2", "name": "2号楼", "floors": 3}],
        "devices": [
            {
                "id": "bells_a",
                "type": "fire_bell_controller",
                "gateway": "gw1",
                "unit": 1,
                "building": "b1",
                "channels": BELLS_A,
            },
            {
                "id": "bells_c",
                "type": "fire_bell_controller",
                "gateway": "gw2",
                "unit": 1,
                "building": "b2",
                "channels": BELLS_C,
            },
        ],
    }


@pytest.fixture
async def rr_park(park_factory: ParkFactory) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park set up in HA against its simulator (both gateways on ephemeral ports), polls on demand."""
    return await park_factory(document({}))


@pytest.fixture
def sim(rr_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> ParkSimulator:
    """The park's simulator."""
    return rr_park[1]


@pytest.fixture
def park(rr_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> SmartParkConfigEntry:
    """The park's entry."""
    return rr_park[0]


def bells(sim: ParkSimulator, device_id: str, count: int) -> list[bool]:
    return [bool(sim.get_value(device_id, f"bell_{n}")) for n in range(1, count + 1)]


async def reset(hass: HomeAssistant, user: MockUser, **data: Any) -> None:
    await hass.services.async_call(
        DOMAIN, "reset_alarm", data, blocking=True, context=Context(user_id=user.id)
    )


async def test_reset_refused_after_restart_while_the_controller_cannot_be_read(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Restart mid-alarm with b2's gateway down: the call points are unknown, so an admin reset is refused."""
    sim.press_call_point("bells_c", 2)
    await async_poll(hass, park, Tier.SAFETY)
    sim.release_call_point("bells_c", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert park.runtime_data.linkage.groups["b2"].group.state is LinkageState.ALARM

    assert await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()
    await sim.gateway_down("gw2")
    assert await hass.config_entries.async_setup(park.entry_id)  # gw1 answers: the park starts
    await hass.async_block_till_done()
    group = park.runtime_data.linkage.groups["b2"]
    assert group.group.state is LinkageState.ALARM

    for data in ({"group": "b2"}, {}):  # the named group, and every group
        with pytest.raises(ServiceValidationError) as err:
            await reset(hass, hass_admin_user, **data)
        assert err.value.translation_key == "linkage_inputs_unreadable"
        assert err.value.translation_placeholders == {
            "command": "reset",
            "group": "2号楼",
            "inputs": B2_INPUTS,
        }
    assert str(err.value) == (
        "Cannot reset 2号楼: these inputs cannot be read, so they may still be active "
        f"({B2_INPUTS}). Restore the connection to the controller or detector first"
    )
    assert group.group.state is LinkageState.ALARM
    refused = [e for e in park.runtime_data.audit.entries() if e.outcome is Outcome.REFUSED]
    assert [(e.action, e.data["reason"], e.user_id) for e in refused] == [
        ("reset", "inputs_unreadable", hass_admin_user.id)
    ] * 2

    # The gateway comes back: the call points read clear and the reset goes through.
    await sim.gateway_up("gw2")
    await async_poll_until_recovered(hass, park)
    await reset(hass, hass_admin_user, group="b2")
    assert group.group.state is LinkageState.NORMAL
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_c", BELLS_C) == [False] * BELLS_C


async def test_reset_refused_when_the_gateway_is_lost_after_the_release(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """A call point read released, then its gateway goes: the last value is no longer known to be true."""
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    sim.release_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await sim.gateway_down("gw2")
    await async_poll(hass, park, Tier.SAFETY)
    with pytest.raises(ServiceValidationError) as err:
        await reset(hass, hass_admin_user, group="b2")
    assert err.value.translation_key == "linkage_inputs_unreadable"
    assert park.runtime_data.linkage.groups["b2"].group.state is LinkageState.ALARM
    # b1 on the healthy gateway is not held back by b2's.
    sim.press_call_point("bells_a", 4)
    await async_poll(hass, park, Tier.SAFETY)
    sim.release_call_point("bells_a", 4)
    await async_poll(hass, park, Tier.SAFETY)
    await reset(hass, hass_admin_user, group="b1")
    assert park.runtime_data.linkage.groups["b1"].group.state is LinkageState.NORMAL


async def test_a_fire_after_a_reset_opens_a_new_incident(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Reset ends the alarm episode; the next call point, elsewhere, is a new fire with its own incident."""
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    updated = async_capture_events(hass, EVENT_INCIDENT_UPDATED)
    sim.press_call_point("bells_a", 3)
    await async_poll(hass, park, Tier.SAFETY)
    sim.release_call_point("bells_a", 3)
    await async_poll(hass, park, Tier.SAFETY)
    await reset(hass, hass_admin_user, group="b1")
    incidents = park.runtime_data.incidents
    [first] = incidents.open_incidents()  # reset does not close it: the duty room does
    assert (first.kind, first.building, first.floor) == (IncidentKind.FIRE, "b1", 3)

    sim.press_call_point("bells_a", 5)
    await async_poll(hass, park, Tier.SAFETY)
    await hass.async_block_till_done()
    assert [(e.data["id"], e.data["floor"]) for e in opened] == [(first.id, 3), ("rr_park-i2", 5)]
    assert not updated
    second = incidents.get("rr_park-i2")
    assert second is not None
    assert (second.building, second.floor, second.detail["inputs"]) == ("b1", 5, ["bells_a.call_point_5"])
    # The first fire's incident is untouched.
    assert incidents.get(first.id) == first
    assert describe_incident(EVENT_INCIDENT_OPENED, opened[1].data) == (
        "Fire incident",
        "opened at 1号楼 floor 5 (rr_park-i2)",
    )


async def test_a_new_input_while_latched_moves_the_incident_and_announces_it(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Another floor's call point during the alarm (sounding or silenced) updates the incident's place."""
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    updated = async_capture_events(hass, EVENT_INCIDENT_UPDATED)
    sim.press_call_point("bells_a", 2)
    await async_poll(hass, park, Tier.SAFETY)
    sim.press_call_point("bells_a", 5)
    await async_poll(hass, park, Tier.SAFETY)
    await hass.async_block_till_done()
    [incident] = park.runtime_data.incidents.open_incidents()
    assert len(opened) == 1
    assert [(e.data["id"], e.data["change"], e.data["floor"]) for e in updated] == [
        (incident.id, "new_input", 5)
    ]
    assert (incident.floor, incident.detail["inputs"]) == (
        5,
        ["bells_a.call_point_2", "bells_a.call_point_5"],
    )
    assert describe_incident(EVENT_INCIDENT_UPDATED, updated[0].data) == (
        "Fire incident",
        f"new alarm input at 1号楼 floor 5 ({incident.id})",
    )
    audit = [(e.action, e.target, e.data.get("floor")) for e in park.runtime_data.audit.entries()]
    assert ("update_incident", incident.id, 5) in audit

    # Silenced, a third floor re-sounds the bells and moves the incident again; a call point already seen
    # pressed again does neither.
    await hass.services.async_call(
        DOMAIN, "silence_alarm", {"group": "b1"}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    sim.release_call_point("bells_a", 2)
    await async_poll(hass, park, Tier.SAFETY)
    sim.press_call_point("bells_a", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert park.runtime_data.linkage.groups["b1"].group.state is LinkageState.SILENCED
    sim.press_call_point("bells_a", 6)
    await async_poll(hass, park, Tier.SAFETY)
    await hass.async_block_till_done()
    assert park.runtime_data.linkage.groups["b1"].group.state is LinkageState.ALARM
    assert [(e.data["change"], e.data["floor"]) for e in updated] == [("new_input", 5), ("new_input", 6)]
    assert len(opened) == 1
    assert park.runtime_data.incidents.get(incident.id).floor == 6  # type: ignore[union-attr]


async def test_the_episode_incident_is_kept_across_a_restart(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """After a restart mid-alarm a new input updates the same incident; it does not open another."""
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    [incident] = park.runtime_data.incidents.open_incidents()
    assert await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(park.entry_id)
    await hass.async_block_till_done()
    opened = async_capture_events(hass, EVENT_INCIDENT_OPENED)
    updated = async_capture_events(hass, EVENT_INCIDENT_UPDATED)
    sim.press_call_point("bells_c", 3)
    await async_poll(hass, park, Tier.SAFETY)
    await hass.async_block_till_done()
    assert not opened
    assert [(e.data["id"], e.data["floor"]) for e in updated] == [(incident.id, 3)]
