"""Incidents: a fire alarm, a one-key alarm or a gas alarm, from opening through acknowledgement to closing.

One :class:`IncidentManager` per park keeps the incidents in an HA ``Store`` (saved on the next loop turn
after every change, so a crash loses nothing that was acted on), audits every step with the user who took
it, fires ``smart_park_incident_opened`` / ``_updated`` / ``_acknowledged`` / ``_closed`` events carrying the
incident (blueprints trigger on them) and tells subscribers (the open-incidents sensor, the one-key terminals,
the websocket API).

Opening is idempotent per kind and source: a second alarm from the same terminal or detector while its
incident is still open updates that incident (a repeat count and the merged detail) instead of opening
another, so the duty room sees one incident per place, not one per press. Every such update fires
``_updated``, so a notification built on the events is never silent about an alarm. The fire-bell linkage
opens one incident per alarm episode (``merge=False``: a fire after a reset is a new incident even while the
last one is open) and moves it to each new place while the alarm is latched
(:meth:`IncidentManager.update_place`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, NoReturn

import probatio as vol
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .audit import Category, Outcome, Source, source_of
from .catalogue import Tier
from .const import DOMAIN, LOGGER
from .entry import ATTR_CONFIG_ENTRY_ID, ENTRY_FIELD, call_entry, loaded_entries
from .listeners import Listeners
from .modbus import PRIORITY, DeviceReading, ModbusError, ReadBlock, decode_point

if TYPE_CHECKING:
    from .coordinator import SmartParkConfigEntry
    from .profile import Device, ParkProfile

STORAGE_VERSION: Final = 1
# Saved on the next loop turn (as the audit log): a burst of changes is one write, nothing waits for a timer.
SAVE_DELAY: Final = 0
# Closed incidents kept for the dashboard and the websocket API; open ones are never dropped.
MAX_CLOSED: Final = 1000
DIAGNOSTICS_CLOSED: Final = 20

EVENT_INCIDENT_OPENED: Final = f"{DOMAIN}_incident_opened"
# An open incident's alarm came again or reached a new place; the data carries ``change``.
EVENT_INCIDENT_UPDATED: Final = f"{DOMAIN}_incident_updated"
CHANGE_REPEAT: Final = "repeat"  # the same source alarmed again
CHANGE_NEW_INPUT: Final = "new_input"  # another input of the same alarm (e.g. a call point on another floor)
EVENT_INCIDENT_ACKNOWLEDGED: Final = f"{DOMAIN}_incident_acknowledged"
EVENT_INCIDENT_CLOSED: Final = f"{DOMAIN}_incident_closed"
# Dispatched with (manager, incident) on every change of any park's incidents: websocket subscriptions
# without a park follow parks set up or reloaded after they subscribed.
SIGNAL_INCIDENT_CHANGED: Final = f"{DOMAIN}_incident_changed"

SERVICE_ACKNOWLEDGE: Final = "acknowledge_incident"
SERVICE_CLOSE: Final = "close_incident"
ATTR_INCIDENT_ID: Final = "incident_id"
SERVICE_SCHEMA = vol.Schema(ENTRY_FIELD).extend({vol.Required(ATTR_INCIDENT_ID): cv.string})

# The catalogue point whose rising edge opens a gas incident.
GAS_ALARM_KEY: Final = "gas_alarm"
GAS_CONCENTRATION_KEY: Final = "gas_concentration"
# Detail key of the highest concentration read while the gas incident is open.
GAS_PEAK_KEY: Final = "gas_concentration_peak"


class IncidentKind(StrEnum):
    """What happened."""

    FIRE = "fire"
    ONE_KEY = "one_key"
    GAS = "gas"


class IncidentState(StrEnum):
    """Where an incident is in its life (derived from its timestamps)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One incident; ``id`` is stable and unique per park, so the central platform can deduplicate."""

    id: str
    kind: IncidentKind
    # Deduplication key: "linkage:b1", a terminal's device id, "io1:3" for a channel, a detector's device id.
    source: str
    opened_at: datetime
    updated_at: datetime
    building: str | None = None
    floor: int | None = None
    enterprise: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    # How often the same source alarmed again while the incident was open.
    repeats: int = 0
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Not closed yet (acknowledged incidents are still open)."""
        return self.closed_at is None

    @property
    def state(self) -> IncidentState:
        """Open, acknowledged or closed."""
        if self.closed_at is not None:
            return IncidentState.CLOSED
        return IncidentState.ACKNOWLEDGED if self.acknowledged_at is not None else IncidentState.OPEN

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "source": self.source,
            "building": self.building,
            "floor": self.floor,
            "enterprise": self.enterprise,
            "opened_at": self.opened_at.isoformat(),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": _iso(self.acknowledged_at),
            "closed_by": self.closed_by,
            "closed_at": _iso(self.closed_at),
            "updated_at": self.updated_at.isoformat(),
            "repeats": self.repeats,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        """Read back a stored incident."""
        opened_at = datetime.fromisoformat(data["opened_at"])
        return cls(
            id=data["id"],
            kind=IncidentKind(data["kind"]),
            source=data["source"],
            building=data.get("building"),
            floor=data.get("floor"),
            enterprise=data.get("enterprise"),
            opened_at=opened_at,
            acknowledged_by=data.get("acknowledged_by"),
            acknowledged_at=_parse(data.get("acknowledged_at")),
            closed_by=data.get("closed_by"),
            closed_at=_parse(data.get("closed_at")),
            updated_at=_parse(data.get("updated_at")) or opened_at,
            repeats=int(data.get("repeats", 0)),
            detail=dict(data.get("detail") or {}),
        )


