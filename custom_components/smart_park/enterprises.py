"""The enterprise registry of a park: records, monthly figures and monthly consumption from meters.

Source of truth for enterprise records is the registry's ``Store`` (``smart_park.<entry_id>.enterprises``),
saved before a change is shown. The park profile's ``enterprises:`` seed it: on the first setup all of them,
later only ids the registry does not know yet (the profile stays the place that declares which enterprise ids
devices may name; the registry never overwrites a record from the profile).

Figures (output value, tax, headcount per month) are recorded by the ``record_enterprise_figures`` action; a
later record for the same month replaces the earlier one and the audit log keeps both.

Consumption: each energy or water counter (device class energy/water, ``total_increasing``) of a device
serving an enterprise is followed per calendar month (HA's time zone). Per meter the month's first reading is
kept in ``smart_park.<entry_id>.enterprise_meters``, so a restart mid-month stays right. A drop of more than
10 % is a counter reset (meter replaced or rolled over): the month keeps what was used before it and counts on
from the first reading after it; smaller drops are read jitter and ignored. Closed months are kept for three
years. Consumption while no reading comes in (HA stopped, meter offline) counts in the month of the next
reading.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import probatio as vol
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import UnitOfEnergy, UnitOfVolume
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, ServiceCall, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter, VolumeConverter

from .audit import Category, Outcome, Source, source_of
from .catalogue import Point, Tier
from .const import DOMAIN, LOGGER
from .coordinator import SmartParkConfigEntry
from .enterprise_import import (
    ENGLISH,
    MAX_BYTES,
    PERSONAL_FIELDS,
    EnterpriseImportError,
    EnterpriseRecord,
    ImportIssue,
    ImportPlan,
    RawRow,
    Status,
    export_csv,
    plan_import,
    plan_rows,
)
from .entity import (
    async_register_device,
    device_identifier,
    enterprise_device_info,
    enterprise_identifier,
    park_info,
)
from .modbus import DeviceReading
from .profile import Enterprise, ParkProfile
from .services import ENTRY_FIELD, call_entry

STORAGE_VERSION: Final = 1
# Meter month state changes every slow poll; between month changes and resets it is saved at most this often.
METER_SAVE_INTERVAL: Final = timedelta(minutes=10)
MONTHS_KEPT: Final = 36
# A counter dropping below this share of its last reading restarted; a smaller drop is read jitter.
RESET_RATIO: Final = 0.9
# Energy intensity is kWh per this many CNY of output value (万元).
INTENSITY_BASE: Final = 10_000
SIGNAL_ENTERPRISES_CHANGED: Final = f"{DOMAIN}_enterprises_changed"
# The one folder (in the config dir) that imports are read from and exports written to. Never www/: HA serves
# it to anyone at /local/, and exports hold phone numbers and USCCs.
FILES_DIR: Final = "smart_park"
DEFAULT_EXPORT_PATH: Final = f"{FILES_DIR}/enterprises.csv"
REDACTED: Final = "**REDACTED**"
_PERIOD_RE: Final = re.compile(r"^(\d{4})-(\d{2})$")

SERVICE_IMPORT: Final = "import_enterprises"
SERVICE_EXPORT: Final = "export_enterprises"
SERVICE_RECORD_FIGURES: Final = "record_enterprise_figures"


class MeterKind(StrEnum):
    """What a followed counter measures, in the registry's unit."""

    ELECTRICITY = "electricity"  # kWh
    WATER = "water"  # m³


_KIND_OF_CLASS: Final = {
    SensorDeviceClass.ENERGY.value: (MeterKind.ELECTRICITY, EnergyConverter, UnitOfEnergy.KILO_WATT_HOUR),
    SensorDeviceClass.WATER.value: (MeterKind.WATER, VolumeConverter, UnitOfVolume.CUBIC_METERS),
}


def month_of(moment: datetime) -> str:
    """``YYYY-MM`` of a moment in HA's time zone."""
    return dt_util.as_local(moment).strftime("%Y-%m")


def previous_month(month: str) -> str:
    """The month before ``YYYY-MM``."""
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


