"""Bells and the evacuation message in turn during a fire alarm (GB 50116 §4.8.9), on a frozen clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed

from custom_components.smart_park.broadcast.alternation import MESSAGE_SECONDS_MAX
from custom_components.smart_park.const import (
    CONF_BROADCAST_ALTERNATION,
    CONF_BROADCAST_BELL_SECONDS,
    CONF_BROADCAST_EVACUATION_SLOT,
    CONF_BROADCAST_MESSAGE_REPEATS,
)
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .broadcast_helpers import PA, PA2, broadcast_audit, call, plays, start_park, zone_state
from .conftest import ParkFactory
from .helpers import async_poll

# The clock is freezegun's from the start (HA's event loop runs on it too), ticking with real time so that
# network waits complete, and jumped forward by the tests. Started later, it would make every timer set
# before it fall due at once; frozen still, pymodbus's connect (it sleeps 0.1 s) would never return.
pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.freeze_time(tick=True)]

BELL_SECONDS = 12
REPEATS = 2
# One play of the evacuation message on the simulated controller.
MESSAGE_SECONDS = 5.0
BELLS_1 = 6
ALTERNATION = {
    CONF_BROADCAST_ALTERNATION: True,
    CONF_BROADCAST_BELL_SECONDS: BELL_SECONDS,
    CONF_BROADCAST_MESSAGE_REPEATS: REPEATS,
    CONF_BROADCAST_EVACUATION_SLOT: 1,
}


@pytest.fixture
def options() -> dict[str, Any]:
    """Alternation on."""
    return ALTERNATION


@pytest.fixture
async def bc_park(
    park_factory: ParkFactory, options: dict[str, Any]
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park in HA (on the controlled clock, see pytestmark); a message plays MESSAGE_SECONDS per repeat
    (simulated time)."""
    return await start_park(park_factory, seconds=MESSAGE_SECONDS, **options)


