"""Emergency broadcast in HA against the simulator: zones, presets, priorities, queue, faults, bad calls."""

from __future__ import annotations

import json
import re
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.media_player import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_VOLUME_LEVEL,
    SERVICE_PLAY_MEDIA,
    SERVICE_VOLUME_SET,
)
from homeassistant.components.media_player.const import DOMAIN as MP_DOMAIN
from homeassistant.components.media_player.const import MediaPlayerEntityFeature
from homeassistant.const import ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES, SERVICE_MEDIA_STOP, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_park.audit import Outcome, Source
from custom_components.smart_park.const import CONF_LINKAGE_PIN_HASH, DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.linkage import hash_pin
from simulator.server import ParkSimulator

from .broadcast_helpers import (
    HALL,
    PA,
    PA2,
    broadcast_audit,
    call,
    controller_writes,
    plays,
    start_park,
    zone_entity,
    zone_state,
)
from .conftest import ParkFactory
from .helpers import async_poll, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "smart_park"
PIN = "2468"
# Command codes and slots of the built-in broadcast controller map.
PLAY_PRESET, STOP = 1, 0
FIRE_EVACUATION, GENERAL_NOTICE, DRILL_START = 1, 7, 4


@pytest.fixture
def options() -> dict[str, Any]:
    """Extra entry options."""
    return {}