@dataclass(frozen=True, slots=True)
class MonthlyFigures:
    """What an enterprise reported for one month."""

    period: str
    output_value: float
    tax: float
    employees: int | None
    recorded_at: datetime
    revision: int = 1

    def same_values(self, other: MonthlyFigures) -> bool:
        """Whether a new record says the same (then it is not a correction)."""
        return (self.output_value, self.tax, self.employees) == (
            other.output_value,
            other.tax,
            other.employees,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form (Store, websocket)."""
        return {
            "period": self.period,
            "output_value": self.output_value,
            "tax": self.tax,
            "employees": self.employees,
            "recorded_at": self.recorded_at.isoformat(),
            "revision": self.revision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonthlyFigures:
        """Read back :meth:`as_dict`."""
        return cls(
            period=data["period"],
            output_value=float(data["output_value"]),
            tax=float(data["tax"]),
            employees=data.get("employees"),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            revision=int(data.get("revision", 1)),
        )


@dataclass(slots=True)
class MeterMonth:
    """One counter's use in its current month, and the totals of its closed months.

    ``start`` is the reading the current segment began at (the month's first reading, or the first after a
    reset), ``carried`` what the month used in earlier segments.
    """

    month: str
    start: float
    last: float
    carried: float = 0.0
    months: dict[str, float] = field(default_factory=dict)

    def used(self) -> float:
        """Use in :attr:`month` so far."""
        return self.carried + self.last - self.start

    def used_in(self, month: str) -> float | None:
        """Use in ``month``, or None when this meter has no figure for it."""
        return self.used() if month == self.month else self.months.get(month)

    def add(self, value: float, month: str) -> bool:
        """Take a reading made in ``month``; True when the month or a segment changed (save now)."""
        structural = False
        if month != self.month:
            self.months[self.month] = round(self.used(), 6)
            for old in sorted(self.months)[:-MONTHS_KEPT]:
                del self.months[old]
            self.month, self.start, self.carried = month, self.last, 0.0
            structural = True
        if value < self.last:
            if value >= self.last * RESET_RATIO:
                return structural
            self.carried += self.last - self.start
            self.start = value
            structural = True
        self.last = value
        return structural

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {
            "month": self.month,
            "start": self.start,
            "last": self.last,
            "carried": self.carried,
            "months": dict(self.months),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeterMonth:
        """Read back :meth:`as_dict`."""
        return cls(
            month=data["month"],
            start=float(data["start"]),
            last=float(data["last"]),
            carried=float(data.get("carried", 0.0)),
            months={k: float(v) for k, v in (data.get("months") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class TrackedMeter:
    """A counter of a device serving an enterprise."""

    device_id: str
    enterprise: str
    kind: MeterKind
    point: Point
    gateway: str
    unit_id: int
    convert: Callable[[float], float]


def _meter_point(points: Iterable[Point]) -> tuple[Point, MeterKind, Callable[[float], float]] | None:
    """A device's energy or water counter: the first ``total_increasing`` one, export counters excluded."""
    for point in points:
        if point.state_class != SensorStateClass.TOTAL_INCREASING or "export" in point.key:
            continue
        found = _KIND_OF_CLASS.get(point.device_class or "")
        if found is None:
            continue
        kind, converter, unit = found
        if point.unit not in converter.VALID_UNITS:
            LOGGER.warning("Point %s has unit %s, not a %s unit: not counted", point.key, point.unit, kind)
            continue
        source_unit = point.unit

        def convert(value: float, _c: Any = converter, _f: str | None = source_unit, _t: str = unit) -> float:
            return float(_c.convert(value, _f, _t))

        return point, kind, convert
    return None


def tracked_meters(profile: ParkProfile) -> dict[str, TrackedMeter]:
    """Every counter of a device with an ``enterprise:``, by device id."""
    meters: dict[str, TrackedMeter] = {}
    for device in profile.devices.values():
        if device.enterprise is None:
            continue
        found = _meter_point(device.points)
        if found is not None:
            point, kind, convert = found
            meters[device.id] = TrackedMeter(
                device.id, device.enterprise, kind, point, device.gateway, device.unit, convert
            )
    return meters


type RegistryListener = Callable[[frozenset[str]], None]


class EnterpriseRegistry:
    """Enterprise records, figures and meter months of one park."""

    def __init__(self, hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile) -> None:
        self.hass = hass
        self.entry = entry
        self.profile = profile
        self.records: dict[str, EnterpriseRecord] = {}
        self.updated_at: dict[str, datetime] = {}
        self.figures: dict[str, dict[str, MonthlyFigures]] = {}
        self.meters = tracked_meters(profile)
        self._meters_of: dict[str, list[str]] = {}
        for meter in self.meters.values():
            self._meters_of.setdefault(meter.enterprise, []).append(meter.device_id)
        self.meter_months: dict[str, MeterMonth] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.enterprises", atomic_writes=True
        )
        self._meter_store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.enterprise_meters", atomic_writes=True
        )
        self._meters_saved_at = dt_util.utcnow()
        self._lock = asyncio.Lock()
        self._listeners: list[RegistryListener] = []
        self._added_listeners: list[RegistryListener] = []

    # --- loading and saving ---

    async def async_load(self) -> None:
        """Load the Store and seed it from the profile's enterprises it does not know yet."""
        stored = await self._store.async_load() or {}
        for item in stored.get("enterprises", []):
            record = EnterpriseRecord.from_dict(item["record"])
            self.records[record.id] = record
            self.updated_at[record.id] = datetime.fromisoformat(item["updated_at"])
        for enterprise_id, items in (stored.get("figures") or {}).items():
            self.figures[enterprise_id] = {
                figures.period: figures for figures in map(MonthlyFigures.from_dict, items)
            }
        new = 0
        now = dt_util.utcnow()
        for index, enterprise in enumerate(self.profile.enterprises.values()):
            if enterprise.id not in self.records:
                self.records[enterprise.id] = self._seed_record(index, enterprise)
                self.updated_at[enterprise.id] = now
                new += 1
        if new:
            await self._store.async_save(self._data())
            LOGGER.debug("Enterprise registry seeded with %d enterprises from the profile", new)
        meters = await self._meter_store.async_load() or {}
        for device_id, item in (meters.get("meters") or {}).items():
            if device_id in self.meters:
                self.meter_months[device_id] = MeterMonth.from_dict(item)

    def _seed_record(self, index: int, enterprise: Enterprise) -> EnterpriseRecord:
        """A registry record from a profile enterprise; fields the registry rejects are left out (logged).

        Validated against the records so far, so that a USCC used twice in the profile is kept once.
        """
        values = {"id": enterprise.id, "name": enterprise.name, **dict(enterprise.extra)}
        if enterprise.building is not None:
            values["building"] = enterprise.building
        if enterprise.floor is not None:
            values["floor"] = enterprise.floor
        row = RawRow(index + 1, values, {key: key for key in values})
        for _attempt in range(3):
            try:
                return plan_rows([row], self.records, self.profile.buildings).records[0]
            except EnterpriseImportError as err:
                for issue in err.issues:
                    # Codes and field names only: the values may be personal data.
                    LOGGER.warning(
                        "Profile enterprise %s: %s left out of the registry (%s)",
                        enterprise.id,
                        issue.column,
                        issue.code,
                    )
                    row.values.pop(issue.column or "", None)
        return EnterpriseRecord(enterprise.id, enterprise.name)

    def _data(
        self,
        records: Mapping[str, EnterpriseRecord] | None = None,
        updated_at: Mapping[str, datetime] | None = None,
        figures: Mapping[str, Mapping[str, MonthlyFigures]] | None = None,
    ) -> dict[str, Any]:
        records = self.records if records is None else records
        updated_at = self.updated_at if updated_at is None else updated_at
        figures = self.figures if figures is None else figures
        return {
            "enterprises": [
                {"record": record.as_dict(), "updated_at": updated_at[record.id].isoformat()}
                for record in records.values()
            ],
            "figures": {
                enterprise_id: [f.as_dict() for _p, f in sorted(periods.items())]
                for enterprise_id, periods in figures.items()
            },
        }

    def _meter_data(self) -> dict[str, Any]:
        return {"meters": {device_id: month.as_dict() for device_id, month in self.meter_months.items()}}

    async def async_flush(self) -> None:
        """Write the meter months now (on unload)."""
        await self._meter_store.async_save(self._meter_data())

    # --- listeners ---

    @callback
    def async_add_listener(self, listener: RegistryListener) -> CALLBACK_TYPE:
        """Call ``listener`` with the ids of enterprises whose values (records, figures, use) changed."""
        return self._subscribe(self._listeners, listener)

    @callback
    def async_add_added_listener(self, listener: RegistryListener) -> CALLBACK_TYPE:
        """Call ``listener`` with the ids of enterprises added while the park runs."""
        return self._subscribe(self._added_listeners, listener)

    @staticmethod
    def _subscribe(listeners: list[RegistryListener], listener: RegistryListener) -> CALLBACK_TYPE:
        listeners.append(listener)

        @callback
        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    @callback
    def _notify(self, changed: Iterable[str], added: Iterable[str] = ()) -> None:
        added_ids = frozenset(added)
        if added_ids:
            for listener in list(self._added_listeners):
                listener(added_ids)
        changed_ids = frozenset(changed) | added_ids
        for listener in list(self._listeners):
            listener(changed_ids)

    @callback
    def async_notify_all(self, _now: datetime | None = None) -> None:
        """Every value may have changed (a new month began)."""
        self._notify(self.records)

    @callback
    def _dispatch(self, enterprise_ids: Iterable[str]) -> None:
        """Tell websocket subscribers about changed records or figures."""
        items = [self.item(enterprise_id) for enterprise_id in enterprise_ids]
        if items:
            async_dispatcher_send(self.hass, SIGNAL_ENTERPRISES_CHANGED, self.entry.entry_id, items)

    # --- records ---

    def device_id(self, enterprise_id: str) -> str | None:
        """The HA device id of an enterprise."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            enterprise_identifier(self.profile, enterprise_id), self.entry.entry_id
        )
        return device.id if device is not None else None

    @callback
    def async_register_enterprise_device(self, record: EnterpriseRecord) -> None:
        """The HA device of an enterprise, under the park's."""
        async_register_device(
            self.hass,
            self.entry.entry_id,
            enterprise_device_info(self.profile, record),
            via=device_identifier(self.profile, "park"),
        )

    def resolve(self, value: str) -> str | None:
        """An enterprise id from an enterprise id or the HA device id of an enterprise device."""
        if value in self.records:
            return value
        device = dr.async_get(self.hass).async_get(value)
        if device is not None:
            for enterprise_id in self.records:
                if enterprise_identifier(self.profile, enterprise_id) in device.identifiers:
                    return enterprise_id
        return None

    async def async_plan(self, data: bytes | str, name: str = "", fmt: str | None = None) -> ImportPlan:
        """Validate a document against the registry (raises :class:`EnterpriseImportError`)."""
        existing = dict(self.records)
        return await self.hass.async_add_executor_job(
            lambda: plan_import(data, existing, self.profile.buildings, name=name, fmt=fmt)
        )

    def plan_values(self, values: Mapping[str, Any]) -> ImportPlan:
        """Validate one enterprise's fields as a form gives them (row 1, columns are field names)."""
        return plan_rows(
            [RawRow(1, dict(values), {key: key for key in values})], self.records, self.profile.buildings
        )

    async def async_import(
        self,
        data: bytes | str,
        *,
        name: str = "",
        fmt: str | None = None,
        dry_run: bool = False,
        source: Source = Source.USER,
        context: Context | None = None,
        user_id: str | None = None,
    ) -> ImportPlan:
        """Validate a document and apply all of it, or nothing (raises :class:`EnterpriseImportError`)."""
        async with self._lock:
            try:
                plan = await self.async_plan(data, name, fmt)
            except EnterpriseImportError as err:
                self._audit_import(
                    "import",
                    plan=None,
                    source=source,
                    context=context,
                    user_id=user_id,
                    outcome=Outcome.REFUSED,
                    issues=len(err.issues),
                    file=name or None,
                )
                raise
            if not dry_run:
                await self._async_commit(plan.changed, added=plan.added)
                self._audit_import(
                    "import", plan=plan, source=source, context=context, user_id=user_id, file=name or None
                )
        return plan

    async def async_apply(
        self,
        plan: ImportPlan,
        action: str,
        *,
        source: Source = Source.USER,
        context: Context | None = None,
        user_id: str | None = None,
    ) -> None:
        """Apply a plan validated by :meth:`plan_values` (add, edit or move out one enterprise)."""
        async with self._lock:
            # Validated against the registry as it was; re-check in case another change came in between.
            plan = plan_rows(
                [RawRow(1, r.as_dict(), {k: k for k in r.as_dict()}) for r in plan.records],
                self.records,
                self.profile.buildings,
            )
            await self._async_commit(plan.changed, added=plan.added)
            self._audit_import(action, plan=plan, source=source, context=context, user_id=user_id)

    def _audit_import(
        self,
        action: str,
        *,
        plan: ImportPlan | None,
        source: Source,
        context: Context | None,
        user_id: str | None,
        outcome: Outcome = Outcome.OK,
        **data: Any,
    ) -> None:
        if plan is not None:
            data.update(added=list(plan.added), updated=list(plan.updated), unchanged=len(plan.unchanged))
            if len(plan.records) == 1:
                data["enterprise"] = plan.records[0].id
        self.entry.runtime_data.audit.record(
            Category.ENTERPRISE,
            action,
            source=source,
            outcome=outcome,
            user_id=user_id,
            target=data.get("enterprise"),
            context=context,
            **{k: v for k, v in data.items() if v is not None and k != "enterprise"},
        )

    async def _async_commit(self, records: Iterable[EnterpriseRecord], added: Iterable[str]) -> None:
        """Save changed records, then show them: devices, entities, websocket subscribers."""
        changed = {record.id: record for record in records}
        if not changed:
            return
        now = dt_util.utcnow()
        new_records = {**self.records, **changed}
        new_updated = {**self.updated_at, **dict.fromkeys(changed, now)}
        # Saved before anything shows the change: a failed write changes nothing.
        await self._store.async_save(self._data(new_records, new_updated))
        renamed = [
            rid for rid, r in changed.items() if rid in self.records and self.records[rid].name != r.name
        ]
        self.records, self.updated_at = new_records, new_updated
        for record_id in added:
            self.async_register_enterprise_device(changed[record_id])
        for record_id in renamed:
            if (device_id := self.device_id(record_id)) is not None:
                dr.async_get(self.hass).async_update_device(device_id, name=changed[record_id].name)
        self._notify(changed, added)
        self._dispatch(changed)

    # --- figures ---

    def latest_figures(self, enterprise_id: str) -> MonthlyFigures | None:
        """The figures of the latest month recorded for an enterprise."""
        periods = self.figures.get(enterprise_id)
        return periods[max(periods)] if periods else None

    async def async_record_figures(
        self,
        enterprise_id: str,
        period: str,
        output_value: float,
        tax: float,
        employees: int | None,
        *,
        source: Source,
        context: Context | None = None,
    ) -> MonthlyFigures:
        """Record (or correct) one month's figures; raise a translated error for a bad period."""
        record = self.records[enterprise_id]
        _check_period(period, record)
        async with self._lock:
            periods = self.figures.get(enterprise_id, {})
            previous = periods.get(period)
            figures = MonthlyFigures(
                period=period,
                output_value=round(float(output_value), 2),
                tax=round(float(tax), 2),
                employees=employees,
                recorded_at=dt_util.utcnow(),
                revision=previous.revision + 1 if previous else 1,
            )
            if previous is not None and previous.same_values(figures):
                return previous  # the same record again: nothing to correct
            new_figures = {**self.figures, enterprise_id: {**periods, period: figures}}
            await self._store.async_save(self._data(figures=new_figures))
            self.figures = new_figures
            data: dict[str, Any] = {
                "period": period,
                "output_value": figures.output_value,
                "tax": figures.tax,
                "employees": employees,
            }
            if previous is not None:
                data["previous"] = {
                    "output_value": previous.output_value,
                    "tax": previous.tax,
                    "employees": previous.employees,
                    "recorded_at": previous.recorded_at.isoformat(),
                }
            self.entry.runtime_data.audit.record(
                Category.ENTERPRISE,
                "correct_figures" if previous else "record_figures",
                source=source,
                target=enterprise_id,
                context=context,
                **data,
            )
            self._notify([enterprise_id])
            self._dispatch([enterprise_id])
            return figures

    # --- consumption ---

    def consumption(self, enterprise_id: str | None, kind: MeterKind, month: str) -> float | None:
        """Use of an enterprise's (or, with None, all enterprises') meters in ``month``; None when unknown.

        A meter with no reading yet this month counts 0 for this month.
        """
        current = month_of(dt_util.utcnow())
        total: float | None = None
        device_ids = self.meters if enterprise_id is None else self._meters_of.get(enterprise_id, [])
        for device_id in device_ids:
            if self.meters[device_id].kind is not kind:
                continue
            state = self.meter_months.get(device_id)
            if state is None:
                continue
            used = state.used_in(month)
            if used is None and month == current:
                used = 0.0
            if used is not None:
                total = (total or 0.0) + used
        return None if total is None else round(total, 3)

    def intensity(self, enterprise_id: str) -> tuple[float | None, str | None]:
        """kWh per 10,000 CNY of output value in the latest month with figures, and that month."""
        figures = self.latest_figures(enterprise_id)
        if figures is None:
            return None, None
        energy = self.consumption(enterprise_id, MeterKind.ELECTRICITY, figures.period)
        if energy is None or figures.output_value <= 0:
            return None, figures.period
        return round(energy / (figures.output_value / INTENSITY_BASE), 3), figures.period

    def park_period(self) -> str | None:
        """The latest month any enterprise has figures for."""
        periods = [max(p) for p in self.figures.values() if p]
        return max(periods) if periods else None

    def park_figures(self) -> tuple[str | None, float | None, float | None, int]:
        """Latest month, total output value and tax of the enterprises that reported it, and how many did."""
        period = self.park_period()
        if period is None:
            return None, None, None, 0
        reported = [p[period] for p in self.figures.values() if period in p]
        return (
            period,
            round(sum(f.output_value for f in reported), 2),
            round(sum(f.tax for f in reported), 2),
            len(reported),
        )

    def park_intensity(self) -> tuple[float | None, str | None]:
        """Park energy intensity in the latest month: enterprises with both figures and electricity use."""
        period = self.park_period()
        if period is None:
            return None, None
        energy = output = 0.0
        for enterprise_id, periods in self.figures.items():
            used = self.consumption(enterprise_id, MeterKind.ELECTRICITY, period)
            if period in periods and used is not None:
                energy += used
                output += periods[period].output_value
        if output <= 0:
            return None, period
        return round(energy / (output / INTENSITY_BASE), 3), period

    async def async_readings(self, _gateway: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        """Coordinator hook: follow the counters of enterprise meters."""
        self.take_readings(tier, readings)

    @callback
    def take_readings(self, tier: Tier, readings: Mapping[str, DeviceReading]) -> None:
        """Add each followed counter's reading to its month; tell listeners of the enterprises affected."""
        month = month_of(dt_util.utcnow())
        changed: set[str] = set()
        save_now = False
        for device_id, reading in readings.items():
            meter = self.meters.get(device_id)
            if meter is None or meter.point.tier is not tier or not reading.available:
                continue
            value = reading.values.get(meter.point.key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            value = meter.convert(float(value))
            state = self.meter_months.get(device_id)
            if state is None:
                self.meter_months[device_id] = MeterMonth(month, value, value)
                save_now = True
            else:
                before = state.used()
                structural = state.add(value, month)
                save_now |= structural
                if not structural and state.used() == before:
                    continue
            changed.add(meter.enterprise)
        now = dt_util.utcnow()
        if save_now or (changed and now - self._meters_saved_at >= METER_SAVE_INTERVAL):
            self._meters_saved_at = now
            self._meter_store.async_delay_save(self._meter_data, 0)
        if changed:
            self._notify(changed)

    # --- views ---

    def item(self, enterprise_id: str, *, personal: bool = True) -> dict[str, Any]:
        """An enterprise for the websocket API, with its figures; ``updated_at`` moves on every change."""
        data = self.records[enterprise_id].as_dict()
        if not personal:
            data = redacted(data)
        figures = [f.as_dict() for _p, f in sorted(self.figures.get(enterprise_id, {}).items())]
        updated = max(
            [
                self.updated_at[enterprise_id],
                *(f.recorded_at for f in self.figures.get(enterprise_id, {}).values()),
            ]
        )
        return {
            **data,
            "park_id": self.profile.id,
            "config_entry_id": self.entry.entry_id,
            "device_id": self.device_id(enterprise_id),
            "figures": figures,
            "updated_at": updated.isoformat(),
        }

    def items(self, *, personal: bool = True) -> list[dict[str, Any]]:
        """Every enterprise as :meth:`item`."""
        return [self.item(enterprise_id, personal=personal) for enterprise_id in self.records]

    def diagnostics(self) -> dict[str, Any]:
        """A summary for diagnostics (the caller redacts the personal fields by key)."""
        now_month = month_of(dt_util.utcnow())
        return {
            "count": len(self.records),
            "moved_out": sum(1 for r in self.records.values() if r.status is Status.MOVED_OUT),
            "records": [record.as_dict() for record in self.records.values()],
            "figures": {eid: sorted(periods) for eid, periods in self.figures.items()},
            "meters": {
                device_id: {
                    "enterprise": meter.enterprise,
                    "kind": meter.kind.value,
                    "point": meter.point.key,
                    "gateway": meter.gateway,
                    "unit": meter.unit_id,
                    "month": state.month if (state := self.meter_months.get(device_id)) else None,
                    "this_month": state.used_in(now_month) if state else None,
                    "closed_months": len(state.months) if state else 0,
                }
                for device_id, meter in self.meters.items()
            },
        }


def redacted(item: Mapping[str, Any]) -> dict[str, Any]:
    """An enterprise item with its personal fields (USCC, contact name and phone) replaced."""
    return {key: REDACTED if key in PERSONAL_FIELDS and value else value for key, value in item.items()}


def _check_period(period: str, record: EnterpriseRecord) -> None:
    """A figures period is a past or current month, not before the move-in nor after the move-out month."""
    match = _PERIOD_RE.match(period)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="bad_period",
            translation_placeholders={"period": period},
        )
    if period > month_of(dt_util.utcnow()):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="period_in_future",
            translation_placeholders={"period": period},
        )
    for limit, key, beyond in (
        (record.move_in_date, "period_before_move_in", period.__lt__),
        (record.move_out_date, "period_after_move_out", period.__gt__),
    ):
        if limit is not None and beyond(limit.strftime("%Y-%m")):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={
                    "period": period,
                    "enterprise": record.id,
                    "date": limit.isoformat(),
                },
            )


