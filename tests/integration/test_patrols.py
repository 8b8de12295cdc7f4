"""Night patrols: rounds of NFC checkpoints, scanned through HA's real tag integration, ended on HA's clock.

Scans go through ``homeassistant.components.tag.async_scan_tag`` (what the companion app's NFC scan calls),
with the scanning user in the context, so the round sees exactly the ``tag_scanned`` events a phone makes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from homeassistant.components.tag import async_scan_tag
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_park.audit import Category, Outcome, Source
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.patrols import EVENT_PATROL_ENDED, EVENT_PATROL_SCANNED

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

SENSOR = f"{PARK_ID}_patrol"
EAST, NORTH, WELL = "04-a1-b2-c3", "04-d4-e5-f6", "04-77-88-99"


@pytest.fixture
async def park(
    hass: HomeAssistant, park_factory: ParkFactory, hass_ws_client: WebSocketGenerator
) -> SmartParkConfigEntry:
    """The small park, with HA's tag integration knowing the east gate's tag by name."""
    assert await async_setup_component(hass, "tag", {})
    # The park first: the websocket client freezes HA's router, the media player platform registers a view.
    entry, _sim = await park_factory(park_document())
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "tag/create", "tag_id": EAST, "name": "East gate"})
    assert (await client.receive_json())["success"]
    return entry


async def start(hass: HomeAssistant, user: MockUser | None = None, **data: Any) -> dict[str, Any]:
    """Call smart_park.start_patrol (as ``user``) and return its response."""
    payload: dict[str, Any] = {
        "route": "Night round A",
        "checkpoints": [EAST, NORTH, {"tag_id": WELL, "name": "Fire well"}],
        "duration": {"hours": 2},
        **data,
    }
    payload = {key: value for key, value in payload.items() if value is not None}
    response = await hass.services.async_call(
        DOMAIN,
        "start_patrol",
        payload,
        blocking=True,
        return_response=True,
        context=Context(user_id=user.id if user else None),
    )
    await hass.async_block_till_done()
    assert isinstance(response, dict)
    return response


async def scan(
    hass: HomeAssistant, tag_id: str, user: MockUser | None, device_id: str | None = "phone-1"
) -> None:
    """A phone's NFC scan of ``tag_id`` by ``user``."""
    await async_scan_tag(hass, tag_id, device_id, context=Context(user_id=user.id if user else None))
    await hass.async_block_till_done()


async def fire_at(hass: HomeAssistant, start: dict[str, Any], delta: timedelta) -> None:
    """Run HA's timers due ``delta`` after the round started (HA's clock, not the wall clock, moves).

    A frozen wall clock would also stop the event loop's clock that the park's set-up waits on.
    """
    async_fire_time_changed(hass, datetime.fromisoformat(start["started_at"]) + delta)
    await hass.async_block_till_done()


def patrol_audit(entry: SmartParkConfigEntry) -> list[tuple[str, Source, Outcome, str | None]]:
    return [
        (e.action, e.source, e.outcome, e.user_id)
        for e in entry.runtime_data.audit.entries()
        if e.category is Category.PATROL
    ]


