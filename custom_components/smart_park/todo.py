"""To-do lists: each building's fire-inspection list (inspections/), on the building's device.

The features are those of HA's ``local_todo``: create, update, delete and move items, due dates and times,
descriptions. The list keeps who ticked an item off (the action's user), for the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.components.todo.entity import TodoItem, TodoListEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ids
from .coordinator import SmartParkConfigEntry
from .engine.profile import Building
from .entity import building_info
from .inspections import InspectionItem, InspectionLists, ItemStatus

# Lists live in memory and a Store; entities do no I/O.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a fire-inspection list for every building."""
    runtime = entry.runtime_data
    async_add_entities(
        FireInspectionList(runtime.inspections, building) for building in runtime.profile.buildings.values()
    )


def to_todo_item(item: InspectionItem) -> TodoItem:
    """An inspection item as HA shows it."""
    return TodoItem(
        uid=item.uid,
        summary=item.summary,
        status=TodoItemStatus(item.status.value),
        due=item.due,
        description=item.description,
        completed=item.completed_at,
    )


def from_todo_item(item: TodoItem) -> InspectionItem:
    """HA's item as an inspection item (a new one has no uid yet; completion is filled in by the lists)."""
    due: date | datetime | None = item.due
    return InspectionItem(
        uid=item.uid or "",
        summary=item.summary or "",
        status=ItemStatus(item.status or TodoItemStatus.NEEDS_ACTION),
        due=due,
        description=item.description,
    )


class FireInspectionList(TodoListEntity):
    """A building's fire-inspection to-do list."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "fire_inspection"
    _attr_supported_features = (
        TodoListEntityFeature.CREATE_TODO_ITEM
        | TodoListEntityFeature.DELETE_TODO_ITEM
        | TodoListEntityFeature.UPDATE_TODO_ITEM
        | TodoListEntityFeature.MOVE_TODO_ITEM
        | TodoListEntityFeature.SET_DUE_DATE_ON_ITEM
        | TodoListEntityFeature.SET_DUE_DATETIME_ON_ITEM
        | TodoListEntityFeature.SET_DESCRIPTION_ON_ITEM
    )

    def __init__(self, lists: InspectionLists, building: Building) -> None:
        """Initialise the list."""
        profile = lists.profile
        self._lists = lists
        self._building = building
        self._attr_unique_id = ids.inspection_list(profile.id, building.id)
        self._attr_device_info = building_info(profile, building)
        self._refresh()

    def _refresh(self) -> None:
        self._attr_todo_items = [to_todo_item(item) for item in self._lists.items(self._building.id)]

    async def async_added_to_hass(self) -> None:
        """Follow the building's list."""
        self.async_on_remove(self._lists.async_add_listener(self._async_changed))

    @callback
    def _async_changed(self, building: str) -> None:
        if building == self._building.id:
            self._refresh()
            self.async_write_ha_state()

    async def async_create_todo_item(self, item: TodoItem) -> None:
        """Add an item."""
        self._lists.create(self._building.id, from_todo_item(item), self._context)

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Update an item; the action's user is who ticked it off."""
        self._lists.update(self._building.id, from_todo_item(item), self._context)

    async def async_delete_todo_items(self, uids: list[str]) -> None:
        """Delete items."""
        self._lists.delete(self._building.id, uids, self._context)

    async def async_move_todo_item(self, uid: str, previous_uid: str | None = None) -> None:
        """Move an item after ``previous_uid`` (first when None)."""
        self._lists.move(self._building.id, uid, previous_uid)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The building the list is for: blueprints address its leaders by its id (notify_volunteers)."""
        return {"building_id": self._building.id, "building_name": self._building.name}