async def async_setup_enterprises(hass: HomeAssistant, entry: SmartParkConfigEntry) -> EnterpriseRegistry:
    """Load the registry, follow the meters' polls and refresh the month-bound sensors each midnight."""
    runtime = entry.runtime_data
    registry = EnterpriseRegistry(hass, entry, runtime.profile)
    await registry.async_load()
    async_register_device(hass, entry.entry_id, park_info(runtime.profile))
    for record in registry.records.values():
        registry.async_register_enterprise_device(record)
    tiers = {(meter.gateway, meter.point.tier) for meter in registry.meters.values()}
    for key in tiers:
        coordinator = runtime.coordinators.get(key)
        if coordinator is None:
            continue
        coordinator.hooks.append(registry.async_readings)
        # The first polls ran before this: take their readings now.
        registry.take_readings(key[1], coordinator.data or {})
    entry.async_on_unload(
        async_track_time_change(hass, registry.async_notify_all, hour=0, minute=0, second=0)
    )
    registry._dispatch(registry.records)  # subscribers of all parks learn about a (re)loaded park
    return registry


# --- actions ---


def _resolve(hass: HomeAssistant, path: str) -> Path:
    """``path`` (relative to the config dir, or absolute) with every symlink resolved; blocking."""
    return (Path(hass.config.config_dir) / path.strip()).resolve()


