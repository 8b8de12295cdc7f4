"""Fire-bell linkage in HA: groups of bell controllers driven from the poll that reads their call points.

The rules live in :mod:`.linkage` (a pure state machine). This module feeds it from coordinator hooks (call
points in the safety tier; smoke and gas alarms in the fast tier when they are triggers; controller faults and
bell read-backs in the normal tier) and drives the bell coils in the same task: one ``write_coils`` per
controller, verified by read-back, retried with backoff until confirmed. Operator commands (silence, reset,
disable, test, manual bells) need an HA admin or the configured PIN; every step and refusal is audited. The
groups' state is kept in a ``Store`` and re-asserted on start: a restart mid-alarm keeps the bells ringing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import probatio as vol
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .audit import Category, Outcome, Source, source_of
from .catalogue import Tier
from .const import (
    CONF_LINKAGE_CONFIRMATION,
    CONF_LINKAGE_PIN_HASH,
    CONF_LINKAGE_SCOPE,
    CONF_LINKAGE_TEST_DURATION,
    CONF_LINKAGE_TRIGGERS,
    DEFAULT_LINKAGE_CONFIRMATION,
    DEFAULT_LINKAGE_SCOPE,
    DEFAULT_LINKAGE_TEST_DURATION,
    DOMAIN,
    LOGGER,
)
from .entry import ENTRY_FIELD, call_entry
from .incidents import IncidentKind
from .linkage import Confirmation, InputKind, LinkageGroup, LinkageRefused, LinkageState, Transition
from .listeners import Listeners
from .modbus import DeviceReading, ModbusError
from .profile import Device, ParkProfile

if TYPE_CHECKING:
    from .coordinator import SmartParkConfigEntry

PARK_GROUP: Final = "park"
CONTROLLER_TYPE: Final = "fire_bell_controller"
# Detector types whose alarm point can trigger the linkage, by input kind.
DETECTORS: Final = {
    InputKind.SMOKE: ("smoke_detector", "smoke_alarm"),
    InputKind.GAS: ("gas_detector", "gas_alarm"),
}
STORAGE_VERSION: Final = 1
# Seconds before retrying an unconfirmed bell write, by consecutive failures (first retry: the next poll).
RETRY_BACKOFF: Final = (0.0, 0.5, 1.0, 2.0, 5.0)
PIN_ATTEMPTS: Final = 5
PIN_LOCKOUT: Final = 300.0

ATTR_GROUP: Final = "group"
ATTR_PIN: Final = "pin"
ATTR_DURATION: Final = "duration"


def hash_pin(pin: str) -> str:
    """Salted scrypt hash of a PIN, as stored in the options."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches a :func:`hash_pin` value (constant-time compare)."""
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass(frozen=True, slots=True)
class InputRef:
    """One input of a group: a call point channel or a detector's alarm point."""

    input_id: str
    group_id: str
    kind: InputKind
    device_id: str
    key: str
    floor: int | None
    tier: Tier  # the poll that reads it: only that poll can say it is unreadable


@dataclass(slots=True)
class Controller:
    """A fire-bell controller of a group and what the linkage knows of its bells."""

    device: Device
    address: int
    bells: int
    manual: set[int] = field(default_factory=set)
    # Bell states confirmed by read-back after our last write; None when unknown or unconfirmed.
    confirmed: tuple[bool, ...] | None = None
    failures: int = 0
    retry_at: float = 0.0
    confirmed_at: float = 0.0  # monotonic time of the last confirmed write
    online: bool = True
    # What an unavailable controller did: "offline" (no answer), "invalid_reply", "exception_reply".
    unavailable: str = "offline"
    faults: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        """The controller's device id."""
        return self.device.id


@dataclass(slots=True)
class GroupRuntime:
    """A linkage group with its controllers and inputs."""

    group: LinkageGroup
    name: str
    building: str | None
    controllers: list[Controller]
    inputs: dict[str, InputRef]
    raised_issue: bool = False
    issue_faults: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        """The group id: a building id, or ``park``."""
        return self.group.group_id

    def faults(self) -> set[str]:
        """Current fault strings of every controller, e.g. ``b1_bells.mains_fault``."""
        out: set[str] = set()
        for controller in self.controllers:
            if not controller.online:
                out.add(f"{controller.id}.{controller.unavailable}")
            out |= {f"{controller.id}.{fault}" for fault in controller.faults}
            if controller.failures:
                out.add(f"{controller.id}.bells_unconfirmed")
        return out


