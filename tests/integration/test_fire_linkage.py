"""Fire-bell linkage in HA against the simulator: transitions, authorisation, faults, retries, restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_park.audit import Outcome
from custom_components.smart_park.const import (
    CONF_LINKAGE_CONFIRMATION,
    CONF_LINKAGE_PIN_HASH,
    CONF_LINKAGE_SCOPE,
    CONF_LINKAGE_TRIGGERS,
    DOMAIN,
)
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.linkage import hash_pin
from simulator.server import ParkSimulator

from .conftest import ParkFactory, entry_options
from .helpers import async_poll, eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

PIN = "4711"
BELLS_A, BELLS_B, BELLS_C = 6, 4, 3


def linkage_document(port: int = 5020) -> dict[str, Any]:
    """Two buildings: b1 with two controllers (6 and 4 floors' bells) and a smoke detector, b2 with one."""
    return {
        "park": {"id": "lk_park", "name": "联动测试园"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6}, {"id": "b2", "name": "2号楼", "floors": 3}],
        "devices": [
            {
                "id": "bells_a",
                "type": "fire_bell_controller",
                "unit": 1,
                "building": "b1",
                "channels": BELLS_A,
            },
            {
                "id": "bells_b",
                "type": "fire_bell_controller",
                "unit": 2,
                "building": "b1",
                "channels": BELLS_B,
            },
            {
                "id": "bells_c",
                "type": "fire_bell_controller",
                "unit": 3,
                "building": "b2",
                "channels": BELLS_C,
            },
            {"id": "smoke_1", "type": "smoke_detector", "unit": 4, "building": "b1", "floor": 2},
            {"id": "smoke_2", "type": "smoke_detector", "unit": 5, "building": "b1", "floor": 3},
        ],
    }


@pytest.fixture
def linkage_options() -> dict[str, Any]:
    """Linkage options of the entry (override per test with indirect parametrisation or a new fixture)."""
    return {}


@pytest.fixture
async def linkage_park(
    park_factory: ParkFactory, linkage_options: dict[str, Any]
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The linkage park set up in HA against its simulator, polls on demand."""
    return await park_factory(linkage_document(), options=entry_options(**linkage_options))


@pytest.fixture
def sim(linkage_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> ParkSimulator:
    """The linkage park's simulator."""
    return linkage_park[1]


@pytest.fixture
def park(linkage_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> SmartParkConfigEntry:
    """The linkage park's entry."""
    return linkage_park[0]


def bells(sim: ParkSimulator, device_id: str, count: int) -> list[bool]:
    return [bool(sim.get_value(device_id, f"bell_{n}")) for n in range(1, count + 1)]


def state(hass: HomeAssistant, entity: str | tuple[str, str]) -> str:
    """State of an entity given by entity id or by (platform, unique id)."""
    entity_id = eid(hass, *entity) if isinstance(entity, tuple) else entity
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


# Linkage state sensors of buildings 1 and 2: (platform, unique id).
B1 = ("sensor", "lk_park_linkage_b1_state")
B2 = ("sensor", "lk_park_linkage_b2_state")


async def call(hass: HomeAssistant, service: str, user: MockUser | None = None, **data: Any) -> None:
    await hass.services.async_call(
        DOMAIN, service, data, blocking=True, context=Context(user_id=user.id if user else None)
    )


def audit_actions(entry: SmartParkConfigEntry) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.outcome.value, e.user_id) for e in entry.runtime_data.audit.entries()]