def _in_files_dir(hass: HomeAssistant, file: Path) -> bool:
    root = (Path(hass.config.config_dir) / FILES_DIR).resolve()
    return file.is_relative_to(root) and file != root


def _import_file(hass: HomeAssistant, path: str) -> Path:
    """An import file in ``<config>/smart_park/`` or a folder of ``allowlist_external_dirs``; blocking.

    Anything else (secrets.yaml, .storage/) is refused before it is opened, so no error can quote it.
    """
    file = _resolve(hass, path)
    if path.strip() and (_in_files_dir(hass, file) or hass.config.is_allowed_path(str(file))):
        return file
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="path_not_allowed",
        translation_placeholders={"path": path, "folder": FILES_DIR},
    )


def _export_file(hass: HomeAssistant, path: str) -> Path:
    """An export file: a ``.csv`` in ``<config>/smart_park/`` only (HA's allowlisted dirs include www/)."""
    file = _resolve(hass, path)
    if not path.strip() or not _in_files_dir(hass, file):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="export_path_not_allowed",
            translation_placeholders={"path": path, "folder": FILES_DIR},
        )
    if file.suffix.lower() != ".csv":
        # Never overwrite a YAML or any other file by a typo.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="export_not_csv",
            translation_placeholders={"path": path},
        )
    return file


