"""The night-patrol and fire-inspection blueprints as automations in HA, on HA's clock.

HA's clock is moved with ``async_fire_time_changed`` (HA's timers and time triggers see the moved time, the
blueprints read it from ``trigger.now``); the wall clock is not frozen, so the park can be reloaded in the
middle of a round as HA restarting would. Volunteers are HA users on the roster without phones: each notice
comes back unreachable, which names whom it was for (the volunteers' own tests cover delivery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components.tag import async_scan_tag
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smart_park.audit import Category, Source
from custom_components.smart_park.coordinator import SmartParkConfigEntry, SmartParkCoordinator
from simulator.server import ParkSimulator

from .blueprint_helpers import (  # blueprint_env: autouse
    PARK_ID,
    async_use_blueprint,
    audit,
    automation_errors,
    blueprint_env,  # noqa: F401
    notifications,
    pushed,
    start_park,
    volunteer,
)
from .conftest import ParkFactory
from .helpers import eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

EAST, NORTH, WELL = "04-a1-b2-c3", "04-d4-e5-f6", "04-77-88-99"


@pytest.fixture
async def park(park_factory: ParkFactory) -> AsyncIterator[tuple[SmartParkConfigEntry, ParkSimulator]]:
    """The blueprint park (buildings b1, b2), poll loops off: moving HA's clock runs every timer due."""
    with patch.object(SmartParkCoordinator, "async_start"):
        yield await start_park(park_factory)


def notices(entry: SmartParkConfigEntry) -> list[tuple[str, list[str]]]:
    """The automations' notify_volunteers calls: title and whom each was for."""
    return [
        (e.data["title"], sorted(e.data["sent"] + e.data["unreachable"]))
        for e in audit(entry, Category.VOLUNTEER, "volunteers_notified")
        if e.source is Source.AUTOMATION
    ]


def local(day: date, at: time) -> datetime:
    """A local time of HA's time zone."""
    return datetime.combine(day, at, tzinfo=dt_util.get_default_time_zone())


async def clock(hass: HomeAssistant, when: datetime) -> None:
    """HA's clock at ``when``: the timers and time triggers due by then run."""
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