@pytest.fixture
async def bc_park(
    park_factory: ParkFactory, options: dict[str, Any]
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park in HA and its simulator."""
    return await start_park(park_factory, **options)


@pytest.fixture
def sim(bc_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> ParkSimulator:
    """The broadcast park's simulator."""
    return bc_park[1]


@pytest.fixture
def park(bc_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> SmartParkConfigEntry:
    """The park in HA."""
    return bc_park[0]


async def finish(hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, device: str) -> None:
    """The controller plays its message to the end; the next fast poll sees it."""
    sim.audio.finish(device)
    await async_poll(hass, park, Tier.FAST)


async def test_every_zone_is_a_media_player(hass: HomeAssistant, park: SmartParkConfigEntry) -> None:
    """One media player per zone, named from the channel map or "Zone n", idle, at the zone's volume."""
    hall = hass.states.get(zone_entity(hass, PA, 1))
    assert hall is not None
    assert hall.name == f"Broadcast A {HALL}"
    assert hall.state == "idle"
    assert hall.attributes[ATTR_MEDIA_VOLUME_LEVEL] == 0.7
    features = MediaPlayerEntityFeature(hall.attributes[ATTR_SUPPORTED_FEATURES])
    for feature in ("PLAY_MEDIA", "MEDIA_ANNOUNCE", "BROWSE_MEDIA", "STOP", "VOLUME_SET"):
        assert MediaPlayerEntityFeature[feature] in features
    unnamed = hass.states.get(zone_entity(hass, PA2, 2))
    assert unnamed is not None
    assert unnamed.name.endswith("Zone 2")
    assert len(hass.states.async_entity_ids(MP_DOMAIN)) == 6


async def test_preset_plays_in_the_chosen_zones(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """A preset by name, zones by id and by entity: one write per controller, zones and slot as asked."""
    start = len(sim.writes)
    response = await call(
        hass,
        "broadcast",
        hass_admin_user,
        zones=[f"{PA}.1", zone_entity(hass, PA, 3)],
        preset="general_notice",
        repeat=2,
    )
    assert response is not None
    assert response["status"] == "playing"
    [played] = plays(sim)
    assert (played.device_id, played.command, played.message_slot, played.zones) == (
        PA,
        PLAY_PRESET,
        GENERAL_NOTICE,
        [1, 3],
    )
    # Notices play at each zone's own volume (0), with their priority and repeats.
    assert (played.priority, played.repeat_count, played.volume) == (1, 2, 0)
    assert [w.values for w in controller_writes(sim, start)] == [[0b101, GENERAL_NOTICE, 1, 0, 1, 2]]
    await hass.async_block_till_done()
    assert [zone_state(hass, PA, n) for n in (1, 2, 3, 4)] == ["playing", "idle", "playing", "idle"]
    hall = hass.states.get(zone_entity(hass, PA, 1))
    assert hall is not None
    assert hall.attributes["media_title"] == "General notice"
    assert hall.attributes["broadcast_id"] == response["broadcast_id"]
    assert hall.attributes["priority"] == "notice"

    # The controller finishes: the broadcast completes and the zones go idle.
    await finish(hass, park, sim, PA)
    assert zone_state(hass, PA, 1) == "idle"
    assert park.runtime_data.broadcast.active == {}
    [started] = broadcast_audit(park, "started")
    [ended] = broadcast_audit(park, "ended")
    assert started.user_id == hass_admin_user.id
    assert started.target == ended.target == response["broadcast_id"]
    assert started.data["zones"] == [f"{PA}.1", f"{PA}.3"]
    assert started.data["zone_names"] == [HALL, "2号楼一层"]
    assert started.data["message"]["title"] == "General notice"
    assert (ended.data["reason"], ended.data["started_by"]) == ("completed", hass_admin_user.id)
    assert ended.data["started_at"]
    assert ended.data["ended_at"]


async def test_building_covers_zones_of_every_controller(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """Building b2: pa's zones placed there by the channel map and every zone of pa2, one write each."""
    await call(hass, "broadcast", buildings=["b2"], preset=str(DRILL_START), priority="drill")
    assert sorted((p.device_id, tuple(p.zones)) for p in plays(sim)) == [(PA, (3, 4)), (PA2, (1, 2))]
    assert {p.message_slot for p in plays(sim)} == {DRILL_START}
    [started] = broadcast_audit(park, "started")
    assert started.source is Source.AUTOMATION
    assert started.data["message"]["preset"] == "drill_start"


async def test_fire_preempts_a_notice_which_does_not_come_back(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Fire takes the controller at once (no stop in between); the notice ends preempted and stays ended."""
    notice = await call(hass, "broadcast", zones=[f"{PA}.1"], preset="general_notice", repeat=0)
    assert notice is not None
    fire = await call(
        hass, "broadcast", hass_admin_user, buildings=["b1"], preset="fire_evacuation", priority="fire"
    )
    assert fire is not None
    assert [(p.command, p.message_slot, p.priority) for p in plays(sim, PA)] == [
        (PLAY_PRESET, GENERAL_NOTICE, 1),
        (PLAY_PRESET, FIRE_EVACUATION, 4),
    ]
    # Fire plays at full volume in b1's zones.
    assert (plays(sim, PA)[-1].volume, plays(sim, PA)[-1].zones) == (100, [1, 2])
    await hass.async_block_till_done()
    hall = hass.states.get(zone_entity(hass, PA, 1))
    assert hall is not None
    assert (hall.attributes["media_title"], hall.attributes["priority"]) == ("Fire evacuation", "fire")
    [ended] = broadcast_audit(park, "ended")
    assert (ended.target, ended.data["reason"], ended.data["preempted_by"]) == (
        notice["broadcast_id"],
        "preempted",
        fire["broadcast_id"],
    )
    assert ended.user_id == hass_admin_user.id  # who caused the end
    fire_started = broadcast_audit(park, "started")[-1]
    assert fire_started.data["preempted"] == [notice["broadcast_id"]]

    # The fire broadcast is stopped: the notice does not resume.
    count = len(sim.broadcasts)
    await call(hass, "stop_broadcast", hass_admin_user, broadcast_id=fire["broadcast_id"])
    assert [(p.command, p.device_id) for p in plays(sim, after=count)] == [(STOP, PA)]
    await async_poll(hass, park, Tier.FAST)
    assert park.runtime_data.broadcast.active == {}
    assert zone_state(hass, PA, 1) == "idle"
    assert broadcast_audit(park, "ended")[-1].data["reason"] == "stopped"


async def test_notice_refused_during_a_fire_broadcast(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """A notice on the controller playing fire is refused, names the fire broadcast, writes nothing."""
    fire = await call(hass, "broadcast", zones=[f"{PA}.1"], preset="fire_evacuation", priority="fire")
    assert fire is not None
    start = len(sim.writes)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "broadcast", zones=[f"{PA}.2"], preset="general_notice")
    assert err.value.translation_key == "broadcast_blocked"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["blocking"] == "Fire evacuation"
    assert placeholders["broadcast_id"] == fire["broadcast_id"]
    assert "Fire evacuation" in str(err.value)
    assert controller_writes(sim, start) == []
    [refused] = broadcast_audit(park, "refused")
    assert (refused.outcome, refused.data["blocked_by"]) == (Outcome.REFUSED, fire["broadcast_id"])
    # A drill is lower too; another controller is free.
    with pytest.raises(ServiceValidationError):
        await call(hass, "broadcast", zones=[f"{PA}.4"], preset="drill_start", priority="drill")
    await call(hass, "broadcast", zones=[f"{PA2}.1"], preset="general_notice")
    assert plays(sim, PA2)[-1].message_slot == GENERAL_NOTICE


async def test_queued_notice_waits_for_the_fire_broadcast(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """With queue the notice waits (no write), and plays as soon as the fire broadcast has ended."""
    await call(hass, "broadcast", zones=[f"{PA}.1"], preset="fire_evacuation", priority="fire", repeat=1)
    start = len(sim.writes)
    queued = await call(hass, "broadcast", zones=[f"{PA}.2"], preset="general_notice", queue=True)
    assert queued is not None
    assert queued["status"] == "queued"
    assert controller_writes(sim, start) == []
    [entry] = broadcast_audit(park, "queued")
    assert entry.target == queued["broadcast_id"]

    await finish(hass, park, sim, PA)
    assert [(p.message_slot, p.zones) for p in plays(sim, PA)][-1] == (GENERAL_NOTICE, [2])
    assert broadcast_audit(park, "started")[-1].target == queued["broadcast_id"]
    assert park.runtime_data.broadcast.queue == []


# A clock from the start (see test_broadcast_alternation.py for why it ticks).
@pytest.mark.freeze_time(tick=True)
async def test_queued_broadcast_expires(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A queued broadcast past its queue_timeout is dropped: nothing stale plays when the way clears."""
    await call(hass, "broadcast", zones=[f"{PA}.1"], preset="fire_evacuation", priority="fire")
    queued = await call(
        hass, "broadcast", zones=[f"{PA}.1"], preset="general_notice", queue=True, queue_timeout=30
    )
    assert queued is not None
    freezer.move_to(dt_util.utcnow() + timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    [expired] = [e for e in broadcast_audit(park, "ended") if e.target == queued["broadcast_id"]]
    assert expired.data["reason"] == "expired"
    count = len(sim.broadcasts)
    await finish(hass, park, sim, PA)
    assert plays(sim, after=count) == []


@pytest.mark.parametrize("options", [{CONF_LINKAGE_PIN_HASH: hash_pin(PIN)}])
async def test_fire_priority_needs_admin_automation_or_pin(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """A non-admin user gets fire priority only with the linkage PIN; lower priorities are open to all."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "broadcast", hass_read_only_user, zones=[f"{PA}.1"], preset="1", priority="fire")
    assert err.value.translation_key == "linkage_admin_or_pin_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "broadcast", hass_read_only_user, zones=[f"{PA}.1"], preset="1", priority="fire", pin="0000"
        )
    assert err.value.translation_key == "linkage_wrong_pin"
    assert plays(sim) == []
    await call(
        hass, "broadcast", hass_read_only_user, zones=[f"{PA}.1"], preset="1", priority="fire", pin=PIN
    )
    assert plays(sim, PA)[-1].priority == 4
    # Stopping it needs the same, also for an automation; an emergency needs nothing special.
    for user in (hass_read_only_user, None):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "stop_broadcast", user, zones=[f"{PA}.1"])
        assert err.value.translation_key == "linkage_admin_or_pin_required"
    assert plays(sim, PA)[-1].command == PLAY_PRESET
    await call(hass, "stop_broadcast", pin=PIN)
    assert plays(sim, PA)[-1].command == STOP
    await call(hass, "broadcast", zones=[f"{PA}.1"], preset="1", priority="fire")
    await call(hass, "stop_broadcast", hass_admin_user)
    await call(hass, "broadcast", hass_read_only_user, zones=[f"{PA}.1"], preset="3", priority="emergency")
    assert plays(sim, PA)[-1].priority == 3
    await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()


async def test_amplifier_fault_is_a_problem_and_a_repair_issue(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """The amplifier fault bit: problem binary_sensor on, a translated repair issue; both clear with it."""
    issues = ir.async_get(hass)
    issue_id = f"{park.runtime_data.profile.id}_broadcast_amplifier_fault_{PA}"
    sim.set_value(PA, "amplifier_fault", True)
    await async_poll(hass, park, Tier.NORMAL)
    fault = entity_state(hass, "binary_sensor", "bc_park_pa_amplifier_fault")
    assert fault is not None
    assert fault.state == STATE_ON
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert (issue.translation_key, issue.severity) == ("broadcast_amplifier_fault", ir.IssueSeverity.CRITICAL)
    assert issue.translation_placeholders == {"controller": "Broadcast A"}
    sim.set_value(PA, "amplifier_fault", False)
    await async_poll(hass, park, Tier.NORMAL)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert [e.data["fault"] for e in broadcast_audit(park, "amplifier_fault")] == [True, False]


@pytest.mark.parametrize(
    ("data", "key", "field"),
    [
        ({"zones": ["pa.9"], "preset": "1"}, "broadcast_unknown_zone", "zones"),
        ({"zones": ["media_player.nothing"], "preset": "1"}, "broadcast_unknown_zone", "zones"),
        ({"buildings": ["b7"], "preset": "1"}, "broadcast_unknown_building", "buildings"),
        ({"preset": "1"}, "broadcast_no_target", "zones"),
        ({"zones": ["pa.1"], "message": "  "}, "broadcast_empty_message", "message"),
        ({"zones": ["pa.1"], "message": "撤离", "preset": "1"}, "broadcast_preset_and_message", "preset"),
        ({"zones": ["pa.1"]}, "broadcast_no_message", "message"),
        ({"zones": ["pa.1"], "preset": "99"}, "broadcast_unknown_preset", "preset"),
        ({"zones": ["pa.1"], "preset": "fire_drill_party"}, "broadcast_unknown_preset", "preset"),
    ],
)
async def test_bad_calls_are_refused_and_change_nothing(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    sim: ParkSimulator,
    data: dict[str, Any],
    key: str,
    field: str,
) -> None:
    """Each bad call gets a translated error naming the field; no Modbus write, no audit entry."""
    start = len(sim.writes)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "broadcast", **data)
    assert err.value.translation_key == key
    assert (err.value.translation_placeholders or {})["field"] == field
    # The message is rendered from strings.json (no untranslated key).
    assert key not in str(err.value)
    assert field in str(err.value)
    assert sim.writes[start:] == []
    assert broadcast_audit(park) == []
    assert park.runtime_data.broadcast.active == {}


async def test_media_player_plays_stops_and_sets_volume(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """play_media (announce) of a browsed preset; stop one zone of two (the other plays on); zone volume."""
    hall, floor2 = zone_entity(hass, PA, 1), zone_entity(hass, PA, 2)
    await call(hass, "broadcast", zones=[f"{PA}.1", f"{PA}.2"], preset="general_notice", repeat=0)
    start = len(sim.writes)
    await hass.services.async_call(
        MP_DOMAIN,
        SERVICE_MEDIA_STOP,
        {ATTR_ENTITY_ID: hall},
        blocking=True,
        context=Context(hass_admin_user.id),
    )
    # Zone 1 leaves the broadcast: zone_mask only, the message plays on in zone 2.
    assert [(w.address, w.values) for w in controller_writes(sim, start)] == [(0, [0b10])]
    await async_poll(hass, park, Tier.FAST)
    assert (zone_state(hass, PA, 1), zone_state(hass, PA, 2)) == ("idle", "playing")
    [narrowed] = broadcast_audit(park, "zones_stopped")
    assert (narrowed.data["zones"], narrowed.user_id) == ([f"{PA}.1"], hass_admin_user.id)
    await hass.services.async_call(MP_DOMAIN, SERVICE_MEDIA_STOP, {ATTR_ENTITY_ID: floor2}, blocking=True)
    assert plays(sim, PA)[-1].command == STOP
    assert broadcast_audit(park, "ended")[-1].data["reason"] == "stopped"

    await hass.services.async_call(
        MP_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: floor2,
            ATTR_MEDIA_CONTENT_TYPE: "smart_park_preset",
            ATTR_MEDIA_CONTENT_ID: f"smart_park/preset/{DRILL_START}",
            ATTR_MEDIA_ANNOUNCE: True,
            "extra": {"priority": "drill", "repeat": 3},
        },
        blocking=True,
    )
    last = plays(sim, PA)[-1]
    assert (last.message_slot, last.zones, last.priority, last.repeat_count) == (DRILL_START, [2], 2, 3)
    await hass.async_block_till_done()
    assert zone_state(hass, PA, 2) == "playing"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            MP_DOMAIN,
            SERVICE_PLAY_MEDIA,
            {
                ATTR_ENTITY_ID: hall,
                ATTR_MEDIA_CONTENT_TYPE: "smart_park_preset",
                ATTR_MEDIA_CONTENT_ID: f"smart_park/preset/{GENERAL_NOTICE}",
            },
            blocking=True,
        )
    assert err.value.translation_key == "broadcast_blocked"

    start = len(sim.writes)
    await hass.services.async_call(
        MP_DOMAIN, SERVICE_VOLUME_SET, {ATTR_ENTITY_ID: hall, ATTR_MEDIA_VOLUME_LEVEL: 0.4}, blocking=True
    )
    assert [(w.address, w.values) for w in controller_writes(sim, start)] == [(8, [40])]
    assert sim.get_value(PA, "zone_volume_1") == 40
    state = hass.states.get(hall)
    assert state is not None
    assert state.attributes[ATTR_MEDIA_VOLUME_LEVEL] == 0.4


async def test_presets_browse_with_translated_titles(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """The media browser lists the controller's preset table in HA's language."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "media_player/browse_media", "entity_id": zone_entity(hass, PA, 1)}
    )
    response = await client.receive_json()
    assert response["success"], response
    children = response["result"]["children"]
    assert [c["title"] for c in children[:2]] == ["Fire evacuation", "Gas leak evacuation"]
    assert children[0]["media_content_id"] == "smart_park/preset/1"
    assert children[0]["can_play"] is True
    await hass.config.async_update(language="zh-Hans")
    await client.send_json_auto_id(
        {"type": "media_player/browse_media", "entity_id": zone_entity(hass, PA, 1)}
    )
    response = await client.receive_json()
    assert response["result"]["children"][0]["title"] == "火灾疏散"


async def test_stop_broadcast_by_zone_id_and_nothing_to_stop(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """stop_broadcast by building stops what plays there; with nothing playing it says so."""
    await call(hass, "broadcast", zones=[f"{PA}.3"], preset="general_notice")
    response = await call(hass, "stop_broadcast", buildings=["b2"])
    assert response is not None
    assert len(response["stopped"]) == 1
    assert plays(sim, PA)[-1].command == STOP
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "stop_broadcast")
    assert err.value.translation_key == "broadcast_nothing_to_stop"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "stop_broadcast", broadcast_id="bc-none")
    assert err.value.translation_key == "broadcast_not_found"


async def test_controller_that_does_not_answer_fails_cleanly(
    hass: HomeAssistant, park: SmartParkConfigEntry, sim: ParkSimulator
) -> None:
    """A silent controller: a translated error, the broadcast audited as failed, nothing left active."""
    sim.silence_unit(PA)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "broadcast", zones=[f"{PA}.1"], preset="general_notice")
    assert err.value.translation_key == "broadcast_failed"
    [started] = broadcast_audit(park, "started")
    assert started.outcome is Outcome.FAILED
    assert park.runtime_data.broadcast.active == {}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_broadcast_error_is_translated() -> None:
    """Each error key the broadcast code raises exists in en and zh-Hans with the same placeholders."""
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*sorted((INTEGRATION / "broadcast").glob("*.py")), INTEGRATION / "media_player.py"]
    )
    keys = set(re.findall(r'(?:invalid|failed)\(\s*"(\w+)"', source))
    keys |= set(re.findall(r'translation_key="(broadcast_\w+)"', source))
    assert len(keys) > 15
    en = json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8"))["exceptions"]
    zh = json.loads((INTEGRATION / "translations" / "zh-Hans.json").read_text(encoding="utf-8"))["exceptions"]
    for key in keys:
        assert _placeholders(en[key]["message"]) == _placeholders(zh[key]["message"]), key