def _read_bytes(file: Path) -> bytes:
    with file.open("rb") as handle:
        # One byte more than allowed lets the validator say "too large" without reading a huge file.
        return handle.read(MAX_BYTES + 1)


def _write_bytes(file: Path, data: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(file)


async def async_read_import_file(hass: HomeAssistant, path: str) -> bytes:
    """The bytes of an import file in the allowed folders, or a translated error."""
    file = await hass.async_add_executor_job(_import_file, hass, path)
    try:
        return await hass.async_add_executor_job(_read_bytes, file)
    except OSError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_not_readable",
            translation_placeholders={"path": path},
        ) from err


async def async_render_import_issues(
    hass: HomeAssistant, issues: Iterable[ImportIssue], *, rows: bool = True
) -> str:
    """Every issue as a line in the configured language: row, column, message (a form leaves out rows)."""
    translations = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})

    def text(key: str, fallback: str, **placeholders: Any) -> str:
        message = translations.get(f"component.{DOMAIN}.exceptions.{key}.message", fallback)
        try:
            return message.format(**placeholders)
        except (KeyError, IndexError):
            return fallback.format(**placeholders)

    lines = []
    for issue in issues:
        message = text(f"enterprise_{issue.code}", ENGLISH[issue.code], **issue.placeholders)
        if not rows and issue.column is not None:
            line = text("enterprise_issue_field", "{column}: {message}", column=issue.column, message=message)
            lines.append("- " + line)
        elif issue.row is None:
            lines.append("- " + text("enterprise_issue_file", "file: {message}", message=message))
        elif issue.column is None:
            lines.append(
                "- " + text("enterprise_issue_row", "row {row}: {message}", row=issue.row, message=message)
            )
        else:
            lines.append(
                "- "
                + text(
                    "enterprise_issue_row_column",
                    "row {row}, {column}: {message}",
                    row=issue.row,
                    column=issue.column,
                    message=message,
                )
            )
    return "\n".join(lines)


