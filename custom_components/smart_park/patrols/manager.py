"""The night patrols of one park: rounds started, NFC checkpoint scans recorded, rounds closed at the end.

One :class:`PatrolManager` per park keeps its rounds in an HA ``Store``. While a round is open it listens to
HA's ``tag_scanned`` event (the ``tag`` integration fires it for a phone's NFC scan, with the scanning user in
the event's context) and records the first scan of each checkpoint; tags not on the route are ignored. The
round closes when every checkpoint is scanned, at its deadline, or early by ``smart_park.end_patrol``, and
fires ``smart_park_patrol_ended`` with what was missed. The deadline is a timer re-armed from the stored
round after a restart (HA drops an automation's pending delays), and a deadline passed while HA was down
closes the round once HA has started, so automations triggered by the event are listening. Every step is
audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.tag.const import DEVICE_ID, EVENT_TAG_SCANNED, TAG_ID
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Outcome, ScopedAudit, Source, source_of
from ..const import DOMAIN
from ..errors import invalid
from ..listeners import Listeners
from .model import (
    EVENT_PATROL_ENDED,
    EVENT_PATROL_SCANNED,
    EVENT_PATROL_STARTED,
    Checkpoint,
    EndReason,
    PatrolRound,
    Scan,
)

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry
    from ..engine.profile import ParkProfile

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 0
# Closed rounds kept (a month of nightly rounds of a few routes); the audit log keeps every step.
MAX_ROUNDS: Final = 100

SERVICE_START: Final = "start_patrol"
SERVICE_END: Final = "end_patrol"


class PatrolManager:
    """The patrol rounds of one park; at most one round is open at a time."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: ScopedAudit
    ) -> None:
        self.hass = hass
        self.profile = profile
        self.park_id = profile.id
        self.entry_id = entry.entry_id
        self._audit = audit
        self._seq = 0
        self._rounds: list[PatrolRound] = []
        self._listeners: Listeners[[]] = Listeners()
        self._unsub_scans: CALLBACK_TYPE | None = None
        self._unsub_deadline: CALLBACK_TYPE | None = None
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.patrols", atomic_writes=True
        )

    # --- persistence and lifecycle --------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the stored rounds and resume an open one (its deadline timer, or its close if it passed)."""
        stored = await self._store.async_load()
        if stored:
            self._seq = int(stored.get("seq", 0))
            self._rounds = [PatrolRound.from_dict(item) for item in stored.get("rounds", [])]
        current = self.current
        if current is None or not current.is_open:
            return
        if current.ends_at > dt_util.utcnow():
            self._follow(current)
            return

        @callback
        def _close_late(_hass: HomeAssistant) -> None:
            # Closed at its deadline: the scans HA could not see while it was down are not the patrol's fault
            # to guess at, the round simply ends with what was recorded.
            if (late := self.current) is not None and late.is_open:
                self._close(late, EndReason.DEADLINE, context=None, at=late.ends_at)

        self._unsub_deadline = async_at_started(self.hass, _close_late)

    def _data_to_save(self) -> dict[str, Any]:
        return {"seq": self._seq, "rounds": [patrol.as_dict() for patrol in self._rounds]}

    async def async_unload(self) -> None:
        """Stop listening and write now (on unload); an open round resumes at the next set-up."""
        self._stop_following()
        await self._store.async_save(self._data_to_save())

    # --- queries --------------------------------------------------------------------------------------

    @property
    def current(self) -> PatrolRound | None:
        """The open round, else the last one (None before the first round)."""
        return self._rounds[-1] if self._rounds else None

    def rounds(self) -> list[PatrolRound]:
        """Kept rounds, oldest first."""
        return list(self._rounds)

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` on every change of the current round."""
        return self._listeners.add(listener)

    def describe(self, patrol: PatrolRound) -> dict[str, Any]:
        """The round as events and responses carry it, with the park's entry (blueprints call back on it)."""
        return {**patrol.describe(self.park_id), "config_entry_id": self.entry_id}

    # --- changes --------------------------------------------------------------------------------------

    def _commit(self, patrol: PatrolRound) -> None:
        if self._rounds and self._rounds[-1].id == patrol.id:
            self._rounds[-1] = patrol
        else:
            self._rounds.append(patrol)
            del self._rounds[:-MAX_ROUNDS]
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._listeners.notify()

    @callback
    def start(
        self,
        route: str,
        checkpoints: Sequence[str | Checkpoint],
        ends_at: datetime,
        *,
        captain: str | None = None,
        context: Context | None = None,
    ) -> PatrolRound:
        """Open a round of ``route`` until ``ends_at``; refused while another round is open."""
        if (current := self.current) is not None and current.is_open:
            self._audit(
                SERVICE_START,
                source_of(context),
                Outcome.REFUSED,
                target=current.id,
                context=context,
                route=route,
                reason="patrol_in_progress",
            )
            raise invalid("patrol_in_progress", route=current.route, ends_at=current.ends_at.isoformat())
        now = dt_util.utcnow()
        if ends_at <= now:
            raise invalid("patrol_ends_in_past", ends_at=ends_at.isoformat())
        self._seq += 1
        patrol = PatrolRound(
            id=f"{self.park_id}-p{self._seq}",
            route=route,
            checkpoints=self._checkpoints(checkpoints),
            started_at=now,
            ends_at=ends_at,
            captain=captain,
            started_by=context.user_id if context else None,
        )
        self._commit(patrol)
        self._follow(patrol)
        self._audit(
            SERVICE_START,
            source_of(context),
            target=patrol.id,
            context=context,
            route=route,
            checkpoints=[checkpoint.name for checkpoint in patrol.checkpoints],
            ends_at=ends_at.isoformat(),
            captain=captain,
        )
        self.hass.bus.async_fire(EVENT_PATROL_STARTED, self.describe(patrol), context=context)
        return patrol

    def _checkpoints(self, given: Sequence[str | Checkpoint]) -> tuple[Checkpoint, ...]:
        """Checkpoints in route order, each tag once; a bare tag id is named after HA's tag, else its id."""
        registry = er.async_get(self.hass)
        out: dict[str, Checkpoint] = {}
        for item in given:
            if isinstance(item, Checkpoint):
                out.setdefault(item.tag_id, item)
                continue
            name = item
            if (entity_id := registry.async_get_entity_id("tag", "tag", item)) and (
                entity := registry.async_get(entity_id)
            ):
                name = entity.name or entity.original_name or item
            out.setdefault(item, Checkpoint(tag_id=item, name=name))
        return tuple(out.values())

    @callback
    def end(self, *, context: Context | None = None) -> PatrolRound:
        """Close the open round now (``smart_park.end_patrol``); refused when none is open."""
        current = self.current
        if current is None or not current.is_open:
            self._audit(
                SERVICE_END, source_of(context), Outcome.REFUSED, context=context, reason="patrol_not_running"
            )
            raise invalid("patrol_not_running")
        return self._close(current, EndReason.ENDED_EARLY, context=context)

    def _close(
        self, patrol: PatrolRound, reason: EndReason, *, context: Context | None, at: datetime | None = None
    ) -> PatrolRound:
        self._stop_following()
        patrol = patrol.closed(at or dt_util.utcnow(), reason, context.user_id if context else None)
        self._commit(patrol)
        missed = patrol.missed
        self._audit(
            SERVICE_END,
            Source.SYSTEM if context is None else source_of(context),
            target=patrol.id,
            context=context,
            route=patrol.route,
            reason=reason.value,
            state=patrol.state.value,
            scanned=len(patrol.scans),
            total=len(patrol.checkpoints),
            missed=[checkpoint.name for checkpoint in missed],
            patrollers=patrol.patrollers,
        )
        self.hass.bus.async_fire(EVENT_PATROL_ENDED, self.describe(patrol), context=context)
        return patrol

    # --- following an open round ------------------------------------------------------------------------

    def _follow(self, patrol: PatrolRound) -> None:
        """Listen to tag scans and arm the deadline of the open round."""
        self._stop_following()
        self._unsub_scans = self.hass.bus.async_listen(EVENT_TAG_SCANNED, self._async_tag_scanned)

        @callback
        def _deadline(_now: datetime) -> None:
            self._unsub_deadline = None
            if (current := self.current) is not None and current.is_open and current.id == patrol.id:
                self._close(current, EndReason.DEADLINE, context=None, at=current.ends_at)

        self._unsub_deadline = async_track_point_in_utc_time(self.hass, _deadline, patrol.ends_at)

    def _stop_following(self) -> None:
        for unsub in (self._unsub_scans, self._unsub_deadline):
            if unsub is not None:
                unsub()
        self._unsub_scans = self._unsub_deadline = None

    @callback
    def _async_tag_scanned(self, event: Event) -> None:
        """Record a checkpoint's first scan; close the round when it was the last one."""
        patrol = self.current
        tag_id = str(event.data.get(TAG_ID, ""))
        if patrol is None or not patrol.is_open or (checkpoint := patrol.checkpoint(tag_id)) is None:
            return
        if any(scan.tag_id == tag_id for scan in patrol.scans):
            return
        user_id = event.context.user_id
        device_id = event.data.get(DEVICE_ID)
        patrol = patrol.with_scan(
            Scan(tag_id=tag_id, at=dt_util.utcnow(), user_id=user_id, device_id=device_id)
        )
        self._commit(patrol)
        # A reader without a user (a fixed NFC reader's device) is a field source.
        self._audit(
            "patrol_scan",
            Source.USER if user_id else Source.FIELD,
            target=patrol.id,
            context=event.context,
            route=patrol.route,
            tag_id=tag_id,
            checkpoint=checkpoint.name,
            device_id=device_id,
        )
        described = self.describe(patrol)
        self.hass.bus.async_fire(
            EVENT_PATROL_SCANNED,
            {**described, "tag_id": tag_id, "checkpoint": checkpoint.name, "user_id": user_id},
            context=event.context,
        )
        if not patrol.missed:
            self._close(patrol, EndReason.ALL_SCANNED, context=None)


async def async_setup_patrols(
    hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: AuditLog
) -> PatrolManager:
    """Load the park's patrol rounds and resume an open one."""
    manager = PatrolManager(hass, entry, profile, audit.scoped(Category.PATROL))
    await manager.async_load()
    entry.async_on_unload(manager.async_unload)
    return manager
