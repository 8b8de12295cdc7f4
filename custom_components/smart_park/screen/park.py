"""One park on the duty-room screen: followed while someone watches, sent as a snapshot then coalesced deltas.

:class:`ParkScreen` hooks into the park's polls (:mod:`..hooks`) and listens to its incidents, linkage,
enterprise registry and roll-calls; each of these only marks what it touched. A flush, at most one per
:data:`COALESCE` seconds (the first change after a quiet spell goes out on the next loop turn, so an alarm
is not held back), recomputes only that (:class:`.state.ParkState`) and sends one delta with what differs
from what was sent. Started for the first subscriber of the park and stopped after the last one leaves or
when the park unloads, so a park nobody watches pays nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.json import json_bytes
from homeassistant.util import dt as dt_util

from ..engine.catalogue import Tier
from ..engine.modbus import DeviceReading
from ..hooks import async_subscribe_polls
from ..listeners import Listeners
from . import items
from .model import State, build_layout
from .snapshot import build_figures, build_park, special_places
from .state import Changes, GroupMark, ParkState

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry, SmartParkData
    from ..incidents import Incident
    from ..volunteers import RollCall
    from .sync import SyncLinks

COALESCE: Final = 0.25
# Figures that move with the clock (volunteers on shift, a late sync link, alarms of a new day).
TICK: Final = timedelta(seconds=30)
# Closed incidents stay on the screen for a day.
RECENT: Final = timedelta(hours=24)


class Payload:
    """An event for every subscriber of a park, serialised once whatever their number."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @cached_property
    def json(self) -> bytes:
        """The event as JSON."""
        return json_bytes(self.data)