def _bell_span(device: Device) -> tuple[int, int]:
    """Address and count of the controller's bell coils (contiguous: one write switches them all)."""
    addresses = sorted(p.address for p in device.points if p.key.startswith("bell_") and p.writable)
    if not addresses or addresses != list(range(addresses[0], addresses[0] + len(addresses))):
        raise ValueError(f"{device.id}: bell coils must be contiguous")
    return addresses[0], len(addresses)


def _floor_of(device: Device, channel: int | None) -> int | None:
    if channel is None:
        return device.floor
    placed = device.channel_map.get(channel)
    return placed.floor if placed is not None and placed.floor is not None else channel


def build_groups(
    profile: ParkProfile, scope: str, confirmation: Confirmation, triggers: Iterable[InputKind]
) -> dict[str, GroupRuntime]:
    """The linkage groups of a park: one per building with controllers, or one for the whole park."""
    kinds = frozenset({InputKind.CALL_POINT, *triggers})

    def group_of(device: Device) -> str:
        return device.building if scope == "building" and device.building else PARK_GROUP

    groups: dict[str, GroupRuntime] = {}
    for device in profile.devices.values():
        if device.device_type.type != CONTROLLER_TYPE:
            continue
        group_id = group_of(device)
        if group_id not in groups:
            building = profile.buildings.get(group_id)
            groups[group_id] = GroupRuntime(
                group=LinkageGroup(group_id, confirmation=confirmation, kinds=kinds),
                name=building.name if building else profile.name,
                building=building.id if building else None,
                controllers=[],
                inputs={},
            )
        address, count = _bell_span(device)
        groups[group_id].controllers.append(Controller(device, address, count))
        for point in device.points:
            if point.key.startswith("call_point_"):
                ref = InputRef(
                    f"{device.id}.{point.key}",
                    group_id,
                    InputKind.CALL_POINT,
                    device.id,
                    point.key,
                    _floor_of(device, point.channel),
                    point.tier,
                )
                groups[group_id].inputs[ref.input_id] = ref
    for kind, (device_type, key) in DETECTORS.items():
        if kind not in kinds:
            continue
        for device in profile.devices.values():
            if device.device_type.type != device_type or (group_id := group_of(device)) not in groups:
                continue
            point = next(p for p in device.points if p.key == key)
            ref = InputRef(f"{device.id}.{key}", group_id, kind, device.id, key, device.floor, point.tier)
            groups[group_id].inputs[ref.input_id] = ref
    for runtime in groups.values():
        runtime.group.declare_inputs(runtime.inputs)
    return groups