async def test_call_point_rings_every_bell_of_the_building(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """One call point: every bell of both b1 controllers, one write per controller; b2 stays quiet."""
    assert state(hass, B1) == "normal"
    sim.reset_counters()
    start = len(sim.writes)
    sim.press_call_point("bells_b", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A
    assert bells(sim, "bells_b", BELLS_B) == [True] * BELLS_B
    assert bells(sim, "bells_c", BELLS_C) == [False] * BELLS_C
    writes = sim.writes[start:]
    assert sorted(w.device_id for w in writes) == ["bells_a", "bells_b"]
    assert state(hass, B1) == "alarm"
    assert state(hass, B2) == "normal"
    attributes = hass.states.get(eid(hass, *B1)).attributes  # type: ignore[union-attr]
    assert attributes["alarm_inputs"] == ["bells_b.call_point_2"]
    assert attributes["bells_on"] is True
    assert state(hass, eid(hass, "siren", "lk_park_bells_a_bell_1")) == STATE_ON
    # The alarm opened one fire incident at the pressed call point's place.
    [incident] = park.runtime_data.incidents.open_incidents()
    assert (incident.kind, incident.building, incident.floor) == ("fire", "b1", 2)
    assert incident.detail["inputs"] == ["bells_b.call_point_2"]
    # Released: the alarm stays latched and the bells keep ringing.
    sim.release_call_point("bells_b", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "alarm"
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A
    assert ("input", "ok", None) in audit_actions(park)


async def test_silence_new_call_point_resounds_reset(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Silence keeps the alarm; a new call point re-sounds; reset is refused while one is active."""
    sim.press_call_point("bells_a", 3)
    await async_poll(hass, park, Tier.SAFETY)
    await call(hass, "silence_alarm", hass_admin_user, group="b1")
    assert state(hass, B1) == "silenced"
    assert bells(sim, "bells_a", BELLS_A) == [False] * BELLS_A
    assert bells(sim, "bells_b", BELLS_B) == [False] * BELLS_B
    # The same call point still pressed does not re-sound; another floor's does.
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "silenced"
    sim.press_call_point("bells_b", 1)
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "alarm"
    assert bells(sim, "bells_b", BELLS_B) == [True] * BELLS_B

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reset_alarm", hass_admin_user, group="b1")
    assert err.value.translation_key == "linkage_inputs_active"
    assert "bells_a.call_point_3" in str(err.value.translation_placeholders)
    assert state(hass, B1) == "alarm"
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A

    sim.release_call_point("bells_a", 3)
    sim.release_call_point("bells_b", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await call(hass, "reset_alarm", hass_admin_user, group="b1")
    assert state(hass, B1) == "normal"
    assert bells(sim, "bells_a", BELLS_A) == [False] * BELLS_A
    actions = audit_actions(park)
    admin = hass_admin_user.id
    for step in [
        ("input", "ok", None),
        ("silence", "ok", admin),
        ("resound", "ok", None),
        ("reset", "refused", admin),
        ("reset", "ok", admin),
    ]:
        assert step in actions, step
    # Nothing sounding now: silence is refused with a reason, and audited.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "silence_alarm", hass_admin_user, group="b1")
    assert err.value.translation_key == "linkage_not_sounding"


@pytest.mark.parametrize("linkage_options", [{CONF_LINKAGE_PIN_HASH: hash_pin(PIN)}])
async def test_non_admin_needs_the_pin(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    hass_read_only_user: MockUser,
) -> None:
    """A non-admin is refused without the PIN and with a wrong one, allowed with the right one."""
    sim.press_call_point("bells_a", 1)
    await async_poll(hass, park, Tier.SAFETY)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "silence_alarm", hass_read_only_user, group="b1")
    assert err.value.translation_key == "linkage_admin_or_pin_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "silence_alarm", hass_read_only_user, group="b1", pin="0000")
    assert err.value.translation_key == "linkage_wrong_pin"
    # An automation (no user) is refused too.
    with pytest.raises(ServiceValidationError):
        await call(hass, "silence_alarm", None, group="b1")
    assert state(hass, B1) == "alarm"
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A

    await call(hass, "silence_alarm", hass_read_only_user, group="b1", pin=PIN)
    assert state(hass, B1) == "silenced"
    user = hass_read_only_user.id
    refusals = [e for e in park.runtime_data.audit.entries() if e.outcome is Outcome.REFUSED]
    assert [(e.action, e.user_id, e.data["reason"]) for e in refusals] == [
        ("silence", user, "admin_or_pin_required"),
        ("silence", user, "wrong_pin"),
        ("silence", None, "admin_or_pin_required"),
    ]
    assert ("silence", "ok", user) in audit_actions(park)
    # The PIN never reaches the audit log.
    assert PIN not in str([e.as_dict() for e in park.runtime_data.audit.entries()])


async def test_non_admin_refused_when_no_pin_is_configured(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_read_only_user: MockUser
) -> None:
    """Without a configured PIN only admins act; a PIN given is refused with its own reason."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "test_bells", hass_read_only_user, group="b1")
    assert err.value.translation_key == "linkage_admin_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "test_bells", hass_read_only_user, group="b1", pin=PIN)
    assert err.value.translation_key == "linkage_no_pin_configured"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "test_bells", hass_read_only_user, group="nowhere")
    assert err.value.translation_key == "linkage_unknown_group"


async def test_restart_mid_alarm_reasserts_the_bells(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_storage: dict[str, Any]
) -> None:
    """After a restart (here: a reload) mid-alarm, the alarm is still latched and the bells ring again."""
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    sim.release_call_point("bells_c", 1)
    assert state(hass, B2) == "alarm"
    # Already on disk, without an orderly shutdown: a crash now would keep the latched alarm.
    stored = hass_storage[f"smart_park.{park.entry_id}.linkage"]["data"]["groups"]["b2"]
    assert stored["latched"] is True
    assert await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()
    # Meanwhile the controller lost power and came back with its bells off.
    for n in range(1, BELLS_C + 1):
        sim.set_value("bells_c", f"bell_{n}", False)
    assert await hass.config_entries.async_setup(park.entry_id)
    await hass.async_block_till_done()
    assert state(hass, B2) == "alarm"
    assert bells(sim, "bells_c", BELLS_C) == [True] * BELLS_C
    assert ("restored", "ok", None) in audit_actions(park)


async def test_controller_offline_is_a_fault_and_the_others_still_sound(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """A silent controller puts the group in fault with a repair issue; the healthy one still rings."""
    sim.silence_unit("bells_b")
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "fault"
    assert state(hass, eid(hass, "binary_sensor", "lk_park_linkage_b1_fault")) == STATE_ON
    issue = issue_registry.async_get_issue(DOMAIN, "lk_park_linkage_b1_fault")
    assert issue is not None
    assert "bells_b.offline" in issue.translation_placeholders["faults"]  # type: ignore[index]

    sim.press_call_point("bells_a", 4)
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "alarm"  # an alarm outranks the fault in the state
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A

    # Back online: its bells are switched on too, and the fault clears.
    sim.silence_unit("bells_b", False)
    await async_poll(hass, park, Tier.SAFETY)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_b", BELLS_B) == [True] * BELLS_B
    assert state(hass, eid(hass, "binary_sensor", "lk_park_linkage_b1_fault")) == STATE_OFF
    assert issue_registry.async_get_issue(DOMAIN, "lk_park_linkage_b1_fault") is None


async def test_mains_and_bell_circuit_faults(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """Mains loss and an open bell circuit (normal tier) are faults of the group."""
    sim.set_value("bells_c", "mains_fault", True)
    sim.set_value("bells_c", "bell_circuit_fault_2", True)
    await async_poll(hass, park, Tier.NORMAL)
    assert state(hass, B2) == "fault"
    faults = entity_state(hass, "binary_sensor", "lk_park_linkage_b2_fault").attributes["faults"]  # type: ignore[union-attr]
    assert faults == ["bells_c.bell_circuit_fault_2", "bells_c.mains_fault"]
    sim.set_value("bells_c", "mains_fault", False)
    sim.set_value("bells_c", "bell_circuit_fault_2", False)
    await async_poll(hass, park, Tier.NORMAL)
    assert state(hass, B2) == "normal"


async def test_lost_bell_write_is_retried_until_read_back_confirms(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """A controller acknowledges writes but its relay sticks twice: retried each poll until confirmed."""
    sim.lose_writes("bells_c", 2)
    sim.press_call_point("bells_c", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_c", BELLS_C) == [False] * BELLS_C
    assert state(hass, eid(hass, "binary_sensor", "lk_park_linkage_b2_fault")) == STATE_ON
    assert state(hass, eid(hass, "siren", "lk_park_bells_c_bell_1")) == "unknown"
    # Retried on the following polls (after a short backoff) until the read-back confirms.
    async with asyncio.timeout(10):
        while bells(sim, "bells_c", BELLS_C) != [True] * BELLS_C:
            await asyncio.sleep(0.1)
            await async_poll(hass, park, Tier.SAFETY)
    # (The first write is the start-up assertion of the quiet state.)
    assert [w.lost for w in sim.writes if w.device_id == "bells_c"][-3:] == [True, True, False]
    assert state(hass, eid(hass, "binary_sensor", "lk_park_linkage_b2_fault")) == STATE_OFF
    assert state(hass, eid(hass, "siren", "lk_park_bells_c_bell_1")) == STATE_ON
    actions = audit_actions(park)
    assert ("bells_unconfirmed", "failed", None) in actions
    confirmed = [e for e in park.runtime_data.audit.entries() if e.action == "bells_confirmed"]
    assert confirmed[-1].data["attempts"] == 3


async def test_bells_switched_off_behind_our_back_are_reasserted(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """The normal tier reads the coils back; a bell found off during an alarm is switched on again."""
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    sim.set_value("bells_c", "bell_3", False)
    await async_poll(hass, park, Tier.NORMAL)
    assert bells(sim, "bells_c", BELLS_C) == [True] * BELLS_C


@pytest.mark.parametrize("linkage_options", [{CONF_LINKAGE_SCOPE: "park"}])
async def test_park_wide_scope(hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator) -> None:
    """Park-wide: a call point in b2 rings every bell of the park."""
    sim.press_call_point("bells_c", 3)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A
    assert bells(sim, "bells_b", BELLS_B) == [True] * BELLS_B
    assert bells(sim, "bells_c", BELLS_C) == [True] * BELLS_C
    assert list(park.runtime_data.linkage.groups) == ["park"]
    assert state(hass, eid(hass, "sensor", "lk_park_linkage_park_state")) == "alarm"


@pytest.mark.parametrize(
    "linkage_options", [{CONF_LINKAGE_CONFIRMATION: "two_signal", CONF_LINKAGE_TRIGGERS: ["smoke"]}]
)
async def test_two_signal_confirmation(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Two-signal: one detector is a pre-alarm without bells; a second independent input confirms."""
    sim.set_value("smoke_1", "smoke_alarm", True)
    await async_poll(hass, park, Tier.FAST)
    assert state(hass, B1) == "pre_alarm"
    assert bells(sim, "bells_a", BELLS_A) == [False] * BELLS_A
    sim.press_call_point("bells_a", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert state(hass, B1) == "alarm"
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A
    # A pre-alarm that clears can be reset.
    sim.set_value("smoke_1", "smoke_alarm", False)
    sim.release_call_point("bells_a", 2)
    await async_poll(hass, park, Tier.SAFETY, Tier.FAST)
    await call(hass, "reset_alarm", hass_admin_user, group="b1")
    sim.set_value("smoke_2", "smoke_alarm", True)
    await async_poll(hass, park, Tier.FAST)
    assert state(hass, B1) == "pre_alarm"
    sim.set_value("smoke_1", "smoke_alarm", True)
    await async_poll(hass, park, Tier.FAST)
    assert state(hass, B1) == "alarm"


async def test_smoke_does_not_trigger_unless_configured(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """By default only call points trigger the linkage."""
    sim.set_value("smoke_1", "smoke_alarm", True)
    await async_poll(hass, park, Tier.FAST)
    assert state(hass, B1) == "normal"


async def test_test_bells_then_they_stop(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """A bell test sounds the group for its duration, then stops; refused during an alarm."""
    await call(hass, "test_bells", hass_admin_user, group="b2", duration=1)
    assert bells(sim, "bells_c", BELLS_C) == [True] * BELLS_C
    assert bells(sim, "bells_a", BELLS_A) == [False] * BELLS_A
    # A real second (a frozen clock would also freeze the Modbus client's timeouts).
    async with asyncio.timeout(5):
        while bells(sim, "bells_c", BELLS_C) != [False] * BELLS_C:
            await asyncio.sleep(0.1)
            await hass.async_block_till_done()
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "test_bells", hass_admin_user, group="b2")
    assert err.value.translation_key == "linkage_alarm_latched"
    assert ("test", "ok", hass_admin_user.id) in audit_actions(park)


@pytest.fixture
async def volunteer(hass: HomeAssistant) -> User:
    """A regular (non-admin) user who may control entities."""
    return await hass.auth.async_create_user("Volunteer", group_ids=[GROUP_ID_USER])


async def test_disable_switch(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    hass_admin_user: MockUser,
    volunteer: User,
) -> None:
    """Disabling is admin-only and audited; a disabled group does not ring; enabling with an alarm rings."""
    switch = eid(hass, "switch", "lk_park_linkage_b2_enabled")
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "switch",
            "turn_off",
            {"entity_id": switch},
            blocking=True,
            context=Context(user_id=volunteer.id),
        )
    assert state(hass, switch) == STATE_ON
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": switch},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert state(hass, switch) == STATE_OFF
    assert state(hass, B2) == "disabled"
    sim.press_call_point("bells_c", 1)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells(sim, "bells_c", BELLS_C) == [False] * BELLS_C
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    assert state(hass, B2) == "alarm"
    assert bells(sim, "bells_c", BELLS_C) == [True] * BELLS_C
    actions = audit_actions(park)
    assert ("disable", "refused", volunteer.id) in actions
    assert ("disable", "ok", hass_admin_user.id) in actions
    assert ("enable", "ok", hass_admin_user.id) in actions


async def test_manual_bell(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """A siren sounds one bell by hand; during an alarm a single bell cannot be stopped."""
    context = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        "siren",
        "turn_on",
        {"entity_id": eid(hass, "siren", "lk_park_bells_a_bell_2")},
        blocking=True,
        context=context,
    )
    assert bells(sim, "bells_a", BELLS_A) == [False, True, False, False, False, False]
    assert state(hass, eid(hass, "siren", "lk_park_bells_a_bell_2")) == STATE_ON
    await hass.services.async_call(
        "siren",
        "turn_off",
        {"entity_id": eid(hass, "siren", "lk_park_bells_a_bell_2")},
        blocking=True,
        context=context,
    )
    assert bells(sim, "bells_a", BELLS_A) == [False] * BELLS_A
    sim.press_call_point("bells_a", 1)
    await async_poll(hass, park, Tier.SAFETY)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "siren",
            "turn_off",
            {"entity_id": eid(hass, "siren", "lk_park_bells_a_bell_2")},
            blocking=True,
            context=context,
        )
    assert err.value.translation_key == "linkage_bells_sounding"
    assert bells(sim, "bells_a", BELLS_A) == [True] * BELLS_A


async def test_linkage_options_page(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_read_only_user: MockUser
) -> None:
    """The options page sets scope, confirmation and triggers, stores only a PIN hash, and can remove it."""
    result = await hass.config_entries.options.async_init(park.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "linkage"})
    assert result["step_id"] == "linkage"
    assert result["description_placeholders"] == {"pin_set": "no"}
    user_input = {
        CONF_LINKAGE_SCOPE: "park",
        CONF_LINKAGE_CONFIRMATION: "two_signal",
        CONF_LINKAGE_TRIGGERS: ["smoke", "gas"],
        "linkage_test_duration": 20,
    }
    bad = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "new_pin": "12a"}
    )
    assert bad["errors"] == {"new_pin": "pin_format"}
    assert CONF_LINKAGE_PIN_HASH not in park.options
    done = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "new_pin": PIN}
    )
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()
    assert park.options[CONF_LINKAGE_SCOPE] == "park"
    assert park.options[CONF_LINKAGE_TRIGGERS] == ["smoke", "gas"]
    assert PIN not in str(park.options)
    assert park.options[CONF_LINKAGE_PIN_HASH].startswith("scrypt$")
    # Reloaded with the new options: one park-wide two-signal group, and the PIN works.
    linkage = park.runtime_data.linkage
    assert list(linkage.groups) == ["park"]
    assert linkage.groups["park"].group.confirmation == "two_signal"
    await call(hass, "test_bells", hass_read_only_user, pin=PIN, duration=1)

    result = await hass.config_entries.options.async_init(park.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "linkage"})
    assert result["description_placeholders"] == {"pin_set": "yes"}
    await hass.config_entries.options.async_configure(result["flow_id"], {**user_input, "clear_pin": True})
    await hass.async_block_till_done()
    assert CONF_LINKAGE_PIN_HASH not in park.options


def test_every_refusal_reason_is_translated() -> None:
    """Refusals build their translation key from the reason: each reason the code can give has a string."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).parents[2] / "custom_components" / "smart_park"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted((root / "linkage").glob("*.py")))
    reasons = set(re.findall(r'LinkageRefused\("(\w+)"', source)) | set(
        re.findall(r'_refuse\([^)]*?"(\w+)",\s*context', source, re.S)
    )
    reasons |= {"admin_required", "admin_or_pin_required", "no_pin_configured", "pin_locked", "wrong_pin"}
    assert len(reasons) >= 12
    for language in ("en", "zh-Hans"):
        exceptions = json.loads((root / "translations" / f"{language}.json").read_text(encoding="utf-8"))[
            "exceptions"
        ]
        missing = {r for r in reasons if f"linkage_{r}" not in exceptions}
        assert not missing, (language, missing)


@pytest.mark.parametrize("linkage_options", [{CONF_LINKAGE_PIN_HASH: hash_pin(PIN)}])
async def test_linkage_diagnostics_and_pin_lockout(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    hass_read_only_user: MockUser,
) -> None:
    """Diagnostics show each group and controller, never the PIN hash; repeated wrong PINs lock PIN entry."""
    sim.press_call_point("bells_a", 5)
    await async_poll(hass, park, Tier.SAFETY)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, park)
    group = diagnostics["linkage"]["groups"]["b1"]
    assert group["state"] == "alarm"
    assert group["controllers"]["bells_a"]["confirmed"] == [True] * BELLS_A
    assert diagnostics["linkage"]["pin_configured"] is True
    assert "scrypt$" not in str(diagnostics)
    for _ in range(5):
        with pytest.raises(ServiceValidationError):
            await call(hass, "silence_alarm", hass_read_only_user, group="b1", pin="9999")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "silence_alarm", hass_read_only_user, group="b1", pin=PIN)
    assert err.value.translation_key == "linkage_pin_locked"
    assert state(hass, B1) == "alarm"
