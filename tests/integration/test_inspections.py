"""Fire-inspection to-do lists: HA's own ``todo.*`` actions and websocket commands on a building's list.

Items are added, ticked off, re-opened, moved and removed the way HA's to-do panel does it; who ticked an item
off comes from the action's user and lands in the audit log. Overdue items fire
``smart_park_inspection_overdue`` once per item and due date, also across a reload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_park.audit import Category
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.inspections import EVENT_INSPECTION_OVERDUE

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import eid, find_device

pytestmark = pytest.mark.usefixtures("socket_enabled")

UNIQUE_ID = f"{PARK_ID}_building.b1_fire_inspection"


@pytest.fixture
async def park(park_factory: ParkFactory) -> SmartParkConfigEntry:
    entry, _sim = await park_factory(park_document())
    return entry


@pytest.fixture
async def leader(hass: HomeAssistant) -> User:
    """A building leader: an ordinary (non-admin) HA user."""
    return await hass.auth.async_create_user("Leader", group_ids=[GROUP_ID_USER])


async def todo(hass: HomeAssistant, action: str, user: User | MockUser | None = None, **data: Any) -> Any:
    """Call a ``todo.*`` action on building b1's list."""
    response = await hass.services.async_call(
        "todo",
        action,
        data,
        target={"entity_id": eid(hass, "todo", UNIQUE_ID)},
        blocking=True,
        return_response=action == "get_items",
        context=Context(user_id=user.id if user else None),
    )
    await hass.async_block_till_done()
    return response


