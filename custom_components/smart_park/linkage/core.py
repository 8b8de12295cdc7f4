"""The field side of the fire-bell linkage: :class:`LinkageCore`, the groups of one park fed from the polls.

It feeds the groups' state machines (:mod:`.state`) from coordinator hooks (call points in the safety tier;
smoke and gas alarms in the fast tier when they are triggers; controller faults and bell read-backs in the
normal tier) and drives the bells (:mod:`.drive`) in the same task. Every transition is audited and keeps the
fire incident (:mod:`.episodes`) and the fault repair issue (:mod:`.repairs`) true. The groups' state is kept
in a ``Store`` and re-asserted on start: a restart mid-alarm keeps the bells ringing. The operator side
(authorisation, commands) is :class:`.manager.FireLinkage`, built on this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Outcome, Source
from ..const import (
    CONF_LINKAGE_CONFIRMATION,
    CONF_LINKAGE_SCOPE,
    CONF_LINKAGE_TRIGGERS,
    DEFAULT_LINKAGE_CONFIRMATION,
    DEFAULT_LINKAGE_SCOPE,
    DOMAIN,
)
from ..engine.catalogue import Tier
from ..engine.modbus import DeviceReading, ModbusError
from ..hooks import async_subscribe_polls
from ..incidents import IncidentManager
from ..listeners import Listeners
from ..repairs import RepairIssues
from .drive import BellDrive, take_reading
from .episodes import Episodes
from .groups import BellController, ControllerRef, GroupRuntime, InputRef, build_groups
from .repairs import FaultIssues
from .state import Confirmation, InputKind, LinkageState, Transition

if TYPE_CHECKING:
    from ..data import ParkPolls, SmartParkConfigEntry

STORAGE_VERSION: Final = 1


class LinkageCore:
    """Every linkage group of one park, as the field drives it."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        polls: ParkPolls,
        *,
        incidents: IncidentManager,
        audit: AuditLog,
        repairs: RepairIssues,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.polls = polls
        self.profile = polls.profile
        self._record = audit.scoped(Category.LINKAGE)
        options = entry.options
        self.groups = build_groups(
            self.profile,
            options.get(CONF_LINKAGE_SCOPE, DEFAULT_LINKAGE_SCOPE),
            Confirmation(options.get(CONF_LINKAGE_CONFIRMATION, DEFAULT_LINKAGE_CONFIRMATION)),
            [InputKind(kind) for kind in options.get(CONF_LINKAGE_TRIGGERS, [])],
        )
        self.controllers = {c.id: ControllerRef(g, c) for g in self.groups.values() for c in g.controllers}
        self._device_inputs: dict[str, list[InputRef]] = {}
        for group in self.groups.values():
            for ref in group.inputs.values():
                self._device_inputs.setdefault(ref.device_id, []).append(ref)
        self._active: dict[str, bool] = {}
        # Inputs whose last read succeeded; missing ones (not read since start) are unreadable.
        self._readable: dict[str, bool] = {}
        # Per poll (gateway, tier): the poll in which the early hook already drove the bells.
        self._driven_in_poll: dict[tuple[str, Tier], float] = {}
        self._listeners: Listeners[[]] = Listeners()
        self._drive = BellDrive(
            polls.pollers, self.groups, self._on_bells_unconfirmed, self._on_bells_confirmed
        )
        self._episodes = Episodes(incidents, self.profile)
        self._issues = FaultIssues(repairs, self.profile.id)
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.linkage", atomic_writes=True
        )

    # --- life cycle -----------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Take back the persisted state of every group."""
        stored = await self._store.async_load() or {}
        for group_id, data in stored.get("groups", {}).items():
            if (group := self.groups.get(group_id)) is not None:
                group.machine.restore(data)
        for controller_id, channels in stored.get("manual", {}).items():
            if controller_id in self.controllers:
                self.controllers[controller_id].controller.manual = set(channels)
        self._episodes.restore(stored.get("episodes", {}), self.groups)
        for group in self.groups.values():
            if group.machine.latched:
                self._audit(group, "restored", Source.SYSTEM, state=group.machine.state.value)

    async def async_start(self) -> None:
        """Hook into the coordinators and re-assert every controller's bells (after a restart mid-alarm)."""
        # Only the polls that read an input or a controller (the slow tier of a meter gateway has neither).
        devices = [self.profile.devices[d] for d in {*self._device_inputs, *self.controllers}]
        wanted = {(device.gateway, point.tier) for device in devices for point in device.points}
        # The first polls ran before this hook: they are the inputs' first reads (a dead gateway's inputs
        # stay unreadable, so a restored alarm cannot be reset until they are read).
        await async_subscribe_polls(self.polls.coordinators, wanted, self._async_on_readings)
        # A call point that changes is acted on as soon as its controller is read, not after the rest of the
        # safety cycle (on a 9600-baud bus each further controller costs ~33 ms). The poll's end brings the
        # whole cycle's readings again; the hook takes a partial dict as it takes a whole one.
        for key in wanted:
            if key[1] is Tier.SAFETY and (coordinator := self.polls.coordinators.get(key)) is not None:
                coordinator.early_hooks.append(self._async_on_early_reading)
        await self.async_drive()

    def _save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 0)

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "groups": {group_id: group.machine.as_dict() for group_id, group in self.groups.items()},
            "manual": {cid: sorted(c.manual) for cid, (_g, c) in self.controllers.items() if c.manual},
            "episodes": self._episodes.as_dict(),
        }

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` after every change (entities refresh their state)."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners.notify()

    # --- field inputs ---------------------------------------------------------------------------------

    async def _async_on_early_reading(
        self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]
    ) -> None:
        """Early hook: a changed controller, inside its poll; the poll's end then drives only on news."""
        await self._async_on_readings(gateway_id, tier, readings)
        key = (gateway_id, tier)
        self._driven_in_poll[key] = self.polls.coordinators[key].poll_started

    async def _async_on_readings(
        self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]
    ) -> None:
        """Coordinator hook: feed inputs and faults to the groups, then drive the bells."""
        touched: set[str] = set()
        for device_id, reading in readings.items():
            for ref in self._device_inputs.get(device_id, ()):
                if ref.tier is not tier:
                    continue  # this poll does not read the input
                readable = reading.available and ref.key in reading.values
                if self._readable.get(ref.input_id) != readable:
                    self._readable[ref.input_id] = readable
                    touched.add(ref.group_id)
                # An unreadable input keeps its last value: a dead controller must not clear an alarm.
                if readable:
                    is_active = bool(reading.values[ref.key])
                    if self._active.get(ref.input_id) != is_active:
                        self._active[ref.input_id] = is_active
                        touched.add(ref.group_id)
            if device_id in self.controllers:
                group, controller = self.controllers[device_id]
                poll_started = self.polls.coordinators[(gateway_id, tier)].poll_started
                if take_reading(controller, reading, poll_started):
                    touched.add(group.id)
        now = dt_util.utcnow()
        for group_id in touched:
            group = self.groups[group_id]
            active = [i for i in group.inputs if self._active.get(i)]
            group.machine.update_readable(i for i in group.inputs if not self._readable.get(i))
            transitions = group.machine.update_inputs(active, now)
            transitions += group.machine.update_faults(group.faults(), now)
            self._after(group, transitions, Source.FIELD)
        # The bells were driven earlier in this same poll (the early hook) and nothing changed since: driving
        # again would only retry a failed controller at once, ahead of its backoff.
        key = (gateway_id, tier)
        if touched or self._driven_in_poll.pop(key, None) != self.polls.coordinators[key].poll_started:
            await self.async_drive()
        if touched:
            self._notify()

    # --- bells ----------------------------------------------------------------------------------------

    async def async_drive(self, groups: list[GroupRuntime] | None = None) -> None:
        """Bring every controller's bells (or those of ``groups``) to what its group wants."""
        await self._drive.async_drive(groups)

    async def async_pause_bells(self, group_id: str, paused: bool) -> None:
        """Pause a sounding group's bells while its evacuation message plays (GB 50116 §4.8.9), or resume.

        Only the alternation uses this; the alarm stays latched, and reset or silence clear the pause.
        """
        (self._drive.paused.add if paused else self._drive.paused.discard)(group_id)
        await self.async_drive([self.groups[group_id]])
        self._notify()

    def _on_bells_unconfirmed(
        self, group: GroupRuntime, controller: BellController, err: ModbusError
    ) -> None:
        self._audit(
            group,
            "bells_unconfirmed",
            Source.SYSTEM,
            Outcome.FAILED,
            controller=controller.id,
            error=str(err),
        )
        self._refresh_faults(group)

    def _on_bells_confirmed(self, group: GroupRuntime, controller: BellController, attempts: int) -> None:
        self._audit(group, "bells_confirmed", Source.SYSTEM, controller=controller.id, attempts=attempts)
        self._refresh_faults(group)

    def _refresh_faults(self, group: GroupRuntime) -> None:
        self._after(group, group.machine.update_faults(group.faults(), dt_util.utcnow()), Source.SYSTEM)
        self._notify()

    def bell_state(self, controller_id: str, channel: int) -> bool | None:
        """A bell's confirmed state (None while unconfirmed)."""
        controller = self.controllers[controller_id].controller
        if controller.confirmed is None:
            return None
        return controller.confirmed[channel - 1]

    # --- transitions and audit ------------------------------------------------------------------------

    def _audit(
        self,
        group: GroupRuntime | None,
        action: str,
        source: Source,
        outcome: Outcome = Outcome.OK,
        /,
        *,
        context: Context | None = None,
        user_id: str | None = None,
        **data: Any,
    ) -> None:
        self._record(
            action,
            source=source,
            outcome=outcome,
            user_id=user_id,
            target=group.id if group else None,
            context=context,
            **data,
        )

    def _after(
        self,
        group: GroupRuntime,
        transitions: list[Transition],
        source: Source,
        context: Context | None = None,
    ) -> None:
        """Audit transitions, open the fire incident on a new alarm, persist, keep the repair issue true."""
        for t in transitions:
            self._audit(
                group,
                t.cause,
                source,
                context=context,
                user_id=t.user_id,
                old=t.old.value,
                new=t.new.value,
                inputs=list(t.inputs),
            )
            if t.new is LinkageState.ALARM and t.cause in ("input", "resound", "enable"):
                self._episodes.track(group, t, context)
            elif t.cause == "reset":
                self._episodes.end(group.id)
        if transitions:
            self._save()
        self._issues.update(group)