async def test_night_patrol_opens_the_round_and_alerts_the_captain_of_missed_checkpoints(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    entry, _sim = park
    assert await async_setup_component(hass, "tag", {})
    # The fire well's tag is known to HA (scanned once before) and named there.
    await async_scan_tag(hass, WELL, None)
    registry = er.async_get(hass)
    well_entity = registry.async_get_entity_id("tag", "tag", WELL)
    assert well_entity is not None
    registry.async_update_entity(well_entity, name="Fire well")
    captain = await volunteer(hass, "王队长", role="captain")
    await volunteer(hass, "李队长", role="captain")
    patroller = (await hass.auth.async_create_user("巡查员")).id
    await async_use_blueprint(
        hass,
        "night_patrol",
        {
            "route": "Night round A",
            "start_time": "22:00:00",
            "checkpoint_tags": [well_entity],
            "checkpoint_ids": [EAST, f" {NORTH} ", WELL],
            "captain": captain,
            "notify_action": "notify.persistent_notification",
            "language": "en",
        },
    )
    sensor = f"{PARK_ID}_patrol"
    assert entity_state(hass, "sensor", sensor).state == "idle"

    now = dt_util.now()
    start = local(now.date(), time(22))
    await clock(hass, start if start > now else start + timedelta(days=1))
    state = entity_state(hass, "sensor", sensor)
    assert state.state == "on_patrol"
    assert (state.attributes["route"], state.attributes["checkpoints"]) == ("Night round A", 3)
    [started] = audit(entry, Category.PATROL, "start_patrol")
    assert started.source is Source.AUTOMATION
    assert started.data["checkpoints"] == ["Fire well", EAST, NORTH]
    patrol = entry.runtime_data.patrols.current
    assert patrol is not None
    assert abs(patrol.ends_at - patrol.started_at - timedelta(hours=2)) < timedelta(seconds=1)

    await async_scan_tag(hass, EAST, "phone-1", context=Context(user_id=patroller))
    await hass.async_block_till_done()
    # HA restarts mid-round: the park keeps the round and its deadline, the automation waits for nothing.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entity_state(hass, "sensor", sensor).state == "on_patrol"
    await async_scan_tag(hass, WELL, "phone-1", context=Context(user_id=patroller))
    await hass.async_block_till_done()
    await clock(hass, patrol.ends_at + timedelta(seconds=1))

    assert entity_state(hass, "sensor", sensor).state == "missed"
    title = "🔦 Patrol checkpoints missed: Night round A"
    assert notices(entry) == [(title, [captain])]  # the round's captain, not every captain
    message = f"Night round A ended with 1 of 3 checkpoints not scanned: {NORTH}."
    assert [n["message"] for n in pushed(hass)] == [message]
    assert notifications(hass)[f"smart_park_patrol_{patrol.id}"]["title"] == title
    assert automation_errors(caplog) == []


async def test_a_complete_round_alerts_nobody(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    entry, _sim = park
    assert await async_setup_component(hass, "tag", {})
    await volunteer(hass, "王队长", role="captain")
    await async_use_blueprint(hass, "night_patrol", {"start_time": "22:00:00", "checkpoint_ids": [EAST]})
    now = dt_util.now()
    start = local(now.date(), time(22))
    await clock(hass, start if start > now else start + timedelta(days=1))
    await async_scan_tag(hass, EAST, "reader-1")
    await hass.async_block_till_done()
    assert entity_state(hass, "sensor", f"{PARK_ID}_patrol").state == "completed"
    assert notices(entry) == []
    assert pushed(hass) == []
    assert automation_errors(caplog) == []


def inspection_day() -> date:
    """A day two or more days ahead whose day of the month a blueprint can take (1 to 28)."""
    day = dt_util.now().date() + timedelta(days=2)
    while day.day > 28:
        day += timedelta(days=1)
    return day


async def items(hass: HomeAssistant, building: str) -> list[dict[str, Any]]:
    """A building's fire-inspection items, through todo.get_items."""
    entity_id = eid(hass, "todo", f"{PARK_ID}_building.{building}_fire_inspection")
    response = await hass.services.async_call(
        "todo", "get_items", {}, target={"entity_id": entity_id}, blocking=True, return_response=True
    )
    found: list[dict[str, Any]] = response[entity_id]["items"]  # type: ignore[index]
    return found


async def test_fire_inspection_month_items_reminders_and_overdue(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    entry, _sim = park
    leader_1 = await volunteer(hass, "一号楼长", role="building_leader", building="b1")
    leader_2 = await volunteer(hass, "二号楼长", role="building_leader", building="b2")
    captain = await volunteer(hass, "王队长", role="captain")
    day = inspection_day()
    await async_use_blueprint(
        hass,
        "fire_inspection",
        {
            "day": day.day,
            "time": "09:00:00",
            "due_days": 7,
            "cross_inspection": True,
            "reminder_days": 2,
            "notify_action": "notify.persistent_notification",
            "language": "en",
        },
    )
    await clock(hass, local(day - timedelta(days=1), time(9)))
    assert await items(hass, "b1") == []  # not the day

    await clock(hass, local(day, time(9)))
    month, due = day.strftime("%Y-%m"), (day + timedelta(days=7)).isoformat()
    assert [(i["summary"], i["due"]) for i in await items(hass, "b1")] == [
        (f"Monthly fire self-inspection {month}", due),
        (f"Cross-inspection of 2号楼 {month}", due),
    ]
    assert [i["summary"] for i in await items(hass, "b2")] == [
        f"Monthly fire self-inspection {month}",
        f"Cross-inspection of 1号楼 {month}",
    ]
    assert notices(entry) == []

    for offset in range(1, 6):  # the leaders are reminded two days before the due date, once
        await clock(hass, local(day + timedelta(days=offset), time(9)))
    assert notices(entry) == [
        ("🧯 Fire inspection reminder: 1号楼", [leader_1]),
        ("🧯 Fire inspection reminder: 2号楼", [leader_2]),
    ]
    assert pushed(hass)[0]["message"] == (
        f"1号楼: Monthly fire self-inspection {month}, Cross-inspection of 2号楼 {month}, due {due}. "
        "Tick it off on the list when done."
    )

    # Building 1 is done in time, building 2 is not.
    for item in await items(hass, "b1"):
        await hass.services.async_call(
            "todo",
            "update_item",
            {"item": item["uid"], "status": "completed"},
            target={"entity_id": eid(hass, "todo", f"{PARK_ID}_building.b1_fire_inspection")},
            blocking=True,
            context=Context(user_id=leader_1),
        )
    for offset in (6, 7):
        await clock(hass, local(day + timedelta(days=offset), time(9)))
    await clock(hass, local(day + timedelta(days=8), time(0, 1)))
    overdue = notices(entry)[2:]
    assert (
        overdue
        == [
            ("🧯 Fire inspection overdue: 2号楼", [leader_2]),
            ("🧯 Fire inspection overdue: 2号楼", [captain]),
        ]
        * 2
    )
    shown = [n for key, n in notifications(hass).items() if key.startswith("smart_park_inspection_")]
    assert sorted(n["message"] for n in shown) == sorted(
        f'2号楼: "{summary}" was due {due} and is not done.'
        for summary in (f"Monthly fire self-inspection {month}", f"Cross-inspection of 1号楼 {month}")
    )
    completed = audit(entry, Category.INSPECTION, "inspection_completed")
    assert [e.user_id for e in completed] == [leader_1, leader_1]
    assert automation_errors(caplog) == []
