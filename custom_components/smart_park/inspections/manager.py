"""The fire-inspection lists of one park: one list per building, kept in a Store, overdue items announced.

The monthly fire self-inspection (and the cross-inspection of another building) is a to-do item on the
building's list, shown by the ``todo`` platform; the building leader ticks it off in HA's to-do panel or the
app. Adding, deleting, ticking off and re-opening an item are audited with the user who did it.

Items past their due that are not done fire ``smart_park_inspection_overdue`` once per item and due date;
which due was announced is stored with the item, so a restart does not announce it again and a new due date
is announced again when it passes. The check runs once HA has started (a restart catches up, with the
automations listening), at the next due (a timer re-armed after every change) and every few minutes (in case
the wall clock jumped, as on a board without a battery-backed clock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .. import ids
from ..audit import AuditLog, Category, ScopedAudit, Source, source_of
from ..const import DOMAIN
from ..errors import invalid
from ..listeners import Listeners
from .model import EVENT_INSPECTION_OVERDUE, InspectionItem

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry
    from ..engine.profile import ParkProfile

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 0
CHECK_INTERVAL: Final = timedelta(minutes=15)
MAX_ITEMS: Final = 500  # per building: a few a month for years


class InspectionLists:
    """The fire-inspection to-do lists of a park's buildings."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: ScopedAudit
    ) -> None:
        self.hass = hass
        self.profile = profile
        self.entry_id = entry.entry_id
        self._audit = audit
        # Lists of buildings no longer in the profile stay stored (and come back with the building).
        self._lists: dict[str, list[InspectionItem]] = {building: [] for building in profile.buildings}
        self._listeners: Listeners[[str]] = Listeners()
        # Overdue checks wait for HA to have started: the automations alerting on the event must be listening.
        self._started = False
        self._unsub_next: CALLBACK_TYPE | None = None
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.inspections", atomic_writes=True
        )

    async def async_load(self) -> None:
        """Load the stored lists (on setup)."""
        stored = await self._store.async_load()
        for building, items in (stored or {}).get("lists", {}).items():
            self._lists[building] = [InspectionItem.from_dict(item) for item in items]

    def _data_to_save(self) -> dict[str, Any]:
        return {"lists": {b: [item.as_dict() for item in items] for b, items in self._lists.items()}}

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_save(self._data_to_save())

    @callback
    def async_add_listener(self, listener: Any) -> CALLBACK_TYPE:
        """Call ``listener(building_id)`` whenever that building's list changes."""
        return self._listeners.add(listener)

    def items(self, building: str) -> list[InspectionItem]:
        """The building's items, in list order."""
        return list(self._lists.get(building, []))

    def _changed(self, building: str) -> None:
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._listeners.notify(building)
        self._arm_next_due()

    def _index(self, building: str, uid: str) -> int:
        for index, item in enumerate(self._lists[building]):
            if item.uid == uid:
                return index
        raise invalid("inspection_item_not_found", item=uid)

    def _record(self, action: str, building: str, item: InspectionItem, context: Context | None) -> None:
        self._audit(
            action,
            source_of(context) if context is not None else Source.SYSTEM,
            target=item.uid,
            context=context,
            building=building,
            summary=item.summary,
            due=item.due_key,
        )

    # --- the to-do list's operations ------------------------------------------------------------------

    @callback
    def create(self, building: str, item: InspectionItem, context: Context | None) -> InspectionItem:
        """Add an item at the end of the building's list (a new uid when it has none)."""
        items = self._lists[building]
        if len(items) >= MAX_ITEMS:
            raise invalid(
                "inspection_list_full", building=self.profile.buildings[building].name, max=MAX_ITEMS
            )
        item = replace(item, uid=item.uid or uuid.uuid4().hex)
        if item.done:
            item = replace(
                item, completed_at=dt_util.utcnow(), completed_by=context.user_id if context else None
            )
        items.append(item)
        self._changed(building)
        self._record("inspection_added", building, item, context)
        return item

    @callback
    def update(self, building: str, item: InspectionItem, context: Context | None) -> InspectionItem:
        """Replace an item; ticking it off records when and who, re-opening it clears that."""
        index = self._index(building, item.uid)
        before = self._lists[building][index]
        item = replace(item, overdue_fired_for=before.overdue_fired_for)
        if item.done and not before.done:
            item = replace(
                item, completed_at=dt_util.utcnow(), completed_by=context.user_id if context else None
            )
        elif item.done:
            item = replace(item, completed_at=before.completed_at, completed_by=before.completed_by)
        else:
            item = replace(item, completed_at=None, completed_by=None)
        self._lists[building][index] = item
        self._changed(building)
        if item.done != before.done:
            self._record(
                "inspection_completed" if item.done else "inspection_reopened", building, item, context
            )
        return item

    @callback
    def delete(self, building: str, uids: Iterable[str], context: Context | None) -> None:
        """Remove items."""
        for uid in uids:
            item = self._lists[building].pop(self._index(building, uid))
            self._record("inspection_deleted", building, item, context)
        self._changed(building)

    @callback
    def move(self, building: str, uid: str, previous_uid: str | None) -> None:
        """Move an item after ``previous_uid`` (first when None)."""
        if uid == previous_uid:
            return
        items = self._lists[building]
        item = items.pop(self._index(building, uid))
        items.insert(self._index(building, previous_uid) + 1 if previous_uid else 0, item)
        self._changed(building)

    # --- overdue items --------------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Check now (items that fell due while HA was down) and from now on."""
        self._started = True
        self.async_check_overdue()
        self._arm_next_due()

    @callback
    def async_stop(self) -> None:
        """Cancel the timer (on unload)."""
        self._started = False
        if self._unsub_next is not None:
            self._unsub_next()
            self._unsub_next = None

    def _arm_next_due(self) -> None:
        """A timer at the earliest due of the items not done and not announced yet."""
        if self._unsub_next is not None:
            self._unsub_next()
            self._unsub_next = None
        if not self._started:
            return
        zone = dt_util.get_default_time_zone()
        deadlines = [
            deadline
            for building, items in self._lists.items()
            if building in self.profile.buildings
            for item in items
            if not item.done and item.overdue_fired_for != item.due_key and (deadline := item.deadline(zone))
        ]
        if deadlines:
            self._unsub_next = async_track_point_in_utc_time(self.hass, self._async_due, min(deadlines))

    @callback
    def _async_due(self, now: datetime) -> None:
        self._unsub_next = None
        self.async_check_overdue(now)
        self._arm_next_due()

    @callback
    def async_check_overdue(self, now: datetime | None = None) -> None:
        """Fire ``smart_park_inspection_overdue`` for each item newly past its due."""
        if not self._started:
            return
        now = now or dt_util.utcnow()
        zone = dt_util.get_default_time_zone()
        registry = er.async_get(self.hass)
        for building, items in self._lists.items():
            if building not in self.profile.buildings:
                continue
            for index, item in enumerate(items):
                if not item.overdue_unannounced(now, zone):
                    continue
                items[index] = replace(item, overdue_fired_for=item.due_key)
                self._changed(building)
                self._record("inspection_overdue", building, item, None)
                unique_id = ids.inspection_list(self.profile.id, building)
                self.hass.bus.async_fire(
                    EVENT_INSPECTION_OVERDUE,
                    {
                        **item.as_dict(),
                        "park_id": self.profile.id,
                        "config_entry_id": self.entry_id,
                        "building": building,
                        "building_name": self.profile.buildings[building].name,
                        "entity_id": registry.async_get_entity_id("todo", DOMAIN, unique_id),
                    },
                )


async def async_setup_inspections(
    hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: AuditLog
) -> InspectionLists:
    """Load the lists; check for overdue items once HA has started, then at each due and periodically."""
    lists = InspectionLists(hass, entry, profile, audit.scoped(Category.INSPECTION))
    await lists.async_load()
    entry.async_on_unload(lists.async_flush)

    @callback
    def _start(_hass: HomeAssistant) -> None:
        lists.async_start()

    entry.async_on_unload(lists.async_stop)
    entry.async_on_unload(async_at_started(hass, _start))
    entry.async_on_unload(async_track_time_interval(hass, lists.async_check_overdue, CHECK_INTERVAL))
    return lists
