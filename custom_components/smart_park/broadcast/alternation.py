"""Bells and the evacuation message in turn while a fire alarm sounds (GB 50116-2013 §4.8.6, §4.8.9).

While a linkage group's alarm is latched and not silenced, its bells sound for ``bell_seconds`` (8–20 s), then
they pause while the evacuation message plays once or twice in the group's broadcast zones, then the bells
sound again, and so on until the alarm is silenced or reset. The zones are held at fire priority for the whole
alarm, so nothing lower plays between the messages. Every failure falls back to continuous bells: a message
that cannot start leaves the bells on, and one that overruns its time is cut so the bells come back.

An option of the park (off by default); the timers are HA's, so a frozen clock drives them in tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

from ..audit import AuditLog, Category, Outcome, Source
from ..const import (
    CONF_BROADCAST_ALTERNATION,
    CONF_BROADCAST_BELL_SECONDS,
    CONF_BROADCAST_EVACUATION_SLOT,
    CONF_BROADCAST_MESSAGE_REPEATS,
    DEFAULT_BROADCAST_BELL_SECONDS,
    DEFAULT_BROADCAST_EVACUATION_SLOT,
    DEFAULT_BROADCAST_MESSAGE_REPEATS,
    LOGGER,
)
from ..linkage import FireLinkage, LinkageState
from .model import Broadcast, BroadcastBlocked, BroadcastCallback, Message, Zone

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry

# Longest one play of the message may take before the bells come back (GB 50116 asks for 10–30 s per play).
MESSAGE_SECONDS_MAX: Final = 60.0


class Holder(Protocol):
    """What the alternation needs of the broadcast manager: zones, the message, and held broadcasts.

    A protocol, so that the manager (which creates the alternation) and this module do not import each other.
    """

    def zones_of(self, building: str | None) -> list[Zone]:
        """Zones in a building (every zone for ``None``)."""
        ...

    async def async_preset_message(self, zones: Sequence[Zone], preset: str) -> Message:
        """A preset by name or slot number."""
        ...

    async def async_hold(
        self,
        *,
        zones: Sequence[Zone],
        message: Message,
        repeat: int,
        origin: str,
        on_done: BroadcastCallback,
        on_end: BroadcastCallback,
    ) -> Broadcast:
        """Hold ``zones`` at fire priority, silently; raise BroadcastBlocked."""
        ...

    async def async_play_held(self, broadcast: Broadcast) -> bool:
        """Play a held broadcast's message once; False when it cannot."""
        ...

    async def async_quiet_held(self, broadcast: Broadcast) -> None:
        """Stop a held broadcast's message but keep its zones."""
        ...

    async def async_release(self, broadcast: Broadcast) -> None:
        """End a held broadcast."""
        ...


class Phase(StrEnum):
    """Where a group is in the cycle."""

    IDLE = "idle"
    BELLS = "bells"
    MESSAGE = "message"


@dataclass(slots=True)
class Cycle:
    """The alternation of one linkage group."""

    group_id: str
    zones: tuple[Zone, ...]
    phase: Phase = Phase.IDLE
    broadcast: Broadcast | None = None
    timer: CALLBACK_TYPE | None = None
    # An operator stopped the message: bells only, until the alarm is reset.
    operator_stopped: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def cancel_timer(self) -> None:
        """Forget the pending phase change."""
        if self.timer is not None:
            self.timer()
            self.timer = None