type IncidentListener = Callable[[Incident], None]


class IncidentManager:
    """The incidents of one park."""

    def __init__(self, hass: HomeAssistant, entry: SmartParkConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.profile: ParkProfile = entry.runtime_data.profile
        self.audit = entry.runtime_data.audit
        self._seq = 0
        # Insertion order is opening order; pruning drops the oldest closed ones.
        self._incidents: dict[str, Incident] = {}
        self._listeners: Listeners[[Incident]] = Listeners()
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.incidents", atomic_writes=True
        )

    # --- persistence ----------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the stored incidents (on setup)."""
        stored = await self._store.async_load()
        if stored:
            self._seq = int(stored.get("seq", 0))
            for item in stored.get("incidents", []):
                incident = Incident.from_dict(item)
                self._incidents[incident.id] = incident

    def _data_to_save(self) -> dict[str, Any]:
        return {"seq": self._seq, "incidents": [incident.as_dict() for incident in self._incidents.values()]}

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_save(self._data_to_save())

    def _prune(self) -> None:
        closed = [incident.id for incident in self._incidents.values() if not incident.is_open]
        for incident_id in closed[: max(0, len(closed) - MAX_CLOSED)]:
            del self._incidents[incident_id]

    def _commit(self, incident: Incident) -> None:
        """Keep, save and announce a new or changed incident."""
        self._incidents[incident.id] = incident
        self._prune()
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._listeners.notify(incident)
        async_dispatcher_send(self.hass, SIGNAL_INCIDENT_CHANGED, self, incident)

    # --- queries --------------------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident | None:
        """An incident by id (None when unknown or pruned)."""
        return self._incidents.get(incident_id)

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet, oldest first."""
        return [incident for incident in self._incidents.values() if incident.is_open]

    def incidents(self, include_closed: bool = True) -> list[Incident]:
        """All kept incidents (or only open ones), oldest first."""
        return list(self._incidents.values()) if include_closed else self.open_incidents()

    def find_open(self, kind: IncidentKind, source: str) -> Incident | None:
        """The open incident of a kind and source, if any."""
        for incident in self._incidents.values():
            if incident.is_open and incident.kind is kind and incident.source == source:
                return incident
        return None

    def latest(self, kind: IncidentKind, source: str) -> Incident | None:
        """The newest incident of a kind and source, open or closed."""
        for incident in reversed(self._incidents.values()):
            if incident.kind is kind and incident.source == source:
                return incident
        return None

    def describe(self, incident: Incident) -> dict[str, Any]:
        """The incident as events, the websocket API and diagnostics show it: stored fields plus names."""
        building = self.profile.buildings.get(incident.building) if incident.building else None
        enterprise = self.profile.enterprises.get(incident.enterprise) if incident.enterprise else None
        return {
            **incident.as_dict(),
            "state": incident.state.value,
            "park_id": self.profile.id,
            "building_name": building.name if building else None,
            "enterprise_name": enterprise.name if enterprise else None,
        }

    def diagnostics(self) -> dict[str, Any]:
        """Counts, every open incident and the newest closed ones."""
        closed = [incident for incident in self._incidents.values() if not incident.is_open]
        return {
            "seq": self._seq,
            "open": [self.describe(incident) for incident in self.open_incidents()],
            "closed_kept": len(closed),
            "last_closed": [self.describe(incident) for incident in closed[-DIAGNOSTICS_CLOSED:]],
        }

    @callback
    def async_subscribe(self, listener: IncidentListener) -> CALLBACK_TYPE:
        """Call ``listener`` with every opened or changed incident until the returned callback is called."""
        return self._listeners.add(listener)

    # --- changes --------------------------------------------------------------------------------------

    @callback
    def open(
        self,
        kind: IncidentKind,
        *,
        source: str,
        building: str | None = None,
        floor: int | None = None,
        enterprise: str | None = None,
        detail: dict[str, Any] | None = None,
        context: Context | None = None,
        merge: bool = True,
    ) -> Incident:
        """Open an incident, or return the open one of this kind and source with its repeat count bumped.

        Call it when an alarm starts (an edge), not on every poll that still sees it: each repeat is audited
        and fires ``smart_park_incident_updated``. With ``merge=False`` a new incident is opened even while
        one of this source is open (a new alarm episode). Without a context the alarm was seen at a field
        device.
        """
        now = dt_util.utcnow()
        audit_source = Source.FIELD if context is None else source_of(context)
        if merge and (existing := self.find_open(kind, source)) is not None:
            incident = replace(
                existing,
                repeats=existing.repeats + 1,
                updated_at=now,
                detail={**existing.detail, **(detail or {})},
            )
            self._commit(incident)
            self.audit.record(
                Category.INCIDENT,
                "open_incident",
                source=audit_source,
                target=incident.id,
                context=context,
                kind=kind.value,
                origin=source,
                repeats=incident.repeats,
            )
            self._fire_updated(incident, CHANGE_REPEAT, context)
            return incident
        self._seq += 1
        incident = Incident(
            id=f"{self.profile.id}-i{self._seq}",
            kind=kind,
            source=source,
            building=building,
            floor=floor,
            enterprise=enterprise,
            opened_at=now,
            updated_at=now,
            detail=dict(detail or {}),
        )
        self._commit(incident)
        self.audit.record(
            Category.INCIDENT,
            "open_incident",
            source=audit_source,
            target=incident.id,
            context=context,
            kind=kind.value,
            origin=source,
            building=building,
            floor=floor,
            enterprise=enterprise,
        )
        self.hass.bus.async_fire(EVENT_INCIDENT_OPENED, self.describe(incident), context=context)
        return incident

    def _fire_updated(self, incident: Incident, change: str, context: Context | None) -> None:
        self.hass.bus.async_fire(
            EVENT_INCIDENT_UPDATED, {**self.describe(incident), "change": change}, context=context
        )

    @callback
    def update_place(
        self,
        incident_id: str,
        *,
        building: str | None,
        floor: int | None,
        detail: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Incident | None:
        """Move an open incident to the place of a new input of its alarm; audited, fires ``_updated``.

        The incident's place becomes the newest one (where the fire is now); the detail keeps every input.
        Returns None (and changes nothing) when the incident is unknown or closed.
        """
        incident = self._incidents.get(incident_id)
        if incident is None or not incident.is_open:
            return None
        incident = replace(
            incident,
            building=building,
            floor=floor,
            detail={**incident.detail, **(detail or {})},
            updated_at=dt_util.utcnow(),
        )
        self._commit(incident)
        self.audit.record(
            Category.INCIDENT,
            "update_incident",
            source=Source.FIELD if context is None else source_of(context),
            target=incident.id,
            context=context,
            kind=incident.kind.value,
            origin=incident.source,
            building=building,
            floor=floor,
        )
        self._fire_updated(incident, CHANGE_NEW_INPUT, context)
        return incident

    def _refuse(self, action: str, incident_id: str, reason: str, context: Context | None) -> NoReturn:
        """Audit a refused action and raise its translated error (nothing else changes)."""
        self.audit.record(
            Category.INCIDENT,
            action,
            source=source_of(context),
            outcome=Outcome.REFUSED,
            target=incident_id,
            context=context,
            reason=reason,
        )
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=reason,
            translation_placeholders={ATTR_INCIDENT_ID: incident_id},
        )

    def _changeable(self, action: str, incident_id: str, context: Context | None) -> Incident:
        incident = self._incidents.get(incident_id)
        if incident is None:
            self._refuse(action, incident_id, "incident_not_found", context)
        if not incident.is_open:
            self._refuse(action, incident_id, "incident_already_closed", context)
        return incident

    @callback
    def acknowledge(self, incident_id: str, *, context: Context | None) -> Incident:
        """Record that the duty room took the incident on (user from ``context``)."""
        incident = self._changeable(SERVICE_ACKNOWLEDGE, incident_id, context)
        if incident.acknowledged_at is not None:
            self._refuse(SERVICE_ACKNOWLEDGE, incident_id, "incident_already_acknowledged", context)
        now = dt_util.utcnow()
        user_id = context.user_id if context else None
        incident = replace(incident, acknowledged_by=user_id, acknowledged_at=now, updated_at=now)
        self._commit(incident)
        self.audit.record(
            Category.INCIDENT,
            SERVICE_ACKNOWLEDGE,
            source=source_of(context),
            target=incident.id,
            context=context,
            kind=incident.kind.value,
        )
        self.hass.bus.async_fire(EVENT_INCIDENT_ACKNOWLEDGED, self.describe(incident), context=context)
        return incident

    @callback
    def close(self, incident_id: str, *, context: Context | None) -> Incident:
        """Close an incident (user from ``context``); an unacknowledged one may be closed too."""
        incident = self._changeable(SERVICE_CLOSE, incident_id, context)
        now = dt_util.utcnow()
        incident = replace(
            incident, closed_by=context.user_id if context else None, closed_at=now, updated_at=now
        )
        self._commit(incident)
        self.audit.record(
            Category.INCIDENT,
            SERVICE_CLOSE,
            source=source_of(context),
            target=incident.id,
            context=context,
            kind=incident.kind.value,
        )
        self.hass.bus.async_fire(EVENT_INCIDENT_CLOSED, self.describe(incident), context=context)
        return incident

    @callback
    def update_detail(self, incident_id: str, detail: Mapping[str, Any]) -> Incident | None:
        """Merge facts into an incident's detail (a cancel at the terminal, a lamp confirmed); not audited.

        Returns None (and changes nothing) when the incident is unknown.
        """
        incident = self._incidents.get(incident_id)
        if incident is None:
            return None
        incident = replace(incident, detail={**incident.detail, **detail}, updated_at=dt_util.utcnow())
        self._commit(incident)
        return incident


class GasAlarms:
    """Opens a gas incident when a detector's ``gas_alarm`` point becomes active, in the poll that saw it.

    The incident carries the concentration of that moment: the same poll's value when its tier reads it,
    else read from the detector at once, in the same task. (The normal tier's last value can be a poll
    interval old: a leak rising to 30 %LEL was recorded at 0.6.) While the incident is open, every poll of
    the concentration raises ``gas_concentration_peak`` when it is higher.
    """

    def __init__(self, entry: SmartParkConfigEntry, incidents: IncidentManager) -> None:
        self.entry = entry
        self.incidents = incidents
        self.audit = entry.runtime_data.audit
        self.detectors: dict[str, Device] = {
            device.id: device
            for device in entry.runtime_data.profile.devices.values()
            if any(point.key == GAS_ALARM_KEY for point in device.points)
        }
        # Last seen alarm state per detector; missing until first read (HA start is not an edge).
        self._active: dict[str, bool] = {}

    def tiers(self) -> set[tuple[str, Tier]]:
        """The (gateway, tier) coordinators that read a gas alarm or concentration point."""
        return {
            (device.gateway, point.tier)
            for device in self.detectors.values()
            for point in device.points
            if point.key in (GAS_ALARM_KEY, GAS_CONCENTRATION_KEY)
        }

    async def _async_read_concentration(self, device: Device, tier: Tier) -> Any:
        """The detector's concentration now (None when it has none or does not answer)."""
        point = next((p for p in device.points if p.key == GAS_CONCENTRATION_KEY), None)
        poller = self.entry.runtime_data.pollers.get(device.gateway)
        if point is None or poller is None:
            return None
        block = ReadBlock(point.table, point.address, point.count, (point,))
        try:
            data = await poller.client.async_read(
                device.unit, point.table, point.address, point.count, priority=PRIORITY[tier]
            )
        except ModbusError as err:
            # The incident opens without it; the next poll of the concentration sets the peak.
            LOGGER.warning("Gas alarm of %s: concentration not read: %s", device.id, err)
            return None
        return decode_point(point, block, data)

    def _track_peak(self, device_id: str, concentration: Any) -> None:
        incident = self.incidents.find_open(IncidentKind.GAS, device_id)
        if incident is None or not isinstance(concentration, int | float):
            return
        peak = incident.detail.get(GAS_PEAK_KEY)
        if isinstance(peak, int | float) and concentration <= peak:
            return
        self.incidents.update_detail(
            incident.id, {GAS_PEAK_KEY: concentration, f"{GAS_PEAK_KEY}_at": dt_util.utcnow().isoformat()}
        )

    async def async_handle(self, tier: Tier, readings: Mapping[str, DeviceReading]) -> None:
        """React to one poll's readings."""
        for device_id, reading in readings.items():
            device = self.detectors.get(device_id)
            if device is None or not reading.available:
                continue
            if GAS_CONCENTRATION_KEY in reading.values:
                self._track_peak(device_id, reading.values[GAS_CONCENTRATION_KEY])
            if GAS_ALARM_KEY not in reading.values:
                continue
            active = bool(reading.values[GAS_ALARM_KEY])
            before = self._active.get(device_id)
            self._active[device_id] = active
            if active and not before:
                # At start-up an alarm already open (from before a restart) is not a new one.
                if before is None and self.incidents.find_open(IncidentKind.GAS, device_id) is not None:
                    continue
                detail: dict[str, Any] = {"alarm_at": dt_util.utcnow().isoformat()}
                if GAS_CONCENTRATION_KEY in reading.values:
                    concentration = reading.values[GAS_CONCENTRATION_KEY]
                else:
                    concentration = await self._async_read_concentration(device, tier)
                repeat = self.incidents.find_open(IncidentKind.GAS, device_id) is not None
                if concentration is not None:
                    detail[GAS_CONCENTRATION_KEY] = concentration
                    if not repeat:
                        detail[GAS_PEAK_KEY] = concentration
                        detail[f"{GAS_PEAK_KEY}_at"] = detail["alarm_at"]
                opened = self.incidents.open(
                    IncidentKind.GAS,
                    source=device_id,
                    building=device.building,
                    floor=device.floor,
                    enterprise=device.enterprise,
                    detail=detail,
                )
                if repeat:
                    self._track_peak(opened.source, concentration)  # the higher of the two stays
            elif before and not active:
                incident = self.incidents.find_open(IncidentKind.GAS, device_id)
                self.audit.record(
                    Category.DEVICE,
                    "gas_alarm_cleared",
                    source=Source.FIELD,
                    target=device_id,
                    incident_id=incident.id if incident else None,
                )
                if incident is not None:
                    # The incident stays open: someone must still go and check.
                    self.incidents.update_detail(
                        incident.id, {"alarm_cleared_at": dt_util.utcnow().isoformat()}
                    )

    async def async_hook(self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        """Coordinator hook (runs in the poll task, before entities update)."""
        await self.async_handle(tier, readings)


async def async_setup_incidents(hass: HomeAssistant, entry: SmartParkConfigEntry) -> IncidentManager:
    """Load the park's incidents and watch its gas detectors."""
    manager = IncidentManager(hass, entry)
    await manager.async_load()
    entry.async_on_unload(manager.async_flush)
    gas = GasAlarms(entry, manager)
    coordinators = entry.runtime_data.coordinators
    for key in gas.tiers():
        if (coordinator := coordinators.get(key)) is not None:
            # The first polls ran before this hook existed: they are the baseline, and an alarm already
            # active then (with no incident open from before a restart) opens one now.
            await gas.async_handle(key[1], coordinator.data or {})
            coordinator.hooks.append(gas.async_hook)
    return manager


def _manager(call: ServiceCall) -> IncidentManager:
    """The park of the incident: named by config_entry_id, found by incident id, or the only park."""
    incident_id = call.data[ATTR_INCIDENT_ID]
    if ATTR_CONFIG_ENTRY_ID not in call.data:
        loaded = loaded_entries(call.hass)
        for entry in loaded:
            if entry.runtime_data.incidents.get(incident_id) is not None:
                return entry.runtime_data.incidents
        if len(loaded) > 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="incident_not_found",
                translation_placeholders={ATTR_INCIDENT_ID: incident_id},
            )
    return call_entry(call).runtime_data.incidents


def async_register_services(hass: HomeAssistant) -> None:
    """Register ``smart_park.acknowledge_incident`` and ``smart_park.close_incident``."""

    async def acknowledge(call: ServiceCall) -> None:
        _manager(call).acknowledge(call.data[ATTR_INCIDENT_ID], context=call.context)

    async def close(call: ServiceCall) -> None:
        _manager(call).close(call.data[ATTR_INCIDENT_ID], context=call.context)

    hass.services.async_register(DOMAIN, SERVICE_ACKNOWLEDGE, acknowledge, schema=SERVICE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_CLOSE, close, schema=SERVICE_SCHEMA)
