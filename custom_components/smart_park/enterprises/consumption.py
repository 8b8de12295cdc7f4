"""Monthly consumption from meters: counter maths, the meter months' Store, energy intensity.

Each energy or water counter (device class energy/water, ``total_increasing``) of a device serving an
enterprise is followed per calendar month (HA's time zone). Per meter the month's first reading is kept in
``smart_park.<entry_id>.enterprise_meters``, so a restart mid-month stays right. A drop of more than 10 % is a
counter reset (meter replaced or rolled over): the month keeps what was used before it and counts on from the
first reading after it; smaller drops are read jitter and ignored. Closed months are kept for three years.
Consumption while no reading comes in (HA stopped, meter offline) counts in the month of the next reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import UnitOfEnergy, UnitOfVolume
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter, VolumeConverter

from ..const import DOMAIN, LOGGER
from ..engine.catalogue import Point, Tier
from ..engine.modbus import DeviceReading
from ..engine.profile import ParkProfile
from .model import MonthlyFigures

STORAGE_VERSION: Final = 1
# Meter month state changes every slow poll; between month changes and resets it is saved at most this often.
METER_SAVE_INTERVAL: Final = timedelta(minutes=10)
MONTHS_KEPT: Final = 36
# A counter dropping below this share of its last reading restarted; a smaller drop is read jitter.
RESET_RATIO: Final = 0.9
# Energy intensity is kWh per this many CNY of output value (万元).
INTENSITY_BASE: Final = 10_000


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


class MeterBook:
    """The followed counters of one park and their months, saved in their own Store.

    Separate from the records' Store: meter months change every slow poll, records rarely.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str, profile: ParkProfile) -> None:
        self.meters = tracked_meters(profile)
        self._meters_of: dict[str, list[str]] = {}
        for meter in self.meters.values():
            self._meters_of.setdefault(meter.enterprise, []).append(meter.device_id)
        self.months: dict[str, MeterMonth] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.enterprise_meters", atomic_writes=True
        )
        self._saved_at = dt_util.utcnow()

    async def async_load(self) -> None:
        """Read back the meter months of counters the profile still has."""
        meters = await self._store.async_load() or {}
        for device_id, item in (meters.get("meters") or {}).items():
            if device_id in self.meters:
                self.months[device_id] = MeterMonth.from_dict(item)

    def _data(self) -> dict[str, Any]:
        return {"meters": {device_id: month.as_dict() for device_id, month in self.months.items()}}

    async def async_flush(self) -> None:
        """Write the meter months now (on unload)."""
        await self._store.async_save(self._data())

    @callback
    def take_readings(self, tier: Tier, readings: Mapping[str, DeviceReading]) -> set[str]:
        """Add each followed counter's reading to its month; the enterprises whose use changed."""
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
            state = self.months.get(device_id)
            if state is None:
                self.months[device_id] = MeterMonth(month, value, value)
                save_now = True
            else:
                before = state.used()
                structural = state.add(value, month)
                save_now |= structural
                if not structural and state.used() == before:
                    continue
            changed.add(meter.enterprise)
        now = dt_util.utcnow()
        if save_now or (changed and now - self._saved_at >= METER_SAVE_INTERVAL):
            self._saved_at = now
            self._store.async_delay_save(self._data, 0)
        return changed

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
            state = self.months.get(device_id)
            if state is None:
                continue
            used = state.used_in(month)
            if used is None and month == current:
                used = 0.0
            if used is not None:
                total = (total or 0.0) + used
        return None if total is None else round(total, 3)

    def intensity(
        self, enterprise_id: str, figures: MonthlyFigures | None
    ) -> tuple[float | None, str | None]:
        """kWh per 10,000 CNY of output value in the month of ``figures`` (the latest), and that month."""
        if figures is None:
            return None, None
        energy = self.consumption(enterprise_id, MeterKind.ELECTRICITY, figures.period)
        if energy is None or figures.output_value <= 0:
            return None, figures.period
        return round(energy / (figures.output_value / INTENSITY_BASE), 3), figures.period

    def park_intensity(
        self, figures: Mapping[str, Mapping[str, MonthlyFigures]], period: str | None
    ) -> tuple[float | None, str | None]:
        """Park energy intensity in ``period``: enterprises with both figures and electricity use."""
        if period is None:
            return None, None
        energy = output = 0.0
        for enterprise_id, periods in figures.items():
            used = self.consumption(enterprise_id, MeterKind.ELECTRICITY, period)
            if period in periods and used is not None:
                energy += used
                output += periods[period].output_value
        if output <= 0:
            return None, period
        return round(energy / (output / INTENSITY_BASE), 3), period

    def diagnostics(self) -> dict[str, Any]:
        """Each followed counter, its enterprise and where its month stands."""
        now_month = month_of(dt_util.utcnow())
        return {
            device_id: {
                "enterprise": meter.enterprise,
                "kind": meter.kind.value,
                "point": meter.point.key,
                "gateway": meter.gateway,
                "unit": meter.unit_id,
                "month": state.month if (state := self.months.get(device_id)) else None,
                "this_month": state.used_in(now_month) if state else None,
                "closed_months": len(state.months) if state else 0,
            }
            for device_id, meter in self.meters.items()
        }