class Alternation:
    """Alternates bells and the evacuation message in every linkage group that has broadcast zones."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        manager: Holder,
        *,
        linkage: FireLinkage,
        audit: AuditLog,
        bell_seconds: float,
        repeats: int,
        slot: int,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.manager = manager
        self.linkage = linkage
        self._record = audit.scoped(Category.BROADCAST)
        self.bell_seconds = bell_seconds
        self.repeats = repeats
        self.slot = slot
        self.cycles: dict[str, Cycle] = {}
        for group_id, group in self.linkage.groups.items():
            if zones := manager.zones_of(group.building):
                self.cycles[group_id] = Cycle(group_id, tuple(zones))
        self._unsub: CALLBACK_TYPE | None = None

    @callback
    def async_start(self) -> None:
        """Follow the linkage; a group already in alarm (a restart mid-alarm) starts alternating now."""
        self._unsub = self.linkage.async_add_listener(self._on_linkage)
        self._on_linkage()

    @callback
    def async_stop(self) -> None:
        """Stop the timers (on unload)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        for cycle in self.cycles.values():
            cycle.cancel_timer()
            cycle.phase = Phase.IDLE

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self.entry.async_create_task(self.hass, job, name)

    def _audit(self, cycle: Cycle, action: str, outcome: Outcome = Outcome.OK, **data: Any) -> None:
        self._record(
            action,
            Source.SYSTEM,
            outcome,
            target=f"alternation:{cycle.group_id}",
            **data,
        )

    @callback
    def _on_linkage(self) -> None:
        """Start or end each group's cycle as its alarm sounds or stops sounding."""
        for cycle in self.cycles.values():
            group = self.linkage.groups[cycle.group_id].group
            if not group.latched:
                cycle.operator_stopped = False
            sounding = group.state is LinkageState.ALARM
            if sounding and cycle.phase is Phase.IDLE and not cycle.operator_stopped:
                # The phase changes here, synchronously: the next notification must not start a second cycle.
                cycle.phase = Phase.BELLS
                self._spawn(self._async_begin(cycle), f"alternation start {cycle.group_id}")
            elif not sounding and cycle.phase is not Phase.IDLE:
                cycle.phase = Phase.IDLE
                cycle.cancel_timer()
                self._spawn(self._async_finish(cycle), f"alternation end {cycle.group_id}")

    def _arm(self, cycle: Cycle, seconds: float, step: Callable[[Cycle], Coroutine[Any, Any, None]]) -> None:
        cycle.cancel_timer()

        async def fire(_now: datetime) -> None:
            cycle.timer = None
            await step(cycle)

        cycle.timer = async_call_later(self.hass, seconds, HassJob(fire, cancel_on_shutdown=True))

    async def _async_hold(self, cycle: Cycle) -> bool:
        """Hold the group's zones at fire priority (once per alarm); False when that is not possible now."""
        if cycle.broadcast is not None:
            return True
        try:
            message: Message = await self.manager.async_preset_message(cycle.zones, str(self.slot))
            cycle.broadcast = await self.manager.async_hold(
                zones=cycle.zones,
                message=message,
                repeat=self.repeats,
                origin=f"alternation:{cycle.group_id}",
                on_done=self._on_message_done,
                on_end=self._on_broadcast_end,
            )
        except BroadcastBlocked as err:
            # Another fire broadcast holds these zones (an operator's): the bells simply keep sounding.
            self._audit(cycle, "alternation_blocked", Outcome.REFUSED, blocked_by=err.blocker.id)
            return False
        except HomeAssistantError as err:
            LOGGER.error("Alternation of %s cannot use the evacuation message: %s", cycle.group_id, err)
            self._audit(cycle, "alternation_blocked", Outcome.FAILED, error=str(err))
            return False
        return True

    async def _async_begin(self, cycle: Cycle) -> None:
        """The alarm sounds: bells first (they already ring), the message after ``bell_seconds``."""
        async with cycle.lock:
            if cycle.phase is not Phase.BELLS:
                return
            await self._async_hold(cycle)
            if cycle.phase is Phase.BELLS:
                self._arm(cycle, self.bell_seconds, self._async_message)

    async def _async_message(self, cycle: Cycle) -> None:
        """Bells pause, the evacuation message plays; any failure keeps the bells on."""
        async with cycle.lock:
            if cycle.phase is not Phase.BELLS:
                return
            if not await self._async_hold(cycle) or cycle.broadcast is None:
                if cycle.phase is Phase.BELLS:
                    self._arm(cycle, self.bell_seconds, self._async_message)
                return
            cycle.phase = Phase.MESSAGE
            await self.linkage.async_pause_bells(cycle.group_id, True)
            if cycle.phase is not Phase.MESSAGE:
                return  # the alarm was silenced meanwhile; the finish step cleans up
            if not await self.manager.async_play_held(cycle.broadcast):
                await self._async_bells(cycle)
                return
            if cycle.phase is Phase.MESSAGE:
                self._arm(cycle, MESSAGE_SECONDS_MAX * self.repeats, self._async_overran)

    async def _async_bells(self, cycle: Cycle) -> None:
        """Bells again for ``bell_seconds`` (called with the cycle's lock held)."""
        cycle.cancel_timer()
        if cycle.phase is not Phase.MESSAGE:
            return
        cycle.phase = Phase.BELLS
        await self.linkage.async_pause_bells(cycle.group_id, False)
        if cycle.phase is Phase.BELLS:
            self._arm(cycle, self.bell_seconds, self._async_message)

    async def _async_overran(self, cycle: Cycle) -> None:
        """The message did not end in time: cut it, bells back."""
        async with cycle.lock:
            if cycle.phase is not Phase.MESSAGE or cycle.broadcast is None:
                return
            LOGGER.warning("Evacuation message of %s overran; bells resume", cycle.group_id)
            await self.manager.async_quiet_held(cycle.broadcast)
            await self._async_bells(cycle)

    async def _on_message_done(self, broadcast: Broadcast) -> None:
        cycle = self._cycle_of(broadcast)
        if cycle is not None:
            self._spawn(self._async_after_message(cycle), f"alternation bells {cycle.group_id}")

    async def _async_after_message(self, cycle: Cycle) -> None:
        async with cycle.lock:
            await self._async_bells(cycle)

    async def _on_broadcast_end(self, broadcast: Broadcast) -> None:
        """An operator stopped the evacuation message: bells only until the alarm is reset."""
        cycle = self._cycle_of(broadcast)
        if cycle is None:
            return
        cycle.broadcast = None
        cycle.operator_stopped = True
        cycle.cancel_timer()
        if cycle.phase is not Phase.IDLE:
            cycle.phase = Phase.IDLE
            self._spawn(self._async_resume_bells(cycle), f"alternation stopped {cycle.group_id}")

    async def _async_resume_bells(self, cycle: Cycle) -> None:
        async with cycle.lock:
            await self.linkage.async_pause_bells(cycle.group_id, False)

    def _cycle_of(self, broadcast: Broadcast) -> Cycle | None:
        return next((c for c in self.cycles.values() if c.broadcast is broadcast), None)

    async def _async_finish(self, cycle: Cycle) -> None:
        """The alarm stopped sounding (silenced, reset, disabled): let the zones go, unpause the bells."""
        async with cycle.lock:
            if cycle.phase is not Phase.IDLE:
                return  # it sounds again already
            broadcast, cycle.broadcast = cycle.broadcast, None
            if broadcast is not None:
                await self.manager.async_release(broadcast)
            # Silence and reset clear the pause themselves; a disabled group must not keep it either.
            await self.linkage.async_pause_bells(cycle.group_id, False)


def async_setup_alternation(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    manager: Holder,
    *,
    linkage: FireLinkage,
    audit: AuditLog,
) -> Alternation | None:
    """The alternation, when the option is on and some linkage group has broadcast zones."""
    options = entry.options
    if not options.get(CONF_BROADCAST_ALTERNATION, False):
        return None
    alternation = Alternation(
        hass,
        entry,
        manager,
        linkage=linkage,
        audit=audit,
        bell_seconds=float(options.get(CONF_BROADCAST_BELL_SECONDS, DEFAULT_BROADCAST_BELL_SECONDS)),
        repeats=int(options.get(CONF_BROADCAST_MESSAGE_REPEATS, DEFAULT_BROADCAST_MESSAGE_REPEATS)),
        slot=int(options.get(CONF_BROADCAST_EVACUATION_SLOT, DEFAULT_BROADCAST_EVACUATION_SLOT)),
    )
    if not alternation.cycles:
        return None
    alternation.async_start()
    entry.async_on_unload(alternation.async_stop)
    return alternation