@pytest.fixture
def sim(bc_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> ParkSimulator:
    """The broadcast park's simulator."""
    return bc_park[1]


@pytest.fixture
def park(bc_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> SmartParkConfigEntry:
    """The park in HA."""
    return bc_park[0]


def bells_on(sim: ParkSimulator) -> bool:
    """Whether every bell of building b1 sounds (and none is in another state)."""
    states = {bool(sim.get_value("bells_1", f"bell_{n}")) for n in range(1, BELLS_1 + 1)}
    assert len(states) == 1, states
    return states.pop()


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Let ``seconds`` pass on the clock (HA's timers and the simulator's playback alike).

    ``move_to`` from now: a ticking factory's ``tick`` would drop the real time since its last move.
    """
    freezer.move_to(dt_util.utcnow() + timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_bells_and_message_alternate_with_their_timings(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    freezer: FrozenDateTimeFactory,
    hass_admin_user: MockUser,
) -> None:
    """Bells BELL_SECONDS, the message REPEATS times with bells paused, bells again; silence ends it."""
    sim.press_call_point("bells_1", 2)
    await async_poll(hass, park, Tier.SAFETY)
    assert bells_on(sim)
    assert plays(sim) == []
    # The zones are held for fire from the start: a notice is refused even between messages.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "broadcast", zones=[f"{PA}.2"], preset="general_notice")
    assert err.value.translation_key == "broadcast_blocked"
    assert (err.value.translation_placeholders or {})["blocking"] == "Fire evacuation"

    for cycle in range(2):
        await advance(hass, freezer, BELL_SECONDS - 1)
        assert bells_on(sim), cycle
        assert len(plays(sim)) == cycle
        await advance(hass, freezer, 1.5)
        # Message: in b1's zones only (pa.1, pa.2), at fire priority and full volume, REPEATS plays.
        message = plays(sim)[-1]
        assert (message.device_id, message.command, message.message_slot, message.zones) == (PA, 1, 1, [1, 2])
        assert (message.priority, message.volume, message.repeat_count) == (4, 100, REPEATS)
        assert not bells_on(sim)
        await async_poll(hass, park, Tier.FAST)
        assert zone_state(hass, PA, 1) == "playing"
        assert zone_state(hass, PA, 3) == "idle"
        # Still playing just before REPEATS × MESSAGE_SECONDS; the bells stay paused meanwhile.
        await advance(hass, freezer, REPEATS * MESSAGE_SECONDS - 1)
        await async_poll(hass, park, Tier.FAST)
        assert not bells_on(sim)
        await advance(hass, freezer, 1.5)
        await async_poll(hass, park, Tier.FAST)
        assert zone_state(hass, PA, 1) == "idle"
        assert bells_on(sim), cycle

    played = broadcast_audit(park, "played")
    assert len(played) == 2
    assert all(e.data["repeat"] == REPEATS for e in played)
    # GB 50116: the bells sound between the messages for their time.
    gap = played[1].at - played[0].at
    assert timedelta(seconds=BELL_SECONDS + REPEATS * MESSAGE_SECONDS) <= gap < timedelta(seconds=40)

    # Silence: the alternation lets the zones go (stop written), the bells stay silent, nothing more plays.
    count = len(sim.broadcasts)
    await call(hass, "silence_alarm", hass_admin_user, group="b1")
    await hass.async_block_till_done()
    assert not bells_on(sim)
    await advance(hass, freezer, BELL_SECONDS + 1)
    assert [(p.device_id, p.command) for p in plays(sim, after=count)] == []
    [ended] = broadcast_audit(park, "ended")
    assert ended.data["reason"] == "released"
    assert park.runtime_data.broadcast.active == {}
    await call(hass, "broadcast", zones=[f"{PA}.2"], preset="general_notice")


async def test_message_in_progress_is_stopped_when_the_alarm_is_silenced(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    freezer: FrozenDateTimeFactory,
    hass_admin_user: MockUser,
) -> None:
    """Silenced during the message: the controller gets a stop, the bells stay silent."""
    sim.press_call_point("bells_2", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    # b2: pa's zones 3-4 and both zones of pa2.
    assert sorted((p.device_id, tuple(p.zones)) for p in plays(sim)) == [(PA, (3, 4)), (PA2, (1, 2))]
    await call(hass, "silence_alarm", hass_admin_user, group="b2")
    await hass.async_block_till_done()
    assert sorted((p.device_id, p.command) for p in plays(sim)[2:]) == [(PA, 0), (PA2, 0)]
    assert not any(sim.get_value("bells_2", f"bell_{n}") for n in range(1, 4))


async def test_operator_stop_leaves_continuous_bells(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    freezer: FrozenDateTimeFactory,
    hass_admin_user: MockUser,
) -> None:
    """An admin stops the evacuation message: bells back at once and without a break for this alarm."""
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert not bells_on(sim)
    await call(hass, "stop_broadcast", hass_admin_user, zones=[f"{PA}.1", f"{PA}.2"])
    await hass.async_block_till_done()
    assert bells_on(sim)
    count = len(sim.broadcasts)
    await advance(hass, freezer, 3 * BELL_SECONDS)
    assert plays(sim, after=count) == []
    assert bells_on(sim)
    ended = broadcast_audit(park, "ended")[-1]
    assert (ended.data["reason"], ended.user_id) == ("stopped", hass_admin_user.id)


async def test_no_message_when_a_fire_broadcast_holds_the_zones(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    freezer: FrozenDateTimeFactory,
    hass_admin_user: MockUser,
) -> None:
    """An operator's fire broadcast on the same controller: the alternation keeps the bells ringing."""
    await call(
        hass, "broadcast", hass_admin_user, zones=[f"{PA}.3"], preset="fire_evacuation", priority="fire"
    )
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert bells_on(sim)
    assert len(plays(sim)) == 1
    assert broadcast_audit(park, "alternation_blocked")


async def test_message_that_overruns_is_cut_and_bells_come_back(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A controller that never reports the end: after 60 s per play the message is stopped, bells resume."""
    sim.audio.seconds = 10_000
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert not bells_on(sim)
    await advance(hass, freezer, MESSAGE_SECONDS_MAX * REPEATS - 1)
    assert not bells_on(sim)
    await advance(hass, freezer, 1.5)
    assert plays(sim)[-1].command == 0
    assert bells_on(sim)
    # The next message comes after the bells' time as usual.
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert plays(sim)[-1].command == 1


async def test_restart_mid_message_resumes_the_alternation(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Reloaded while the message plays: it is stopped, the bells ring, and the cycle starts over."""
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert not bells_on(sim)
    count = len(sim.broadcasts)
    assert await hass.config_entries.async_reload(park.entry_id)
    await hass.async_block_till_done()
    assert bells_on(sim)
    assert [(p.command, p.zones) for p in plays(sim, after=count)] == [(0, [])]
    await advance(hass, freezer, BELL_SECONDS + 0.5)
    assert [(p.command, p.zones) for p in plays(sim, after=count)] == [(0, []), (1, [1, 2])]
    assert not bells_on(sim)


@pytest.mark.parametrize("options", [{}], ids=["default"])
async def test_alternation_is_off_by_default(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Without the option the bells ring on and no message plays."""
    assert park.runtime_data.broadcast.alternation is None
    sim.press_call_point("bells_1", 1)
    await async_poll(hass, park, Tier.SAFETY)
    await advance(hass, freezer, 3 * BELL_SECONDS)
    assert bells_on(sim)
    assert plays(sim) == []


@pytest.mark.parametrize("options", [{}], ids=["default"])
async def test_options_page_sets_the_alternation(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """The options menu has a broadcast page; an unknown preset slot is refused; saving reloads with it."""
    result = await hass.config_entries.options.async_init(park.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "broadcast" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "broadcast"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "broadcast"
    values = {**ALTERNATION, CONF_BROADCAST_EVACUATION_SLOT: 99}
    result = await hass.config_entries.options.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BROADCAST_EVACUATION_SLOT: "unknown_preset"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], ALTERNATION)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert park.options[CONF_BROADCAST_ALTERNATION] is True
    assert park.options[CONF_BROADCAST_BELL_SECONDS] == BELL_SECONDS
    assert park.state is ConfigEntryState.LOADED
    alternation = park.runtime_data.broadcast.alternation
    assert alternation is not None
    assert (alternation.bell_seconds, alternation.repeats, alternation.slot) == (BELL_SECONDS, REPEATS, 1)
    assert sorted(alternation.cycles) == ["b1", "b2"]