async def ws_items(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> list[dict[str, Any]]:
    """The list's items through the frontend's ``todo/item/list`` command."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "todo/item/list", "entity_id": eid(hass, "todo", UNIQUE_ID)})
    reply = await client.receive_json()
    assert reply["success"], reply
    items: list[dict[str, Any]] = reply["result"]["items"]
    return items


def audit(entry: SmartParkConfigEntry) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.user_id, e.data.get("summary"))
        for e in entry.runtime_data.audit.entries()
        if e.category is Category.INSPECTION
    ]


async def test_list_per_building_on_its_device(
    hass: HomeAssistant, park: SmartParkConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    entity = er.async_get(hass).async_get(eid(hass, "todo", UNIQUE_ID))
    assert entity is not None
    device = find_device(device_registry, (DOMAIN, f"{PARK_ID}_building.b1"))
    assert device is not None
    assert entity.device_id == device.id
    state = hass.states.get(entity.entity_id)
    assert state is not None
    assert state.state == "0"
    assert state.attributes["friendly_name"] == "1号楼 Fire inspection"
    assert (state.attributes["building_id"], state.attributes["building_name"]) == ("b1", "1号楼")


async def test_items_added_ticked_off_moved_and_removed(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    hass_admin_user: MockUser,
    leader: User,
    hass_ws_client: WebSocketGenerator,
) -> None:
    due = (dt_util.now() + timedelta(days=7)).date()
    await todo(
        hass,
        "add_item",
        hass_admin_user,
        item="Monthly fire self-inspection 2026-05",
        due_date=due.isoformat(),
        description="Extinguishers, hydrants, exits",
    )
    await todo(hass, "add_item", hass_admin_user, item="Cross-inspection of 2号楼 2026-05")
    items = await ws_items(hass, hass_ws_client)
    assert [(i["summary"], i["status"], i.get("due")) for i in items] == [
        ("Monthly fire self-inspection 2026-05", "needs_action", due.isoformat()),
        ("Cross-inspection of 2号楼 2026-05", "needs_action", None),
    ]
    assert items[0]["description"] == "Extinguishers, hydrants, exits"
    assert hass.states.get(eid(hass, "todo", UNIQUE_ID)).state == "2"  # type: ignore[union-attr]

    # The leader ticks the monthly item off: who and when are kept.
    await todo(hass, "update_item", leader, item="Monthly fire self-inspection 2026-05", status="completed")
    stored = park.runtime_data.inspections.items("b1")[0]
    assert stored.completed_by == leader.id
    assert stored.completed_at is not None
    items = await ws_items(hass, hass_ws_client)
    assert items[0]["status"] == "completed"
    assert "completed" in items[0]
    assert hass.states.get(eid(hass, "todo", UNIQUE_ID)).state == "1"  # type: ignore[union-attr]
    # A rename keeps the completion; re-opening clears it.
    await todo(
        hass,
        "update_item",
        hass_admin_user,
        item="Monthly fire self-inspection 2026-05",
        rename="Self-check May",
    )
    assert park.runtime_data.inspections.items("b1")[0].completed_by == leader.id
    await todo(hass, "update_item", hass_admin_user, item="Self-check May", status="needs_action")
    assert park.runtime_data.inspections.items("b1")[0].completed_by is None

    # Moved first, as the panel's drag and drop does.
    second = items[1]["uid"]
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "todo/item/move", "entity_id": eid(hass, "todo", UNIQUE_ID), "uid": second}
    )
    assert (await client.receive_json())["success"]
    assert (await ws_items(hass, hass_ws_client))[0]["uid"] == second
    await client.send_json_auto_id(
        {"type": "todo/item/move", "entity_id": eid(hass, "todo", UNIQUE_ID), "uid": "nope"}
    )
    reply = await client.receive_json()
    assert not reply["success"]

    await todo(hass, "remove_item", hass_admin_user, item=["Self-check May"])
    response = await todo(hass, "get_items")
    assert [i["summary"] for i in response[eid(hass, "todo", UNIQUE_ID)]["items"]] == [
        "Cross-inspection of 2号楼 2026-05"
    ]
    assert audit(park) == [
        ("inspection_added", hass_admin_user.id, "Monthly fire self-inspection 2026-05"),
        ("inspection_added", hass_admin_user.id, "Cross-inspection of 2号楼 2026-05"),
        ("inspection_completed", leader.id, "Monthly fire self-inspection 2026-05"),
        ("inspection_reopened", hass_admin_user.id, "Self-check May"),
        ("inspection_deleted", hass_admin_user.id, "Self-check May"),
    ]

    # Kept across a reload.
    assert await hass.config_entries.async_reload(park.entry_id)
    await hass.async_block_till_done()
    assert [i["summary"] for i in await ws_items(hass, hass_ws_client)] == [
        "Cross-inspection of 2号楼 2026-05"
    ]


async def test_overdue_fires_once_per_item_and_due(
    hass: HomeAssistant, park: SmartParkConfigEntry, hass_admin_user: MockUser
) -> None:
    overdue = async_capture_events(hass, EVENT_INSPECTION_OVERDUE)
    # The items' due day: the day two hours from now, so "due in an hour" below never falls after the day's
    # end (from 23:00 local the test saw the day end first).
    today = (dt_util.now() + timedelta(hours=2)).date()
    await todo(hass, "add_item", hass_admin_user, item="Self-inspection", due_date=today.isoformat())
    await todo(hass, "add_item", hass_admin_user, item="Done in time", due_date=today.isoformat())
    await todo(hass, "update_item", hass_admin_user, item="Done in time", status="completed")
    due_at = dt_util.now() + timedelta(hours=1)
    await todo(hass, "add_item", hass_admin_user, item="Hydrant check", due_datetime=due_at.isoformat())
    # The due day is not over, nor the due time reached.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1))
    await hass.async_block_till_done()
    assert overdue == []

    async_fire_time_changed(hass, dt_util.as_utc(due_at) + timedelta(minutes=1))
    await hass.async_block_till_done()
    assert [e.data["summary"] for e in overdue] == ["Hydrant check"]
    midnight = dt_util.start_of_local_day(today + timedelta(days=1))
    async_fire_time_changed(hass, dt_util.as_utc(midnight) + timedelta(minutes=1))
    await hass.async_block_till_done()
    assert [e.data["summary"] for e in overdue] == ["Hydrant check", "Self-inspection"]
    event = overdue[1].data
    assert (event["building"], event["building_name"], event["due"]) == ("b1", "1号楼", today.isoformat())
    assert event["entity_id"] == eid(hass, "todo", UNIQUE_ID)
    assert event["config_entry_id"] == park.entry_id

    # Once: later checks, and a reload (its at-start check), fire nothing new.
    async_fire_time_changed(hass, dt_util.as_utc(midnight) + timedelta(minutes=5))
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(park.entry_id)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.as_utc(midnight) + timedelta(minutes=10))
    await hass.async_block_till_done()
    assert len(overdue) == 2
    assert [a for a, _u, s in audit(park) if a == "inspection_overdue"] == ["inspection_overdue"] * 2

    # A new due date is announced again when it passes; a done item never.
    later = today + timedelta(days=3)
    await todo(hass, "update_item", hass_admin_user, item="Self-inspection", due_date=later.isoformat())
    async_fire_time_changed(hass, dt_util.as_utc(dt_util.start_of_local_day(later + timedelta(days=1))))
    await hass.async_block_till_done()
    assert [(e.data["summary"], e.data["due"]) for e in overdue[2:]] == [
        ("Self-inspection", later.isoformat())
    ]


async def test_item_fallen_due_while_down_is_announced_at_set_up(
    hass: HomeAssistant, park_factory: ParkFactory, hass_storage: dict[str, Any]
) -> None:
    """Stored by a previous run, due yesterday, not done: announced once the park is back, and only once."""
    entry, _sim = await park_factory(park_document(), setup=False)
    yesterday = (dt_util.now() - timedelta(days=1)).date().isoformat()
    key = f"{DOMAIN}.{entry.entry_id}.inspections"
    item = {"uid": "u1", "summary": "Self-inspection", "status": "needs_action", "due": yesterday}
    announced = {**item, "uid": "u2", "summary": "Announced before", "overdue_fired_for": yesterday}
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"lists": {"b1": [item, announced]}},
    }
    overdue = async_capture_events(hass, EVENT_INSPECTION_OVERDUE)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert [e.data["uid"] for e in overdue] == ["u1"]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert len(overdue) == 1