async def test_round_records_scans_and_reports_missed_at_the_deadline(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    assert entity_state(hass, "sensor", SENSOR).state == "idle"
    scanned = async_capture_events(hass, EVENT_PATROL_SCANNED)
    ended = async_capture_events(hass, EVENT_PATROL_ENDED)
    started = await start(hass, hass_admin_user, captain=hass_admin_user.id)
    assert started["state"] == "on_patrol"
    assert started["config_entry_id"] == park.entry_id
    # A bare tag id is named after HA's tag; an unnamed one keeps its id; a given name wins.
    assert [c["name"] for c in started["checkpoints"]] == ["East gate", NORTH, "Fire well"]

    await scan(hass, EAST, hass_read_only_user)
    await scan(hass, "04-not-on-route", hass_read_only_user)  # another tag: ignored
    await scan(hass, EAST, hass_admin_user)  # a second scan keeps the first
    state = entity_state(hass, "sensor", SENSOR)
    assert state.state == "on_patrol"
    assert state.attributes["route"] == "Night round A"
    assert (state.attributes["scanned"], state.attributes["checkpoints"]) == (1, 3)
    assert len(scanned) == 1
    assert scanned[0].data["checkpoint"] == "East gate"
    assert scanned[0].data["user_id"] == hass_read_only_user.id

    await fire_at(hass, started, timedelta(minutes=119))
    assert not ended  # the window is 2 h
    await fire_at(hass, started, timedelta(minutes=120, seconds=1))
    assert len(ended) == 1
    data = ended[0].data
    assert data["ended_at"] == started["ends_at"]
    assert data["state"] == "missed"
    assert data["end_reason"] == "deadline"
    assert data["missed_names"] == [NORTH, "Fire well"]
    assert [m["tag_id"] for m in data["missed"]] == [NORTH, WELL]
    assert [(s["tag_id"], s["name"], s["user_id"], s["device_id"]) for s in data["scanned"]] == [
        (EAST, "East gate", hass_read_only_user.id, "phone-1")
    ]
    assert data["patrollers"] == [hass_read_only_user.id]
    assert data["captain"] == hass_admin_user.id
    assert data["started_by"] == hass_admin_user.id
    state = entity_state(hass, "sensor", SENSOR)
    assert state.state == "missed"
    assert state.attributes["missed"] == [NORTH, "Fire well"]
    # Scans after the round closed change nothing.
    await scan(hass, NORTH, hass_read_only_user)
    assert entity_state(hass, "sensor", SENSOR).attributes["scanned"] == 1
    assert patrol_audit(park) == [
        ("start_patrol", Source.USER, Outcome.OK, hass_admin_user.id),
        ("patrol_scan", Source.USER, Outcome.OK, hass_read_only_user.id),
        ("end_patrol", Source.SYSTEM, Outcome.OK, None),
    ]
    end = next(e for e in park.runtime_data.audit.entries() if e.action == "end_patrol")
    assert end.data["missed"] == [NORTH, "Fire well"]
    assert end.target == data["id"]


async def test_all_scanned_completes_and_end_patrol_closes_early(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    ended = async_capture_events(hass, EVENT_PATROL_ENDED)
    await start(hass, checkpoints=[EAST, NORTH])
    await scan(hass, NORTH, hass_admin_user)
    await scan(hass, EAST, None, device_id="reader-gate")  # a fixed reader: no user
    assert [e.data["end_reason"] for e in ended] == ["all_scanned"]
    assert ended[0].data["missed"] == []
    assert entity_state(hass, "sensor", SENSOR).state == "completed"
    actions = patrol_audit(park)
    assert actions[1:3] == [
        ("patrol_scan", Source.USER, Outcome.OK, hass_admin_user.id),
        ("patrol_scan", Source.FIELD, Outcome.OK, None),
    ]

    await start(hass, hass_admin_user, checkpoints=[EAST, NORTH])
    await scan(hass, EAST, hass_admin_user)
    response = await hass.services.async_call(
        DOMAIN,
        "end_patrol",
        {},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert isinstance(response, dict)
    assert response["end_reason"] == "ended_early"
    assert response["ended_by"] == hass_admin_user.id
    # The north tag was scanned once, so HA's tag integration knows it now, by its default name.
    assert ended[-1].data["missed_names"] == [f"Tag {NORTH}"]
    assert entity_state(hass, "sensor", SENSOR).state == "missed"


async def test_refusals_are_translated(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "end_patrol", {}, blocking=True)
    assert err.value.translation_key == "patrol_not_running"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_patrol", {"route": "A", "checkpoints": [EAST]}, blocking=True
        )
    assert err.value.translation_key == "patrol_window_required"
    with pytest.raises(ServiceValidationError) as err:
        await start(hass, duration={"hours": 25})
    assert err.value.translation_key == "patrol_window_too_long"
    with pytest.raises(ServiceValidationError) as err:
        await start(hass, duration=None, ends_at=(dt_util.now() - timedelta(minutes=1)).isoformat())
    assert err.value.translation_key == "patrol_ends_in_past"

    await start(hass, hass_admin_user)
    with pytest.raises(ServiceValidationError) as err:
        await start(hass, hass_admin_user, route="Night round B")
    assert err.value.translation_key == "patrol_in_progress"
    assert (err.value.translation_placeholders or {}).get("route") == "Night round A"
    assert [(a, o) for a, _s, o, _u in patrol_audit(park)] == [
        ("end_patrol", Outcome.REFUSED),
        ("start_patrol", Outcome.OK),
        ("start_patrol", Outcome.REFUSED),
    ]


async def test_ends_at_in_local_time(hass: HomeAssistant, park: SmartParkConfigEntry) -> None:
    """A naive ``ends_at`` is HA's local time."""
    local_end = (dt_util.now() + timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
    response = await start(hass, duration=None, ends_at=local_end.isoformat())
    expected = dt_util.as_utc(local_end.replace(tzinfo=dt_util.get_default_time_zone()))
    assert dt_util.parse_datetime(response["ends_at"]) == expected


async def test_reload_mid_round_resumes_the_stored_deadline(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    """HA drops an automation's pending delays on a restart; the round's deadline comes from the Store."""
    ended = async_capture_events(hass, EVENT_PATROL_ENDED)
    started = await start(hass, hass_admin_user)
    await scan(hass, EAST, hass_admin_user)
    assert await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()
    await scan(hass, NORTH, hass_admin_user)  # while the park is unloaded: nobody listens
    await fire_at(hass, started, timedelta(minutes=30))
    assert await hass.config_entries.async_setup(park.entry_id)
    await hass.async_block_till_done()
    assert park.state is ConfigEntryState.LOADED
    state = entity_state(hass, "sensor", SENSOR)
    assert (state.state, state.attributes["scanned"], state.attributes["round_id"]) == (
        "on_patrol",
        1,
        started["id"],
    )
    await scan(hass, WELL, hass_admin_user)
    await fire_at(hass, started, timedelta(minutes=119))
    assert not ended
    await fire_at(hass, started, timedelta(minutes=120, seconds=1))
    assert len(ended) == 1
    assert ended[0].data["id"] == started["id"]
    assert ended[0].data["missed_names"] == [NORTH]
    assert ended[0].data["ended_at"] == started["ends_at"]


def stored_round(entry_id: str, started: datetime, ends: datetime) -> dict[str, Any]:
    """The patrols Store of a previous run that stopped mid-round (round 7, the east gate scanned)."""
    return {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry_id}.patrols",
        "data": {
            "seq": 7,
            "rounds": [
                {
                    "id": f"{PARK_ID}-p7",
                    "route": "Night round A",
                    "checkpoints": [
                        {"tag_id": EAST, "name": "East gate"},
                        {"tag_id": NORTH, "name": "North"},
                    ],
                    "started_at": started.isoformat(),
                    "ends_at": ends.isoformat(),
                    "scans": [{"tag_id": EAST, "at": started.isoformat(), "user_id": None}],
                }
            ],
        },
    }


async def test_round_seeded_in_storage_resumes(
    hass: HomeAssistant, park_factory: ParkFactory, hass_storage: dict[str, Any], hass_admin_user: MockUser
) -> None:
    """A round stored by a previous run (HA restarted mid-round) is followed from the first set-up."""
    entry, _sim = await park_factory(park_document(), setup=False)
    now = dt_util.utcnow()
    hass_storage[f"{DOMAIN}.{entry.entry_id}.patrols"] = stored_round(
        entry.entry_id, now - timedelta(hours=1), now + timedelta(minutes=5)
    )
    ended = async_capture_events(hass, EVENT_PATROL_ENDED)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entity_state(hass, "sensor", SENSOR).state == "on_patrol"
    async_fire_time_changed(hass, now + timedelta(minutes=5, seconds=1))
    await hass.async_block_till_done()
    assert [e.data["missed_names"] for e in ended] == [["North"]]
    # The next round continues the stored numbering.
    response = await start(hass, hass_admin_user)
    assert response["id"] == f"{PARK_ID}-p8"


async def test_deadline_passed_while_down_closes_at_set_up(
    hass: HomeAssistant, park_factory: ParkFactory, hass_storage: dict[str, Any]
) -> None:
    """HA down past the deadline: the round closes as the park comes back, at its deadline, with its scans."""
    entry, _sim = await park_factory(park_document(), setup=False)
    now = dt_util.utcnow()
    ends = now - timedelta(minutes=30)
    hass_storage[f"{DOMAIN}.{entry.entry_id}.patrols"] = stored_round(
        entry.entry_id, now - timedelta(hours=3), ends
    )
    ended = async_capture_events(hass, EVENT_PATROL_ENDED)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert len(ended) == 1
    assert dt_util.parse_datetime(ended[0].data["ended_at"]) == ends
    assert ended[0].data["end_reason"] == "deadline"
    assert ended[0].data["missed_names"] == ["North"]
    assert entity_state(hass, "sensor", SENSOR).state == "missed"
    assert [a for a, *_ in patrol_audit(entry)] == ["end_patrol"]
