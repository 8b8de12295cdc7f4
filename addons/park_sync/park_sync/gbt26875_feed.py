"""From HA's states and audit entries to queued GB/T 26875.3 records (what changed, in order, never twice).

States arrive one by one (``observe``, a sync callback of the HA source) and mark the units they feed as
dirty; ``run`` turns dirty units into records when their state word (or analogue value) differs from the one
last queued (``gbt26875_reported``, kept across restarts) and queues them durably. A unit never queued counts
as normal, so a first start reports only what is not. Audit entries become operation records once each: the
last audit sequence number handled is kept per park, and a first start takes nothing older than itself.
The device's own state (type 21) follows park_sync's health: the link to HA or the park lost for
``LINE_FAULT_AFTER`` seconds is a monitoring line fault; a building's fire alarm makes it FIRE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import gbt26875_map as m
from .gbt26875 import FrameError
from .gbt26875_codes import ComponentState, OperationFlag, SystemState, UITDOperation, UITDState, analog_raw
from .gbt26875_objects import (
    AnalogValue,
    ComponentStatus,
    InfoObject,
    Operation,
    SystemStatus,
    UITDOperationRecord,
    UITDStatus,
)
from .gbt26875_park import ParkModel, Reading
from .gbt26875_store import GBT26875Store, Item
from .gbt26875_units import unit
from .outbox import Outbox, Record

_LOGGER = logging.getLogger(__name__)
UITD_KEY = "21"
LINE_FAULT_AFTER = 10.0
HealthFn = Callable[[], dict[str, Any]]


def object_bytes(obj: InfoObject) -> bytes:
    """One information object as it sits in a data unit (the unit's type and count bytes dropped)."""
    return unit(obj).encode()[2:]


class Feed:
    def __init__(self, model: ParkModel, store: GBT26875Store, outbox: Outbox, health: HealthFn) -> None:
        self.model = model
        self._store = store
        self._outbox = outbox
        self._health = health
        self.reported: dict[str, tuple[float, float]] = {}
        self._dirty: set[str] = set()
        self._audit: list[dict[str, Any]] = []
        self._forced: set[str] = set()
        self._wake = asyncio.Event()
        self.queued = asyncio.Event()  # set when records were queued (the sender waits on it)
        self._line_bad_since: float | None = None
        self._audit_seq: dict[str, int] = {}
        self._seq_changed: set[str] = set()
        self._since = 0.0
        self.records = 0
        self.operations = 0
        self.skipped: int = 0

    async def open(self) -> None:
        self.reported = await self._store.open()
        since = await self._outbox.meta_get("gbt26875_since")
        if since is None:
            since = str(time.time())
            await self._outbox.meta_set("gbt26875_since", since)
        self._since = float(since)

    # --- inputs (sync: called from the HA source's reader) -------------------------------------------------
    def observe(self, state: dict[str, Any]) -> None:
        keys = self.model.observe(state)
        if keys:
            self._dirty |= keys
            self._wake.set()

    def observe_records(self, records: list[Record]) -> None:
        for record in records:
            if record.kind == "incident":
                self.model.observe_incident(record.data)
            elif record.kind == "audit":
                self._audit.append(record.data)
                self._wake.set()

    def everything(self, force: bool = False) -> None:
        """Look at every unit again (new layout); ``force``: queue each as it is (the centre's initialise)."""
        keys = set(self.model.keys())
        self._dirty |= keys | {UITD_KEY}
        if force:
            self._forced |= keys | {UITD_KEY}
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------------------------
    async def run(self, check_every: float = 2.0) -> None:
        next_refresh = time.monotonic() + 60
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), check_every)
            self._wake.clear()
            self._dirty.add(UITD_KEY)
            if time.monotonic() >= next_refresh:
                self._dirty |= set(self.model.analogues)  # unchanged values are sent again now and then
                next_refresh = time.monotonic() + 60
            await self.flush()

    async def flush(self) -> None:
        """Queue what changed since the last call."""
        dirty, self._dirty = self._dirty, set()
        forced, self._forced = self._forced, set()
        audit, self._audit = self._audit, []
        if self.model.park_id is None:  # which park's entries are ours is known with the layout
            self._audit, audit = audit + self._audit, []
        items: list[Item] = []
        for key in sorted(dirty):
            try:
                item = self._item(key, key in forced)
            except FrameError as err:  # a value the standard cannot carry (e.g. out of int16): log, skip
                self.skipped += 1
                _LOGGER.warning("GB/T 26875.3 unit %s not sent: %s", key, err)
                continue
            if item is not None:
                items.append(item)
        for entry in audit:
            if (item := await self._operation(entry)) is not None:
                items.append(item)
        if items:
            await self._store.put(items)
            now = time.time()
            for it in items:
                if it.value is not None:
                    self.reported[it.key] = (it.value, now)
            self.records += len(items)
            self.queued.set()
        for park_id in self._seq_changed:
            await self._outbox.meta_set(f"gbt26875_audit_seq:{park_id}", str(self._audit_seq[park_id]))
        self._seq_changed.clear()

    def _item(self, key: str, forced: bool) -> Item | None:
        if key == UITD_KEY:
            return self._uitd(forced)
        reading = self.model.reading(key)
        if reading is None:
            return None
        old = self.reported.get(key)
        if key in self.model.analogues:
            return self._analogue(key, reading, old, forced)
        baseline = float(SystemState.NORMAL if key.startswith("1/") else ComponentState.NORMAL)
        if not forced and float(reading.value) == (old[0] if old else baseline):
            return None
        if key in self.model.components:
            c = self.model.components[key]
            obj: InfoObject = ComponentStatus(
                c.system_type,
                c.system_address,
                c.component_type,
                c.component_address,
                ComponentState(int(reading.value)),
                c.description,
                reading.time,
            )
            fire = bool(int(reading.value) & ComponentState.FIRE)
        else:
            s = self.model.systems[key]
            obj = SystemStatus(s.system_type, s.address, SystemState(int(reading.value)), reading.time)
            fire = bool(int(reading.value) & SystemState.FIRE)
        priority = m.PRIORITY_FIRE if fire else m.PRIORITY_STATE
        return Item(priority, 1 if key.startswith("1/") else 2, key, object_bytes(obj), float(reading.value))

    def _analogue(
        self, key: str, reading: Reading, old: tuple[float, float] | None, forced: bool
    ) -> Item | None:
        a = self.model.analogues[key]
        value = float(reading.value)
        if old is not None and not forced:
            moved = abs(value - old[0]) >= a.deadband - 1e-9
            if not moved and time.time() - old[1] < m.ANALOGUE_REFRESH:
                return None
        c = a.component
        raw = analog_raw(a.analog_type, value)
        obj = AnalogValue(
            c.system_type,
            c.system_address,
            c.component_type,
            c.component_address,
            a.analog_type,
            raw,
            reading.time,
        )
        return Item(m.PRIORITY_ANALOGUE, 3, key, object_bytes(obj), value)

    def uitd_state(self) -> UITDState:
        health = self._health()
        line_bad = (
            not health.get("ha_connected") or health.get("state") == "dark" or self.model.park_id is None
        )
        now = time.monotonic()
        if not line_bad:
            self._line_bad_since = None
        elif self._line_bad_since is None:
            self._line_bad_since = now
        state = UITDState.NORMAL
        if self._line_bad_since is not None and now - self._line_bad_since >= LINE_FAULT_AFTER:
            state |= UITDState.LINE_FAULT
        if self.model.any_fire():
            state |= UITDState.FIRE
        return state

    def _uitd(self, forced: bool) -> Item | None:
        state = self.uitd_state()
        old = self.reported.get(UITD_KEY)
        if not forced and float(state) == (old[0] if old else float(UITDState.NORMAL)):
            return None
        obj = UITDStatus(state, self.now())
        priority = m.PRIORITY_FIRE if state & UITDState.FIRE else m.PRIORITY_STATE
        return Item(priority, 21, UITD_KEY, object_bytes(obj), float(state))

    def now(self) -> datetime:
        return datetime.now(self.model.tz).replace(tzinfo=None)

    async def _operation(self, entry: dict[str, Any]) -> Item | None:
        entry_id = str(entry.get("id", ""))
        park_id, sep, _ = entry_id.rpartition("-a")
        if not sep or park_id != self.model.park_id:
            return None
        seq = int(entry.get("seq") or 0)
        if park_id not in self._audit_seq:
            stored = await self._outbox.meta_get(f"gbt26875_audit_seq:{park_id}")
            self._audit_seq[park_id] = int(stored) if stored else 0
        if seq <= self._audit_seq[park_id]:
            return None
        if not self._audit_seq[park_id] and self._older_than_first_start(entry):
            return None
        self._audit_seq[park_id] = seq
        self._seq_changed.add(park_id)
        found = self.model.operation(entry)
        if found is None:
            return None
        type_flag, flag, address, when = found
        operator = await self._store.operator(entry.get("user_id"))
        obj: InfoObject
        if type_flag == 24:
            obj = UITDOperationRecord(UITDOperation(flag), operator, when)
        else:
            obj = Operation(1, address, OperationFlag(flag), operator, when)
        self.operations += 1
        return Item(m.PRIORITY_STATE, type_flag, f"{type_flag}/{entry_id}", object_bytes(obj))

    def _older_than_first_start(self, entry: dict[str, Any]) -> bool:
        try:
            at = datetime.fromisoformat(str(entry.get("at"))).timestamp()
        except ValueError:
            return True
        return at < self._since
