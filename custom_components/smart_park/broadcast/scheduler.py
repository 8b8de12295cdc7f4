"""The broadcasts' life on the controllers: start (preempting), queue, refuse, stop, end, each audited.

:class:`BroadcastScheduler` applies :mod:`.arbitration`'s rules with :mod:`.controller`'s I/O. Every decision
and its writes run in one transaction (a lock), so two calls never interleave on a controller; the owners'
callbacks (the alternation's) and the listeners (the zones' media players) run after it.

Fire-evacuation priority is for automations, HA administrators, or whoever gives the linkage PIN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, Context, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
from homeassistant.util.ulid import ulid_now

from ..audit import AuditLog, Category, Outcome, Source, source_of
from ..const import LOGGER
from ..engine.modbus import ModbusError
from ..errors import invalid
from ..linkage import FireLinkage
from ..listeners import Listeners
from .arbitration import blockers, default_volume, queue_order, victims
from .controller import CMD_STOP, ControllerIO
from .model import (
    ATTR_BROADCAST_ID,
    DEFAULT_QUEUE_TIMEOUT,
    Broadcast,
    BroadcastCallback,
    BroadcastStatus,
    EndReason,
    Message,
    Priority,
    Zone,
    build_controllers,
)

if TYPE_CHECKING:
    from ..data import ParkPolls, SmartParkConfigEntry


def _local(value: datetime | None) -> str:
    return dt_util.as_local(value).strftime("%H:%M:%S") if value else "?"


class BroadcastScheduler:
    """The active broadcasts of one park's controllers and the queue waiting for them."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        polls: ParkPolls,
        *,
        linkage: FireLinkage,
        audit: AuditLog,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.polls = polls
        self.profile = polls.profile
        # Fire priority is authorised as the linkage's commands are (HA admin or its PIN).
        self.linkage = linkage
        self._audit = audit.scoped(Category.BROADCAST)
        self.controllers = build_controllers(self.profile)
        self.zones: dict[str, Zone] = {
            zone.id: zone for controller in self.controllers.values() for zone in controller.zones.values()
        }
        self.active: dict[str, Broadcast] = {}
        self.queue: list[Broadcast] = []
        self.io = ControllerIO(hass, polls, self.controllers)
        self._lock = asyncio.Lock()
        self._callbacks: list[tuple[BroadcastCallback, Broadcast]] = []
        self._listeners: Listeners[[]] = Listeners()

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` after every change (the zones' media players refresh)."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners.notify()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Serialise decisions and writes; run owners' callbacks and tell listeners afterwards."""
        try:
            async with self._lock:
                yield
        finally:
            callbacks, self._callbacks = self._callbacks, []
            for function, broadcast in callbacks:
                try:
                    await function(broadcast)
                except Exception:
                    LOGGER.exception("Error in a callback of broadcast %s", broadcast.id)
            self._notify()

    # --- transitions ----------------------------------------------------------------------------------

    def _new(
        self,
        *,
        priority: Priority,
        message: Message,
        zones: Sequence[Zone],
        repeat: int,
        volume: int | None,
        origin: str,
        context: Context | None,
        incident_id: str | None = None,
        persistent: bool = False,
    ) -> Broadcast:
        return Broadcast(
            id=f"bc{ulid_now()[-10:].lower()}",
            priority=priority,
            message=message,
            zones=tuple(zones),
            repeat=repeat,
            volume=default_volume(priority) if volume is None else volume,
            origin=origin,
            source=source_of(context),
            context=context,
            created_at=dt_util.utcnow(),
            incident_id=incident_id,
            persistent=persistent,
        )

    async def _async_begin(self, broadcast: Broadcast, *, silent: bool = False) -> None:
        """Preempt what is lower on its controllers, then play (or, ``silent``, only hold the zones)."""
        if not silent:
            await self.io.async_prepare(broadcast)
        preempted = victims(broadcast, self.active.values())
        taken = set() if silent else broadcast.controllers()
        for victim in preempted:
            # Controllers the new broadcast plays on are simply overwritten: no gap of silence between.
            await self._async_end(
                victim, EndReason.PREEMPTED, preempted_by=broadcast, context=broadcast.context, keep=taken
            )
        if broadcast.expiry is not None:
            broadcast.expiry()
            broadcast.expiry = None
        if broadcast in self.queue:
            self.queue.remove(broadcast)
        broadcast.started_at = dt_util.utcnow()
        self.active[broadcast.id] = broadcast
        if silent:
            broadcast.status = BroadcastStatus.HOLDING
            # Holding means silence there, also of what this integration did not start (the panel, a run
            # before a restart).
            await self.io.async_stop_on(
                cid for cid in broadcast.controllers() if self.controllers[cid].playing
            )
        else:
            broadcast.status = BroadcastStatus.PLAYING
            try:
                await self.io.async_play(broadcast)
            except HomeAssistantError:
                self.active.pop(broadcast.id, None)
                broadcast.status, broadcast.ended_at = BroadcastStatus.ENDED, dt_util.utcnow()
                broadcast.end_reason = EndReason.FAILED
                self._audit(
                    "started",
                    broadcast.source,
                    Outcome.FAILED,
                    target=broadcast.id,
                    context=broadcast.context,
                    **broadcast.started_data(preempted),
                )
                raise
        self._audit(
            "started",
            broadcast.source,
            target=broadcast.id,
            context=broadcast.context,
            **broadcast.started_data(preempted),
        )

    async def _async_end(
        self,
        broadcast: Broadcast,
        reason: EndReason,
        *,
        preempted_by: Broadcast | None = None,
        context: Context | None = None,
        keep: set[str] | None = None,
    ) -> None:
        """End an active broadcast: stop its controllers (but ``keep``), audit, tell its owner."""
        self.active.pop(broadcast.id, None)
        if reason is not EndReason.COMPLETED:
            await self.io.async_stop_on(
                cid
                for cid in broadcast.controllers() - (keep or set())
                if self.controllers[cid].playing or cid in broadcast.playing
            )
        broadcast.playing.clear()
        if preempted_by is not None:
            broadcast.preempted_by = preempted_by.id
        self._close(broadcast, reason, context)

    def _close(self, broadcast: Broadcast, reason: EndReason, context: Context | None) -> None:
        broadcast.status, broadcast.end_reason, broadcast.ended_at = (
            BroadcastStatus.ENDED,
            reason,
            dt_util.utcnow(),
        )
        self._audit(
            "ended",
            source_of(context) if context is not None else Source.SYSTEM,
            Outcome.FAILED if reason is EndReason.FAILED else Outcome.OK,
            target=broadcast.id,
            context=context,
            **broadcast.ended_data(),
        )
        if broadcast.on_end is not None:
            self._callbacks.append((broadcast.on_end, broadcast))

    async def _async_start_queued(self) -> None:
        """Start queued broadcasts whose way is now clear, the highest priority first."""
        for broadcast in queue_order(self.queue):
            if broadcast in self.queue and not blockers(broadcast, self.active.values()):
                try:
                    await self._async_begin(broadcast)
                except HomeAssistantError as err:
                    LOGGER.warning("Queued broadcast %s could not start: %s", broadcast.id, err)

    # --- requests -------------------------------------------------------------------------------------

    async def async_authorise(
        self, priority: Priority, command: str, context: Context | None, pin: str | None
    ) -> None:
        """Fire evacuation: HA admins or the linkage PIN; automations may start one but not stop one.

        An automation (no user) announcing an evacuation is what blueprints are for; one stopping "every
        broadcast" at the end of a drill must not silence a real evacuation unless it carries the PIN.
        """
        if priority < Priority.FIRE or context is None:
            return
        if context.user_id is None and command == "broadcast":
            return
        await self.linkage.async_authorise(command, None, context, pin)

    def _refuse(self, broadcast: Broadcast, blocker: Broadcast) -> ServiceValidationError:
        self._audit(
            "refused",
            broadcast.source,
            Outcome.REFUSED,
            target=broadcast.id,
            context=broadcast.context,
            priority=broadcast.priority.label,
            title=broadcast.message.title,
            zones=[zone.id for zone in broadcast.zones],
            blocked_by=blocker.id,
        )
        return invalid(
            "broadcast_blocked",
            blocking=blocker.message.title,
            broadcast_id=blocker.id,
            since=_local(blocker.started_at),
        )

    async def async_broadcast(
        self,
        *,
        zones: Sequence[Zone],
        message: Message,
        priority: Priority,
        repeat: int = 1,
        volume: int | None = None,
        queue: bool = False,
        queue_timeout: float = DEFAULT_QUEUE_TIMEOUT,
        origin: str = "action",
        context: Context | None = None,
        pin: str | None = None,
        incident_id: str | None = None,
    ) -> Broadcast:
        """Play ``message`` in ``zones`` now, or queue it; raise a translated error when it may not."""
        await self.async_authorise(priority, "broadcast", context, pin)
        broadcast = self._new(
            priority=priority,
            message=message,
            zones=zones,
            repeat=repeat,
            volume=volume,
            origin=origin,
            context=context,
            incident_id=incident_id,
        )
        async with self._transaction():
            if blocking := blockers(broadcast, self.active.values()):
                if not queue:
                    raise self._refuse(broadcast, max(blocking, key=lambda b: b.priority))
                self.queue.append(broadcast)
                broadcast.expiry = async_call_later(
                    self.hass, queue_timeout, HassJob(self._expiry_job(broadcast), cancel_on_shutdown=True)
                )
                self._audit(
                    "queued",
                    broadcast.source,
                    target=broadcast.id,
                    context=context,
                    **broadcast.started_data([]),
                    waiting_for=[b.id for b in blocking],
                )
                return broadcast
            await self._async_begin(broadcast)
        return broadcast

    def _expiry_job(self, broadcast: Broadcast) -> Callable[[datetime], Coroutine[Any, Any, None]]:
        async def expire(_now: datetime) -> None:
            broadcast.expiry = None
            async with self._transaction():
                if broadcast in self.queue:
                    self.queue.remove(broadcast)
                    self._close(broadcast, EndReason.EXPIRED, None)

        return expire

    async def async_stop(
        self,
        *,
        zones: Iterable[Zone] | None = None,
        broadcast_id: str | None = None,
        context: Context | None = None,
        pin: str | None = None,
    ) -> list[str]:
        """Stop broadcasts in ``zones`` (only there), one broadcast, or everything; queued ones too."""
        async with self._transaction():
            everything = [*self.active.values(), *self.queue]
            if broadcast_id is not None:
                targets = [b for b in everything if b.id == broadcast_id]
                if not targets:
                    raise invalid("broadcast_not_found", field=ATTR_BROADCAST_ID, broadcast_id=broadcast_id)
                wanted = None
            else:
                wanted = set(zones) if zones is not None else None
                targets = [b for b in everything if wanted is None or wanted & set(b.zones)]
            if not targets:
                raise invalid("broadcast_nothing_to_stop")
            for broadcast in targets:
                await self.async_authorise(broadcast.priority, "stop_broadcast", context, pin)
            stopped: list[str] = []
            for broadcast in targets:
                remaining = [z for z in broadcast.zones if wanted is not None and z not in wanted]
                if remaining:
                    await self._async_narrow(broadcast, remaining, context)
                elif broadcast in self.queue:
                    self.queue.remove(broadcast)
                    if broadcast.expiry is not None:
                        broadcast.expiry()
                        broadcast.expiry = None
                    self._close(broadcast, EndReason.STOPPED, context)
                else:
                    await self._async_end(broadcast, EndReason.STOPPED, context=context)
                stopped.append(broadcast.id)
            await self._async_start_queued()
            return stopped

    async def _async_narrow(
        self, broadcast: Broadcast, zones: Sequence[Zone], context: Context | None
    ) -> None:
        """Take zones out of a broadcast; controllers left without zones stop."""
        dropped = [zone.id for zone in broadcast.zones if zone not in zones]
        before = broadcast.controllers()
        broadcast.zones = tuple(zones)
        if broadcast.status is BroadcastStatus.PLAYING:
            for controller_id in before:
                controller = self.controllers[controller_id]
                mask = broadcast.mask(controller_id)
                try:
                    await self.io.async_write(
                        controller, {"zone_mask": mask} if mask else {"command": CMD_STOP}
                    )
                    await self.io.async_read_status(controller)
                except ModbusError as err:
                    LOGGER.warning("Could not change the zones of %s: %s", controller_id, err)
                if not mask:
                    broadcast.playing.discard(controller_id)
        self._audit("zones_stopped", source_of(context), target=broadcast.id, context=context, zones=dropped)
