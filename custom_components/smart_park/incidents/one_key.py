"""One-key alarm terminals (一键报警): a press calls the duty room; its acknowledgement lights a lamp.

A terminal is a stand-alone unit (``alarm_active``, ``press_count``, ``cancel_count``, ``acknowledge_lamp``)
or a channel of an IO module whose ``channel_map`` entry says ``function: one_key_alarm`` (``input_n`` is the
button, ``output_n`` the lamp).

- A press is seen when the press counter goes up, so a press released between two polls is not lost; an IO
  channel has no counter and is edge-detected on its input. What the polls saw is stored: after a restart the
  first reading is compared with the last one before it, so a press while HA was down is still a press (on
  the very first setup the first reading is only the baseline). A counter that falls back means the terminal
  restarted: presses cannot be counted then, so an active alarm without an open incident counts as one.
- A press opens (or repeats) a ``one_key`` incident for the terminal and fires the event entity's ``pressed``;
  a cancel at the terminal fires ``cancelled`` and notes ``cancelled_at`` on the incident, which stays open
  for the duty room to close.
- The lamp follows the terminal's incident: on while it is acknowledged, off otherwise. Every write is
  verified by read-back; a failed one is audited, marked on the incident, and retried after each poll of the
  terminal until confirmed, so the duty room never believes the caller saw an acknowledgement that was not
  shown. A lamp read back in the wrong state (a terminal that restarted) is driven again.

The terminals themselves (which devices and channels are terminals, their counters) are in :mod:`.terminals`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Outcome, Source
from ..const import DOMAIN, LOGGER
from ..engine.catalogue import Tier
from ..engine.modbus import DeviceReading, ModbusError
from ..hooks import async_subscribe_polls
from .manager import IncidentManager
from .model import Incident, IncidentKind
from .terminals import Terminal, counter_step, find_terminals

if TYPE_CHECKING:
    from ..data import ParkPolls, SmartParkConfigEntry

EVENT_PRESSED: Final = "pressed"
EVENT_CANCELLED: Final = "cancelled"
EVENT_TYPES: Final = [EVENT_PRESSED, EVENT_CANCELLED]
STORAGE_VERSION: Final = 1
PENDING_EVENTS: Final = 8

type TerminalListener = Callable[[str, dict[str, Any]], None]


class OneKeyAlarms:
    """The one-key alarm terminals of a park."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        polls: ParkPolls,
        incidents: IncidentManager,
        audit: AuditLog,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.polls = polls
        self.incidents = incidents
        self.audit = audit
        self.terminals = find_terminals(polls.profile.devices)
        self._by_device: dict[str, list[Terminal]] = {}
        for terminal in self.terminals.values():
            self._by_device.setdefault(terminal.device.id, []).append(terminal)
        self._listeners: dict[str, list[TerminalListener]] = {}
        # Presses seen at setup, before the event entities exist: delivered when they subscribe (bounded,
        # for an entity the user disabled never subscribes).
        self._pending: dict[str, deque[tuple[str, dict[str, Any]]]] = {}
        # Counters and alarm states last seen, so that presses while HA was down are not lost.
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.one_key", atomic_writes=True
        )

    def _baselines(self) -> dict[str, Any]:
        return {
            key: {"presses": t.presses, "cancels": t.cancels, "alarm_on": t.alarm_on}
            for key, t in self.terminals.items()
        }

    async def async_load(self) -> None:
        """Restore what the polls before the restart saw."""
        stored = await self._store.async_load() or {}
        for key, seen in stored.get("terminals", {}).items():
            if (terminal := self.terminals.get(key)) is not None:
                terminal.presses, terminal.cancels = seen.get("presses"), seen.get("cancels")
                terminal.alarm_on = seen.get("alarm_on")

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_save({"terminals": self._baselines()})

    def diagnostics(self) -> dict[str, Any]:
        """What each terminal's last polls saw and what its lamp should show."""
        return {
            key: {
                "presses": terminal.presses,
                "cancels": terminal.cancels,
                "alarm_on": terminal.alarm_on,
                "lamp_wanted": terminal.lamp_wanted,
                "lamp_seen": terminal.lamp_seen,
                "lamp_failures": terminal.lamp_failures,
            }
            for key, terminal in self.terminals.items()
        }

    # --- event entities -------------------------------------------------------------------------------

    @callback
    def async_subscribe_events(self, terminal_key: str, listener: TerminalListener) -> CALLBACK_TYPE:
        """Call ``listener(event_type, attributes)`` on each press or cancel of a terminal."""
        listeners = self._listeners.setdefault(terminal_key, [])
        listeners.append(listener)
        for event_type, attributes in self._pending.pop(terminal_key, ()):
            listener(event_type, attributes)

        @callback
        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    def _emit(self, terminal: Terminal, event_type: str, attributes: dict[str, Any]) -> None:
        if not (listeners := self._listeners.get(terminal.key)):
            self._pending.setdefault(terminal.key, deque(maxlen=PENDING_EVENTS)).append(
                (event_type, attributes)
            )
            return
        for listener in list(listeners):
            listener(event_type, attributes)

    # --- readings -------------------------------------------------------------------------------------

    @callback
    def handle(self, readings: Mapping[str, DeviceReading]) -> list[Terminal]:
        """React to one poll's readings; return the terminals whose lamp must be (re)written."""
        to_write: list[Terminal] = []
        changed = False
        for device_id, reading in readings.items():
            if not reading.available:
                continue
            for terminal in self._by_device.get(device_id, ()):
                changed |= self._handle_terminal(terminal, reading.values)
                if terminal.needs_lamp_write:
                    to_write.append(terminal)
        if changed:
            self._store.async_delay_save(lambda: {"terminals": self._baselines()}, 0)
        return to_write

    def _handle_terminal(self, terminal: Terminal, values: Mapping[str, Any]) -> bool:
        """Detect presses and cancels; return whether the stored baseline changed."""
        before = (terminal.presses, terminal.cancels, terminal.alarm_on)
        restarted = False
        if terminal.press_key is not None and terminal.press_key in values:
            count = int(values[terminal.press_key])
            if terminal.presses is not None:
                step = counter_step(terminal.presses, count)
                if step:
                    self._pressed(terminal, step, {"press_count": count})
                restarted = step is None
            terminal.presses = count
        if terminal.cancel_key is not None and terminal.cancel_key in values:
            count = int(values[terminal.cancel_key])
            if terminal.cancels is not None and counter_step(terminal.cancels, count):
                self._cancelled(terminal, count)
            terminal.cancels = count
        if terminal.alarm_key in values:
            active = bool(values[terminal.alarm_key])
            was_active, terminal.alarm_on = terminal.alarm_on, active
            if terminal.press_key is None:
                if active and was_active is False:
                    self._pressed(terminal, 1, {"input": terminal.alarm_key})
            elif (
                restarted and active and self.incidents.find_open(IncidentKind.ONE_KEY, terminal.key) is None
            ):
                # The counter fell back: presses cannot be counted, but the alarm shows there was one.
                self._pressed(terminal, 1, {"press_count": terminal.presses, "terminal_restarted": True})
        if terminal.lamp_key in values:
            terminal.lamp_seen = bool(values[terminal.lamp_key])
        return before != (terminal.presses, terminal.cancels, terminal.alarm_on)

    def _pressed(self, terminal: Terminal, presses: int, detail: dict[str, Any]) -> None:
        incident = self.incidents.open(
            IncidentKind.ONE_KEY,
            source=terminal.key,
            building=terminal.building,
            floor=terminal.floor,
            enterprise=terminal.enterprise,
            detail={"pressed_at": dt_util.utcnow().isoformat(), **detail},
        )
        self.audit.record(
            Category.DEVICE,
            "alarm_button_pressed",
            source=Source.FIELD,
            target=terminal.key,
            presses=presses,
            incident_id=incident.id,
            **detail,
        )
        self._emit(terminal, EVENT_PRESSED, {"incident_id": incident.id, "presses": presses, **detail})

    def _cancelled(self, terminal: Terminal, count: int) -> None:
        incident = self.incidents.find_open(IncidentKind.ONE_KEY, terminal.key)
        if incident is not None:
            # The caller withdrew the call; the incident stays open until the duty room closes it.
            self.incidents.update_detail(
                incident.id, {"cancelled_at": dt_util.utcnow().isoformat(), "cancel_count": count}
            )
        incident_id = incident.id if incident is not None else None
        self.audit.record(
            Category.DEVICE,
            "alarm_cancelled",
            source=Source.FIELD,
            target=terminal.key,
            cancel_count=count,
            incident_id=incident_id,
        )
        self._emit(terminal, EVENT_CANCELLED, {"incident_id": incident_id, "cancel_count": count})

    async def async_hook(self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        """Coordinator hook: detect presses in the poll task; lamp writes run beside it, not in it."""
        for terminal in self.handle(readings):
            self._schedule_lamp(terminal)

    async def async_start(self) -> None:
        """Compare the first polls (run before the hooks existed) with the stored ones; then follow."""
        if not self.terminals:
            return
        await self.async_load()
        self.entry.async_on_unload(self.async_flush)
        for terminal in self.terminals.values():
            # After a restart an acknowledged incident's lamp is asserted again.
            terminal.lamp_wanted = self._lamp_wanted(terminal)
        gateways = {terminal.device.gateway for terminal in self.terminals.values()}
        await async_subscribe_polls(
            self.polls.coordinators,
            lambda key: key[0] in gateways,
            self.async_hook,
            # The baseline only: lamps are scheduled below, once every terminal's state is known.
            replay=lambda _gateway_id, _tier, readings: self.handle(readings),
        )
        for terminal in self.terminals.values():
            if terminal.needs_lamp_write or (terminal.lamp_wanted and terminal.lamp_seen is None):
                self._schedule_lamp(terminal)
        self.entry.async_on_unload(self.incidents.async_subscribe(self._on_incident))

    # --- the acknowledge lamp -------------------------------------------------------------------------

    def _lamp_wanted(self, terminal: Terminal) -> bool:
        incident = self.incidents.find_open(IncidentKind.ONE_KEY, terminal.key)
        return incident is not None and incident.acknowledged_at is not None

    @callback
    def _on_incident(self, incident: Incident) -> None:
        terminal = self.terminals.get(incident.source)
        if incident.kind is not IncidentKind.ONE_KEY or terminal is None:
            return
        wanted = self._lamp_wanted(terminal)
        if wanted != terminal.lamp_wanted:
            terminal.lamp_wanted = wanted
            self._schedule_lamp(terminal)

    def _schedule_lamp(self, terminal: Terminal) -> None:
        if terminal.lock.locked():
            return  # the running write checks what is wanted again when it finishes
        self.entry.async_create_task(
            self.hass, self._async_drive_lamp(terminal), f"smart_park lamp {terminal.key}", eager_start=True
        )

    async def _async_drive_lamp(self, terminal: Terminal) -> None:
        """Write the lamp until it matches what is wanted, or until a write fails (the next poll retries)."""
        if terminal.lock.locked():
            return
        poller = self.polls.pollers[terminal.device.gateway]
        async with terminal.lock:
            while True:
                wanted = terminal.lamp_wanted
                # The incident the lamp answers (the one just closed, when turning it off).
                incident = self.incidents.latest(IncidentKind.ONE_KEY, terminal.key)
                try:
                    await poller.async_write_point(terminal.device.id, terminal.lamp_key, wanted)
                except ModbusError as err:
                    self._lamp_failed(terminal, wanted, incident, err)
                    return
                attempts = terminal.lamp_failures + 1
                if terminal.lamp_failures:
                    LOGGER.info("Acknowledge lamp of %s confirmed after %s attempts", terminal.key, attempts)
                terminal.lamp_seen, terminal.lamp_failures = wanted, 0
                self.audit.record(
                    Category.INCIDENT,
                    "acknowledge_lamp",
                    source=Source.SYSTEM,
                    target=terminal.key,
                    on=wanted,
                    attempts=attempts,
                    incident_id=incident.id if incident else None,
                )
                if incident is not None:
                    lamp = {
                        "lamp": "on" if wanted else "off",
                        "lamp_confirmed_at": dt_util.utcnow().isoformat(),
                    }
                    self.incidents.update_detail(incident.id, lamp)
                if terminal.lamp_wanted == wanted:
                    return

    def _lamp_failed(
        self, terminal: Terminal, wanted: bool, incident: Incident | None, err: ModbusError
    ) -> None:
        terminal.lamp_failures += 1
        terminal.lamp_seen = None
        if terminal.lamp_failures > 1:
            return  # audited and marked once per failure streak, retried quietly after each poll
        LOGGER.warning("Acknowledge lamp of %s not confirmed, retrying: %s", terminal.key, err)
        self.audit.record(
            Category.INCIDENT,
            "acknowledge_lamp",
            source=Source.SYSTEM,
            outcome=Outcome.FAILED,
            target=terminal.key,
            on=wanted,
            error=str(err),
            incident_id=incident.id if incident else None,
        )
        if incident is not None:
            self.incidents.update_detail(incident.id, {"lamp": "failed", "lamp_error": str(err)})


async def async_setup_one_key(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    polls: ParkPolls,
    incidents: IncidentManager,
    audit: AuditLog,
) -> OneKeyAlarms:
    """Find the park's terminals, take the first polls as baseline and follow the next ones."""
    alarms = OneKeyAlarms(hass, entry, polls, incidents, audit)
    await alarms.async_start()
    return alarms
