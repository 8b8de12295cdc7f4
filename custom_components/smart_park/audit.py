"""The audit log: every linkage transition, action, refusal, incident and broadcast, with who did it.

Kept in an HA ``Store`` per park so it survives restarts, bounded (the oldest entries are pruned past the
configured size and counted), fanned out to websocket subscribers (dashboard, park_sync) and fired as the
``smart_park_audit`` event so that logbook shows it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .journal import Journal

EVENT_AUDIT: Final = f"{DOMAIN}_audit"
STORAGE_VERSION: Final = 1
# Each entry is appended to a journal on the next loop turn (a crash loses nothing acted on); the whole log
# goes to the Store only every SNAPSHOT_EVERY entries and on unload. Serialising a full log (10,000 entries)
# holds the GIL for milliseconds even in a worker thread: per entry, that stalled the fire-bell linkage.
SNAPSHOT_EVERY: Final = 1000


class Category(StrEnum):
    """What an entry is about."""

    LINKAGE = "linkage"
    INCIDENT = "incident"
    BROADCAST = "broadcast"
    ENTERPRISE = "enterprise"
    DEVICE = "device"
    PATROL = "patrol"
    INSPECTION = "inspection"
    VOLUNTEER = "volunteer"
    CENTRE = "centre"  # the fire remote monitoring centre link (roll-calls, clock sync)


class Outcome(StrEnum):
    """Whether the recorded step happened."""

    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


class Source(StrEnum):
    """Who or what caused the step."""

    USER = "user"  # an action or UI command carrying an HA user id
    AUTOMATION = "automation"  # an action called by an automation or script (no user)
    FIELD = "field"  # seen at a field device (call point pressed, terminal cancelled)
    SYSTEM = "system"  # the integration itself (restart, re-assert, retry)


def source_of(context: Context | None) -> Source:
    """Classify a service call's context."""
    if context is None:
        return Source.SYSTEM
    return Source.USER if context.user_id else Source.AUTOMATION


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One step. ``id`` is unique per park and stable, so the central platform can deduplicate."""

    id: str
    seq: int
    at: datetime
    category: Category
    action: str
    source: Source
    outcome: Outcome = Outcome.OK
    user_id: str | None = None
    target: str | None = None
    context_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store, the websocket API and events."""
        return {
            "id": self.id,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "category": self.category.value,
            "action": self.action,
            "source": self.source.value,
            "outcome": self.outcome.value,
            "user_id": self.user_id,
            "target": self.target,
            "context_id": self.context_id,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        """Read back a stored entry."""
        return cls(
            id=data["id"],
            seq=int(data["seq"]),
            at=datetime.fromisoformat(data["at"]),
            category=Category(data["category"]),
            action=data["action"],
            source=Source(data["source"]),
            outcome=Outcome(data.get("outcome", "ok")),
            user_id=data.get("user_id"),
            target=data.get("target"),
            context_id=data.get("context_id"),
            data=dict(data.get("data") or {}),
        )


class ScopedAudit(Protocol):
    """:meth:`AuditLog.record` with its category fixed: what a capability records its steps with."""

    def __call__(
        self,
        action: str,
        source: Source,
        outcome: Outcome = Outcome.OK,
        *,
        user_id: str | None = None,
        target: str | None = None,
        context: Context | None = None,
        **data: Any,
    ) -> AuditEntry:
        """Append one entry of the scope's category."""


class AuditLog:
    """The audit log of one park."""

    def __init__(self, hass: HomeAssistant, entry_id: str, park_id: str, max_entries: int) -> None:
        self.hass = hass
        self.park_id = park_id
        self.max_entries = max_entries
        self.pruned = 0
        self._seq = 0
        self._entries: deque[AuditEntry] = deque()
        # Each entry's stored form, made once (the event carries it too); never changed after.
        self._dicts: deque[dict[str, Any]] = deque()
        key = f"{DOMAIN}.{entry_id}.audit"
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, key, atomic_writes=True, serialize_in_event_loop=False
        )
        self._journal = Journal(hass, Path(hass.config.path(".storage", f"{key}.journal")))
        self._since_snapshot = 0
        self._snapshot: asyncio.Task[None] | None = None

    async def async_load(self) -> None:
        """Load the stored entries (on setup)."""
        stored = await self._store.async_load()
        if stored:
            self._seq = int(stored.get("seq", 0))
            self.pruned = int(stored.get("pruned", 0))
            self._entries = deque(AuditEntry.from_dict(item) for item in stored.get("entries", []))
        # Entries newer than the snapshot are in the journal (all of them after a crash).
        for item in await self._journal.async_read():
            if int(item.get("seq", 0)) > self._seq:
                entry = AuditEntry.from_dict(item)
                self._entries.append(entry)
                self._seq = entry.seq
                self._since_snapshot += 1
        self._dicts = deque(entry.as_dict() for entry in self._entries)
        self._prune()

    def _data_to_save(self) -> dict[str, Any]:
        """A snapshot, taken on the event loop: the Store serialises it in a worker thread."""
        return {
            "seq": self._seq,
            "pruned": self.pruned,
            "entries": list(self._dicts),
        }

    def _prune(self) -> None:
        while len(self._entries) > self.max_entries:
            self._entries.popleft()
            self._dicts.popleft()
            self.pruned += 1

    @callback
    def record(
        self,
        category: Category,
        action: str,
        *,
        source: Source,
        outcome: Outcome = Outcome.OK,
        user_id: str | None = None,
        target: str | None = None,
        context: Context | None = None,
        **data: Any,
    ) -> AuditEntry:
        """Append one entry, save it, tell subscribers and logbook."""
        self._seq += 1
        entry = AuditEntry(
            id=f"{self.park_id}-a{self._seq}",
            seq=self._seq,
            at=dt_util.utcnow(),
            category=category,
            action=action,
            source=source,
            outcome=outcome,
            user_id=user_id if user_id is not None else (context.user_id if context else None),
            target=target,
            context_id=context.id if context else None,
            data=data,
        )
        stored = entry.as_dict()
        self._entries.append(entry)
        self._dicts.append(stored)
        self._prune()
        self._journal.append(stored)
        self._since_snapshot += 1
        if self._since_snapshot >= SNAPSHOT_EVERY and (self._snapshot is None or self._snapshot.done()):
            self._snapshot = self.hass.async_create_background_task(self._async_snapshot(), "audit snapshot")
        self.hass.bus.async_fire(EVENT_AUDIT, dict(stored), context=context)
        return entry

    async def _async_snapshot(self) -> None:
        """Save the whole log, then keep in the journal only what is newer than what was saved."""
        snapshot = self._data_to_save()
        self._since_snapshot = 0
        await self._store.async_save(snapshot)
        saved = snapshot["seq"]
        await self._journal.async_keep(lambda item: int(item.get("seq", 0)) > saved)

    def scoped(self, category: Category) -> ScopedAudit:
        """A recorder of one category, handed to a capability: it needs neither the log nor the category."""

        @callback
        def record(
            action: str,
            source: Source,
            outcome: Outcome = Outcome.OK,
            *,
            user_id: str | None = None,
            target: str | None = None,
            context: Context | None = None,
            **data: Any,
        ) -> AuditEntry:
            return self.record(
                category,
                action,
                source=source,
                outcome=outcome,
                user_id=user_id,
                target=target,
                context=context,
                **data,
            )

        return record

    def entries(self, *, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries newer than ``after_seq``, oldest first; with ``limit``, the newest ``limit`` of them."""
        found = [entry for entry in self._entries if entry.seq > after_seq]
        return found[-limit:] if limit else found

    async def async_flush(self) -> None:
        """Write everything now (on unload): the journal's pending lines, then a snapshot."""
        await self._journal.async_drain()
        if self._snapshot is not None and not self._snapshot.done():
            await self._snapshot
        await self._async_snapshot()