class ParkScreen:
    """The screen's view of one loaded park."""

    def __init__(self, hass: HomeAssistant, entry: SmartParkConfigEntry, sync: SyncLinks) -> None:
        self.hass = hass
        self.entry = entry
        self.runtime: SmartParkData = entry.runtime_data
        self.sync = sync
        self.layout = build_layout(self.runtime.profile, items.enterprise_places(self.runtime))
        self.state = ParkState(self.layout)
        self.incident_items: dict[str, dict[str, Any]] = {}
        self.enterprise_rows: dict[str, dict[str, Any]] = {}
        self.linkage: list[dict[str, Any]] = []
        self.special: list[dict[str, Any]] = []
        self.figures: dict[str, Any] = {}
        self.listeners: Listeners[[Payload]] = Listeners()
        self.started = asyncio.Event()
        self._group_keys: set[str] = set()
        self._pending_incidents: set[str] = set()
        self._pending_enterprises: set[str] = set()
        self._moved_buildings: set[str] = set()
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._handle: asyncio.TimerHandle | None = None
        self._flushing = False
        self._last_sent = 0.0
        self._stopped = False

    @property
    def park_id(self) -> str:
        """The park's id (profile)."""
        return self.runtime.profile.id

    # --- life cycle -----------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Take the park as it is now, then follow every change."""
        runtime = self.runtime
        since = dt_util.utcnow() - RECENT
        for incident in runtime.incidents.incidents():
            if incident.is_open or incident.updated_at >= since:
                self.incident_items[incident.id] = await items.async_incident_item(
                    self.hass, self.entry.entry_id, runtime, incident
                )
            self.state.set_incident(incident.id, items.incident_mark(runtime, incident))
        self._unsubscribe = [
            await async_subscribe_polls(runtime.coordinators, lambda _key: True, self._async_on_readings),
            runtime.incidents.async_subscribe(self._on_incident),
            runtime.linkage.async_add_listener(self._schedule),
            runtime.enterprises.async_add_listener(self._on_enterprises),
            runtime.volunteers.rollcalls.listeners.add(self._on_rollcall),
            runtime.volunteers.roster.listeners.add(self._schedule),
            self.sync.listeners.add(self._on_heartbeat),
            async_track_time_interval(self.hass, self._on_tick, TICK),
        ]
        # The replay took each coordinator's last good poll; a failed one's devices are unreachable now.
        for coordinator in runtime.coordinators.values():
            if not coordinator.last_update_success:
                for device_id in coordinator.poller.plan(coordinator.tier):
                    self.state.take_reading(device_id, coordinator.tier, False, {})
        self._refresh_linkage()
        self.state.flush()
        self.enterprise_rows = {
            eid: {**items.enterprise_row(runtime, eid), "state": self.state.enterprise_states[eid].value}
            for eid in runtime.enterprises.records
        }
        self.figures = build_figures(self)
        self.special = special_places(self)
        self.started.set()

    @callback
    def async_stop(self) -> None:
        """Stop following the park (last subscriber gone, or the park unloads)."""
        self._stopped = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def snapshot(self) -> dict[str, Any]:
        """The park as the screen's first event has it (from what was last sent)."""
        return build_park(self)

    # --- inputs: each only marks what it touched ----------------------------------------------------------

    async def _async_on_readings(self, _gateway: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        take = self.state.take_reading
        changed = False
        for device_id, reading in readings.items():
            changed |= take(device_id, tier, reading.available, reading.values)
        if changed:
            self._schedule()

    @callback
    def _on_incident(self, incident: Incident) -> None:
        self.state.set_incident(incident.id, items.incident_mark(self.runtime, incident))
        self._pending_incidents.add(incident.id)
        self._schedule()

    @callback
    def _on_rollcall(self, rollcall: RollCall) -> None:
        self._pending_incidents.add(rollcall.incident_id)
        self._schedule()

    @callback
    def _on_enterprises(self, changed: frozenset[str]) -> None:
        records = self.runtime.enterprises.records
        for place in items.enterprise_places(self.runtime):
            if place.id not in changed:
                continue
            old = self.layout.enterprises.get(place.id)
            if old is None or (old.building, old.floor) != (place.building, place.floor):
                before = (old.building, old.floor) if old is not None and old.building is not None else None
                self._moved_buildings.update(b for b in (before and before[0], place.building) if b)
                self.layout.place_enterprise(place)
                self.state.moved_enterprise(place.id, before)
            else:
                self.layout.place_enterprise(place)
        self._pending_enterprises |= changed & records.keys()
        self._schedule()

    @callback
    def _on_heartbeat(self, park_id: str) -> None:
        if park_id == self.park_id:
            self._schedule()

    @callback
    def _on_tick(self, now: datetime) -> None:
        # Incidents closed more than a day ago leave the screen (a new subscriber would not get them).
        for incident_id in list(self.incident_items):
            incident = self.runtime.incidents.get(incident_id)
            if incident is None or (not incident.is_open and incident.updated_at < now - RECENT):
                del self.incident_items[incident_id]
        self._schedule()

    # --- coalescing -----------------------------------------------------------------------------------

    @callback
    def _schedule(self) -> None:
        """Flush on the next loop turn, or :data:`COALESCE` after the last delta sent if that is later."""
        if self._handle is not None or self._flushing or self._stopped:
            return
        loop = self.hass.loop
        delay = max(0.0, self._last_sent + COALESCE - loop.time())
        self._handle = loop.call_later(delay, self._start_flush)

    @callback
    def _start_flush(self) -> None:
        self._handle = None
        self._flushing = True
        self.hass.async_create_background_task(self._async_flush(), f"smart_park screen {self.park_id}")

    async def _async_flush(self) -> None:
        try:
            await self._async_send_delta()
        finally:
            self._flushing = False
        if not self._stopped and (self.state.dirty or self._pending_incidents or self._pending_enterprises):
            self._schedule()

    def _refresh_linkage(self) -> None:
        """Every group's marks and list item (a few groups: cheaper than tracking what changed)."""
        keys: set[str] = set()
        for group in self.runtime.linkage.groups.values():
            for building, mark in items.group_marks(self.runtime, group).items():
                keys.add(f"{group.id}@{building}")
                self.state.set_group(f"{group.id}@{building}", mark)
        for key in self._group_keys - keys:
            self.state.set_group(key, GroupMark(key.partition("@")[2], State.NORMAL))
        self._group_keys = keys
        self.linkage = [items.linkage_item(group) for group in self.runtime.linkage.groups.values()]

    async def _async_send_delta(self) -> None:
        # Names first (the only awaits): everything after runs in one go, so a snapshot taken meanwhile
        # and this delta agree.
        incidents = await self._async_incident_changes()
        if self._stopped:
            return
        delta: dict[str, Any] = {}
        linkage = self.linkage
        self._refresh_linkage()
        if self.linkage != linkage:
            delta["linkage"] = self.linkage
        changes = self.state.flush()
        delta.update(self._map_changes(changes))
        if changes.devices:
            delta["devices"] = changes.devices
        if enterprises := self._enterprise_changes(changes.enterprises):
            delta["enterprises"] = enterprises
        if incidents:
            delta["incidents"] = incidents
        figures = build_figures(self)
        if figures != self.figures:
            self.figures = delta["figures"] = figures
        if delta:
            event = {"type": "delta", "config_entry_id": self.entry.entry_id, "park_id": self.park_id}
            self._last_sent = self.hass.loop.time()
            self.listeners.notify(Payload({**event, **delta}))

    async def _async_incident_changes(self) -> list[dict[str, Any]]:
        """The items of the incidents changed since the last flush that differ from what was sent."""
        pending, self._pending_incidents = self._pending_incidents, set()
        changed = []
        for incident_id in sorted(pending):
            if (incident := self.runtime.incidents.get(incident_id)) is not None:
                item = await items.async_incident_item(self.hass, self.entry.entry_id, self.runtime, incident)
                if item != self.incident_items.get(incident_id):
                    self.incident_items[incident_id] = item
                    changed.append(item)
        return changed

    def _map_changes(self, changes: Changes) -> dict[str, Any]:
        """Floors, buildings (whole when enterprises moved) and special places whose state changed."""
        out: dict[str, Any] = {}
        # A building's own items (floor None) reach the screen through the building's state.
        if places := [
            {"building": building, "floor": floor, "state": state.value}
            for (building, floor), state in sorted(changes.places.items(), key=str)
            if floor is not None
        ]:
            out["places"] = places
        moved, self._moved_buildings = self._moved_buildings, set()
        buildings = build_park(self, only_buildings=moved)["buildings"] if moved else []
        buildings += [
            {"id": b, "state": s.value} for b, s in sorted(changes.buildings.items()) if b not in moved
        ]
        if buildings:
            out["buildings"] = buildings
        special = special_places(self)
        if changed_special := [item for item in special if item not in self.special]:
            out["special_places"] = changed_special
        self.special = special
        return out

    def _enterprise_changes(self, states: dict[str, State]) -> dict[str, dict[str, Any]]:
        """Partial rows: the fields that changed of enterprises whose record, figures, use or state moved."""
        pending, self._pending_enterprises = self._pending_enterprises, set()
        out: dict[str, dict[str, Any]] = {}
        for enterprise_id in pending | states.keys():
            if enterprise_id not in self.runtime.enterprises.records:
                continue
            state = self.state.enterprise_states.get(enterprise_id, State.NORMAL)
            row = {**items.enterprise_row(self.runtime, enterprise_id), "state": state.value}
            old = self.enterprise_rows.get(enterprise_id, {})
            if partial := {key: value for key, value in row.items() if old.get(key, object()) != value}:
                out[enterprise_id] = partial
                self.enterprise_rows[enterprise_id] = row
        return out