async def import_error(hass: HomeAssistant, err: EnterpriseImportError) -> ServiceValidationError:
    """The translated action error of a refused import, listing every issue."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="enterprise_import_invalid",
        translation_placeholders={
            "count": str(len(err.issues)),
            "issues": await async_render_import_issues(hass, err.issues),
        },
    )


async def async_export(
    hass: HomeAssistant,
    registry: EnterpriseRegistry,
    path: str,
    *,
    personal: bool,
    source: Source = Source.USER,
    context: Context | None = None,
) -> Path:
    """Write the registry as CSV to ``<config>/smart_park/`` (audited: it may hold personal data)."""
    file = await hass.async_add_executor_job(_export_file, hass, path)
    data = export_csv(registry.records.values(), personal=personal)
    try:
        await hass.async_add_executor_job(_write_bytes, file, data)
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="file_not_writable",
            translation_placeholders={"path": path, "error": err.strerror or str(err)},
        ) from err
    registry.entry.runtime_data.audit.record(
        Category.ENTERPRISE,
        "export",
        source=source,
        context=context,
        file=path,
        enterprises=len(registry.records),
        personal_data=personal,
    )
    return file


def _registry(call: ServiceCall) -> EnterpriseRegistry:
    return call_entry(call).runtime_data.enterprises


async def _async_import_service(call: ServiceCall) -> dict[str, Any]:
    registry = _registry(call)
    path, content = call.data.get("path"), call.data.get("content")
    if bool(path) == bool(content):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="import_source")
    data: bytes | str = await async_read_import_file(call.hass, path) if path else str(content)
    try:
        plan = await registry.async_import(
            data,
            name=path or "",
            fmt=call.data.get("format"),
            dry_run=call.data["dry_run"],
            source=source_of(call.context),
            context=call.context,
        )
    except EnterpriseImportError as err:
        raise await import_error(call.hass, err) from err
    return {
        "added": list(plan.added),
        "updated": list(plan.updated),
        "unchanged": len(plan.unchanged),
        "dry_run": call.data["dry_run"],
    }


async def _async_export_service(call: ServiceCall) -> dict[str, Any]:
    registry = _registry(call)
    path = call.data["path"]
    personal = call.data["personal_data"]
    file = await async_export(
        call.hass, registry, path, personal=personal, source=source_of(call.context), context=call.context
    )
    return {"path": str(file), "enterprises": len(registry.records)}


async def _async_record_figures_service(call: ServiceCall) -> None:
    registry = _registry(call)
    enterprise_id = registry.resolve(call.data["enterprise"])
    if enterprise_id is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_enterprise",
            translation_placeholders={"enterprise": call.data["enterprise"]},
        )
    await registry.async_record_figures(
        enterprise_id,
        call.data["period"].strip(),
        call.data["output_value"],
        call.data["tax"],
        call.data.get("employees"),
        source=source_of(call.context),
        context=call.context,
    )


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register the enterprise registry's actions; import and export are for admins only.

    They read and write files and carry personal data (phones, USCCs): HA's admin-service wrapper refuses a
    call whose user is not an admin with ``Unauthorized``.
    """
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_IMPORT,
        _async_import_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Optional("path"): cv.string,
                vol.Optional("content"): cv.string,
                vol.Optional("format"): vol.In(["csv", "yaml"]),
                vol.Optional("dry_run", default=False): cv.boolean,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT,
        _async_export_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Optional("path", default=DEFAULT_EXPORT_PATH): cv.string,
                vol.Optional("personal_data", default=True): cv.boolean,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_RECORD_FIGURES,
        _async_record_figures_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Required("enterprise"): cv.string,
                vol.Required("period"): cv.string,
                vol.Required("output_value"): vol.All(vol.Coerce(float), vol.Range(min=0)),
                vol.Required("tax"): vol.All(vol.Coerce(float), vol.Range(min=0)),
                vol.Optional("employees"): vol.All(vol.Coerce(int), vol.Range(min=0)),
            }
        ),
    )