class FireLinkage:
    """Every linkage group of one park."""

    def __init__(self, hass: HomeAssistant, entry: SmartParkConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        runtime = entry.runtime_data
        self.profile = runtime.profile
        options = entry.options
        self.pin_hash: str | None = options.get(CONF_LINKAGE_PIN_HASH)
        self.test_duration = float(options.get(CONF_LINKAGE_TEST_DURATION, DEFAULT_LINKAGE_TEST_DURATION))
        self.groups = build_groups(
            self.profile,
            options.get(CONF_LINKAGE_SCOPE, DEFAULT_LINKAGE_SCOPE),
            Confirmation(options.get(CONF_LINKAGE_CONFIRMATION, DEFAULT_LINKAGE_CONFIRMATION)),
            [InputKind(kind) for kind in options.get(CONF_LINKAGE_TRIGGERS, [])],
        )
        self.controllers = {c.id: (g, c) for g in self.groups.values() for c in g.controllers}
        self._device_inputs: dict[str, list[InputRef]] = {}
        for group in self.groups.values():
            for ref in group.inputs.values():
                self._device_inputs.setdefault(ref.device_id, []).append(ref)
        self._active: dict[str, bool] = {}
        # Inputs whose last read succeeded; missing ones (not read since start) are unreadable.
        self._readable: dict[str, bool] = {}
        # Groups whose alarm bells are paused while the evacuation message plays (bell/message alternation).
        self._paused: set[str] = set()
        self._listeners: Listeners[[]] = Listeners()
        self._pin_failures: list[float] = []
        # The fire incident of each group's current alarm episode (from the alarm until its reset).
        self._episodes: dict[str, str] = {}
        self._test_timer: CALLBACK_TYPE | None = None
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.linkage", atomic_writes=True
        )

    # --- life cycle -----------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Take back the persisted state of every group."""
        stored = await self._store.async_load() or {}
        for group_id, data in stored.get("groups", {}).items():
            if (group := self.groups.get(group_id)) is not None:
                group.group.restore(data)
        for controller_id, channels in stored.get("manual", {}).items():
            if controller_id in self.controllers:
                self.controllers[controller_id][1].manual = set(channels)
        incidents = self.entry.runtime_data.incidents
        for group_id, group in self.groups.items():
            if not group.group.latched:
                continue
            if (incident_id := stored.get("episodes", {}).get(group_id)) is not None:
                self._episodes[group_id] = incident_id
            elif (open_one := incidents.find_open(IncidentKind.FIRE, f"linkage:{group_id}")) is not None:
                # Stored before episodes were kept: the group's open fire incident is its episode's.
                self._episodes[group_id] = open_one.id
        for group in self.groups.values():
            if group.group.latched:
                self._audit(group, "restored", Source.SYSTEM, state=group.group.state.value)

    async def async_start(self) -> None:
        """Hook into the coordinators and re-assert every controller's bells (after a restart mid-alarm)."""
        runtime = self.entry.runtime_data
        # Only the polls that read an input or a controller (the slow tier of a meter gateway has neither).
        devices = [runtime.profile.devices[d] for d in {*self._device_inputs, *self.controllers}]
        wanted = {(device.gateway, point.tier) for device in devices for point in device.points}
        for key, coordinator in runtime.coordinators.items():
            if key in wanted:
                coordinator.hooks.append(self._async_on_readings)
                # The first polls ran before this hook: they are the inputs' first reads (a dead gateway's
                # inputs stay unreadable, so a restored alarm cannot be reset until they are read).
                if coordinator.data is not None:
                    await self._async_on_readings(key[0], key[1], coordinator.data)
        await self.async_drive()

    @callback
    def async_stop(self) -> None:
        """Stop the test timer (on unload); the bells stay as they are."""
        if self._test_timer is not None:
            self._test_timer()
            self._test_timer = None

    def _save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 0)

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "groups": {group_id: group.group.as_dict() for group_id, group in self.groups.items()},
            "manual": {cid: sorted(c.manual) for cid, (_g, c) in self.controllers.items() if c.manual},
            "episodes": dict(self._episodes),
        }

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` after every change (entities refresh their state)."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners.notify()

    # --- field inputs ---------------------------------------------------------------------------------

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
                poll_started = self.entry.runtime_data.coordinators[(gateway_id, tier)].poll_started
                if self._update_controller(controller, reading, poll_started):
                    touched.add(group.id)
        now = dt_util.utcnow()
        for group_id in touched:
            group = self.groups[group_id]
            active = [i for i in group.inputs if self._active.get(i)]
            group.group.update_readable(i for i in group.inputs if not self._readable.get(i))
            transitions = group.group.update_inputs(active, now)
            transitions += group.group.update_faults(group.faults(), now)
            self._after(group, transitions, Source.FIELD)
        await self.async_drive()
        if touched:
            self._notify()

    def _update_controller(self, controller: Controller, reading: DeviceReading, poll_started: float) -> bool:
        """Take a controller's availability, faults and bell read-back; True when something changed."""
        before = (controller.online, controller.unavailable, set(controller.faults), controller.confirmed)
        controller.online = reading.available
        # A controller answering garbage is a fault of its own, not the same as one that is silent.
        controller.unavailable = str(reading.fault) if reading.fault is not None else "offline"
        if reading.available:
            values = reading.values
            for key in ("mains_fault", "battery_fault"):
                if key in values:
                    (controller.faults.add if values[key] else controller.faults.discard)(key)
            for n in range(1, controller.bells + 1):
                key = f"bell_circuit_fault_{n}"
                if key in values:
                    (controller.faults.add if values[key] else controller.faults.discard)(key)
            bells = tuple(
                bool(values[f"bell_{n}"]) for n in range(1, controller.bells + 1) if f"bell_{n}" in values
            )
            if (
                len(bells) == controller.bells
                and controller.confirmed is not None
                and bells != controller.confirmed
                # A read that started before our last confirmed write shows the coils as they were then.
                and poll_started > controller.confirmed_at
            ):
                # The coils changed behind our back (panel, power cycle): drive them again.
                LOGGER.warning(
                    "Bells of %s read %s, expected %s: re-asserting",
                    controller.id,
                    bells,
                    controller.confirmed,
                )
                controller.confirmed = None
        return before != (controller.online, controller.unavailable, controller.faults, controller.confirmed)

    # --- bells ----------------------------------------------------------------------------------------

    async def async_pause_bells(self, group_id: str, paused: bool) -> None:
        """Pause a sounding group's bells while its evacuation message plays (GB 50116 §4.8.9), or resume.

        Only the alternation uses this; the alarm stays latched, and reset or silence clear the pause.
        """
        (self._paused.add if paused else self._paused.discard)(group_id)
        await self.async_drive([self.groups[group_id]])
        self._notify()

    def _wanted(self, group: GroupRuntime, controller: Controller) -> tuple[bool, ...]:
        on = group.group.bells_on(dt_util.utcnow()) and group.id not in self._paused
        return tuple(on or n in controller.manual for n in range(1, controller.bells + 1))

    async def async_drive(self, groups: Iterable[GroupRuntime] | None = None) -> None:
        """Bring every controller's bells to what its group wants, in parallel across controllers."""
        now = time.monotonic()
        jobs = [
            self._async_write(group, controller)
            for group in (self.groups.values() if groups is None else groups)
            for controller in group.controllers
            if controller.confirmed != self._wanted(group, controller) and now >= controller.retry_at
        ]
        if jobs:
            await asyncio.gather(*jobs)

    async def _async_write(self, group: GroupRuntime, controller: Controller) -> None:
        async with controller.lock:
            want = self._wanted(group, controller)
            if controller.confirmed == want:
                return  # another task confirmed it while this one waited
            poller = self.entry.runtime_data.pollers[controller.device.gateway]
            try:
                await poller.client.async_write_coils(
                    controller.device.unit, controller.address, want, verify=True
                )
            except ModbusError as err:
                controller.confirmed = None
                controller.failures += 1
                delay = RETRY_BACKOFF[min(controller.failures, len(RETRY_BACKOFF)) - 1]
                controller.retry_at = time.monotonic() + delay
                if controller.failures == 1:
                    LOGGER.warning("Bells of %s not confirmed, retrying: %s", controller.id, err)
                    self._audit(
                        group,
                        "bells_unconfirmed",
                        Source.SYSTEM,
                        Outcome.FAILED,
                        controller=controller.id,
                        error=str(err),
                    )
                    self._refresh_faults(group)
                return
            if controller.failures:
                self._audit(
                    group,
                    "bells_confirmed",
                    Source.SYSTEM,
                    controller=controller.id,
                    attempts=controller.failures + 1,
                )
            failed = controller.failures
            controller.confirmed, controller.failures, controller.retry_at = want, 0, 0.0
            controller.confirmed_at = time.monotonic()
            if failed:
                self._refresh_faults(group)

    def _refresh_faults(self, group: GroupRuntime) -> None:
        self._after(group, group.group.update_faults(group.faults(), dt_util.utcnow()), Source.SYSTEM)
        self._notify()

    # --- transitions, audit, incidents, repairs -------------------------------------------------------

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
        self.entry.runtime_data.audit.record(
            Category.LINKAGE,
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
                self._track_incident(group, t, context)
            elif t.cause == "reset":
                # The episode ends; its incident stays open for the duty room to close.
                self._episodes.pop(group.id, None)
        if transitions:
            self._save()
        self._update_issue(group)

    def _place(self, group: GroupRuntime, ref: InputRef | None) -> tuple[str | None, int | None]:
        """Building and floor of an input (a park-wide group's input is in its device's building)."""
        if ref is None:
            return group.building, None
        return group.building or self.profile.devices[ref.device_id].building, ref.floor

    def _track_incident(self, group: GroupRuntime, transition: Transition, context: Context | None) -> None:
        """A new alarm episode opens a fire incident; a new input while latched moves it to the new place.

        A new episode (the first alarm after a reset) always opens a new incident, even while the last
        episode's is still open, so ``smart_park_incident_opened`` announces every fire.
        """
        incidents = self.entry.runtime_data.incidents
        first = next((group.inputs[i] for i in transition.inputs if i in group.inputs), None)
        building, floor = self._place(group, first)
        detail = {"group": group.id, "inputs": sorted(group.group.seen)}
        if (episode := self._episodes.get(group.id)) is not None:
            current = incidents.get(episode)
            if current is not None and current.is_open:
                if first is not None:
                    incidents.update_place(
                        current.id, building=building, floor=floor, detail=detail, context=context
                    )
                return
            # Its incident was closed while the alarm is still latched: the bells ring, so open another.
        opened = incidents.open(
            IncidentKind.FIRE,
            source=f"linkage:{group.id}",
            building=building,
            floor=floor,
            detail=detail,
            context=context,
            merge=False,
        )
        self._episodes[group.id] = opened.id

    def _update_issue(self, group: GroupRuntime) -> None:
        faults = frozenset(group.faults())
        if faults == group.issue_faults:
            return
        group.issue_faults = faults
        issue_id = f"{self.profile.id}_linkage_{group.id}_fault"
        if faults:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key="linkage_fault",
                translation_placeholders={"group": group.name, "faults": ", ".join(sorted(faults))},
            )
            group.raised_issue = True
        elif group.raised_issue:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            group.raised_issue = False

    @callback
    def async_clear_issues(self) -> None:
        """Remove the repair issues (on unload)."""
        for group in self.groups.values():
            if group.raised_issue:
                ir.async_delete_issue(self.hass, DOMAIN, f"{self.profile.id}_linkage_{group.id}_fault")
                group.raised_issue = False
            group.issue_faults = frozenset()

    # --- operator commands ----------------------------------------------------------------------------

    def _refuse(
        self,
        target_group: GroupRuntime | None,
        command: str,
        reason: str,
        context: Context | None,
        **placeholders: str,
    ) -> ServiceValidationError:
        self._audit(
            target_group,
            command,
            source_of(context),
            Outcome.REFUSED,
            context=context,
            reason=reason,
            **placeholders,
        )
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"linkage_{reason}",
            translation_placeholders={"command": command, **placeholders},
        )

    async def async_authorise(
        self, command: str, group: GroupRuntime | None, context: Context | None, pin: str | None
    ) -> None:
        """Allow HA admins, or anyone with the right PIN; audit and raise a translated refusal otherwise."""
        if context is not None and context.user_id:
            user = await self.hass.auth.async_get_user(context.user_id)
            if user is not None and user.is_admin:
                return
        if pin is None:
            raise self._refuse(
                group, command, "admin_or_pin_required" if self.pin_hash else "admin_required", context
            )
        if self.pin_hash is None:
            raise self._refuse(group, command, "no_pin_configured", context)
        now = time.monotonic()
        self._pin_failures = [t for t in self._pin_failures if now - t < PIN_LOCKOUT]
        if len(self._pin_failures) >= PIN_ATTEMPTS:
            raise self._refuse(group, command, "pin_locked", context)
        if not await self.hass.async_add_executor_job(verify_pin, pin, self.pin_hash):
            self._pin_failures.append(now)
            raise self._refuse(group, command, "wrong_pin", context)
        self._pin_failures.clear()

    def resolve_groups(
        self, group_id: str | None, command: str, context: Context | None
    ) -> list[GroupRuntime]:
        """The named group, or every group; a translated error for an unknown one."""
        if group_id is None:
            return list(self.groups.values())
        if group_id not in self.groups:
            raise self._refuse(
                None, command, "unknown_group", context, group=group_id, groups=", ".join(self.groups)
            )
        return [self.groups[group_id]]

    async def _async_command(
        self,
        command: str,
        groups: list[GroupRuntime],
        context: Context | None,
        pin: str | None,
        apply: Callable[[LinkageGroup, datetime, str | None], list[Transition]],
        *,
        skip: Callable[[LinkageGroup], bool] | None = None,
    ) -> None:
        await self.async_authorise(command, groups[0] if len(groups) == 1 else None, context, pin)
        user_id = context.user_id if context else None
        # Check every group first: a command refused for one group changes none (all or nothing).
        chosen = [g for g in groups if skip is None or not skip(g.group)] if len(groups) > 1 else groups
        if not chosen:
            raise self._refuse(None, command, "nothing_to_do", context)
        now = dt_util.utcnow()
        snapshots = [(g, g.group.as_dict(), g.group.testing_until) for g in chosen]
        results: list[tuple[GroupRuntime, list[Transition]]] = []
        try:
            for group in chosen:
                results.append((group, apply(group.group, now, user_id)))
        except LinkageRefused as err:
            for group, data, testing in snapshots:
                group.group.restore(data)
                group.group.testing_until = testing
            failed = chosen[len(results)]
            raise self._refuse(
                failed, command, err.reason, context, group=failed.name, **err.placeholders
            ) from None
        for group, transitions in results:
            if command in ("silence", "reset"):
                self._paused.discard(group.id)
            if transitions and all(t.old is t.new for t in transitions):
                # A test changes no state but is still recorded.
                self._audit(
                    group,
                    command,
                    source_of(context),
                    context=context,
                    until=str(group.group.testing_until),
                )
            else:
                self._after(group, transitions, source_of(context), context)
        await self.async_drive(chosen)
        self._notify()

    async def async_silence(self, group_id: str | None, context: Context | None, pin: str | None) -> None:
        """Stop the bells of the sounding groups (or one group); alarms stay latched."""
        groups = self.resolve_groups(group_id, "silence", context)
        await self._async_command(
            "silence",
            groups,
            context,
            pin,
            lambda g, now, user: g.silence(now, user),
            skip=lambda g: not g.bells_on(dt_util.utcnow()) or not g.latched,
        )

    async def async_reset(self, group_id: str | None, context: Context | None, pin: str | None) -> None:
        """Return latched groups to normal; refused while an input is active or unreadable."""
        groups = self.resolve_groups(group_id, "reset", context)
        await self._async_command(
            "reset",
            groups,
            context,
            pin,
            lambda g, now, user: g.reset(now, user),
            skip=lambda g: not g.latched and not g.seen,
        )

    async def async_test(
        self, group_id: str | None, duration: float | None, context: Context | None, pin: str | None
    ) -> None:
        """Sound the bells for ``duration`` seconds (a drill or a check)."""
        groups = self.resolve_groups(group_id, "test", context)
        seconds = self.test_duration if duration is None else duration
        until = dt_util.utcnow() + timedelta(seconds=seconds)
        await self._async_command(
            "test",
            groups,
            context,
            pin,
            lambda g, now, user: g.start_test(until, now, user),
            skip=lambda g: g.latched or g.disabled,
        )
        if self._test_timer is not None:
            self._test_timer()
        self._test_timer = async_call_later(self.hass, seconds, self._async_test_ended)

    async def _async_test_ended(self, _now: datetime) -> None:
        self._test_timer = None
        await self.async_drive()
        self._notify()

    async def async_set_disabled(
        self, group_id: str, disabled: bool, context: Context | None, pin: str | None = None
    ) -> None:
        """Disable (maintenance) or enable a group's linkage."""
        groups = self.resolve_groups(group_id, "disable" if disabled else "enable", context)
        await self._async_command(
            "disable" if disabled else "enable",
            groups,
            context,
            pin,
            lambda g, now, user: g.set_disabled(disabled, now, user),
        )

    async def async_set_manual(
        self, controller_id: str, channel: int, on: bool, context: Context | None
    ) -> None:
        """Sound or stop one bell by hand; stopping a bell the alarm sounds is refused (silence instead)."""
        group, controller = self.controllers[controller_id]
        command = "bell_on" if on else "bell_off"
        # Sounding one bell is a test of it: the same people as for a bell test.
        await self.async_authorise(command, group, context, None)
        if not on and group.group.bells_on(dt_util.utcnow()):
            raise self._refuse(group, command, "bells_sounding", context, group=group.name)
        (controller.manual.add if on else controller.manual.discard)(channel)
        self._audit(
            group, command, source_of(context), context=context, controller=controller_id, channel=channel
        )
        self._save()
        await self.async_drive([group])
        self._notify()

    def diagnostics(self) -> dict[str, Any]:
        """Each group's state and each controller's bells, for diagnostics (no PIN, not even its hash)."""
        return {
            "pin_configured": self.pin_hash is not None,
            "groups": {
                group_id: {
                    **group.group.as_dict(),
                    "state": group.group.state.value,
                    "active": sorted(group.group.active),
                    "unreadable": sorted(group.group.unreadable),
                    "faults": sorted(group.faults()),
                    "paused": group_id in self._paused,
                    "inputs": len(group.inputs),
                    "controllers": {
                        c.id: {
                            "confirmed": list(c.confirmed) if c.confirmed is not None else None,
                            "failures": c.failures,
                            "manual": sorted(c.manual),
                            "online": c.online,
                        }
                        for c in group.controllers
                    },
                }
                for group_id, group in self.groups.items()
            },
        }

    def bell_state(self, controller_id: str, channel: int) -> bool | None:
        """A bell's confirmed state (None while unconfirmed)."""
        _group, controller = self.controllers[controller_id]
        if controller.confirmed is None:
            return None
        return controller.confirmed[channel - 1]


async def async_setup_linkage(hass: HomeAssistant, entry: SmartParkConfigEntry) -> FireLinkage:
    """Create the park's linkage, restore it and re-assert the bells."""
    linkage = FireLinkage(hass, entry)
    await linkage.async_load()
    await linkage.async_start()
    entry.async_on_unload(linkage.async_stop)
    entry.async_on_unload(linkage.async_clear_issues)
    return linkage


# --- actions --------------------------------------------------------------------------------------------

GROUP_FIELDS = {**ENTRY_FIELD, vol.Optional(ATTR_GROUP): cv.string, vol.Optional(ATTR_PIN): cv.string}
TEST_SCHEMA = vol.Schema(
    {**GROUP_FIELDS, vol.Optional(ATTR_DURATION): vol.All(vol.Coerce(float), vol.Range(min=1, max=600))}
)


def _linkage(call: ServiceCall) -> FireLinkage:
    return call_entry(call).runtime_data.linkage


async def _async_silence(call: ServiceCall) -> None:
    await _linkage(call).async_silence(call.data.get(ATTR_GROUP), call.context, call.data.get(ATTR_PIN))


async def _async_reset(call: ServiceCall) -> None:
    await _linkage(call).async_reset(call.data.get(ATTR_GROUP), call.context, call.data.get(ATTR_PIN))


async def _async_test(call: ServiceCall) -> None:
    await _linkage(call).async_test(
        call.data.get(ATTR_GROUP), call.data.get(ATTR_DURATION), call.context, call.data.get(ATTR_PIN)
    )


def async_register_services(hass: HomeAssistant) -> None:
    """Register silence_alarm, reset_alarm and test_bells."""
    hass.services.async_register(DOMAIN, "silence_alarm", _async_silence, schema=vol.Schema(GROUP_FIELDS))
    hass.services.async_register(DOMAIN, "reset_alarm", _async_reset, schema=vol.Schema(GROUP_FIELDS))
    hass.services.async_register(DOMAIN, "test_bells", _async_test, schema=TEST_SCHEMA)
