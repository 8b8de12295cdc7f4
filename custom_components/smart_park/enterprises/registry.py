"""The enterprise registry of a park: records, monthly figures, consumption, and who hears about changes.

Source of truth for enterprise records is the registry's Store (:mod:`.store`), saved before a change is
shown. Figures (output value, tax, headcount per month) are recorded by the ``record_enterprise_figures``
action; a later record for the same month replaces the earlier one and the audit log keeps both. Consumption
comes from the meters' polls (:mod:`.consumption`).

Changes reach entities through :meth:`EnterpriseRegistry.async_add_listener` and websocket subscribers through
HA's dispatcher (:data:`SIGNAL_ENTERPRISES_CHANGED`, all parks on one signal).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Outcome, Source
from ..const import DOMAIN
from ..data import ParkPolls, SmartParkConfigEntry
from ..engine.catalogue import Tier
from ..engine.modbus import DeviceReading
from ..engine.profile import ParkProfile
from ..entity import (
    async_register_device,
    device_identifier,
    enterprise_device_info,
    enterprise_identifier,
    park_info,
)
from ..hooks import async_subscribe_polls
from ..listeners import Listeners
from .consumption import MeterBook, MeterKind, MeterMonth, TrackedMeter
from .figures import audit_data, check_period, latest_period, next_figures, park_totals
from .importer import plan_import, plan_rows
from .model import (
    EnterpriseImportError,
    EnterpriseRecord,
    EnterpriseStatus,
    ImportPlan,
    MonthlyFigures,
    RawRow,
    redacted,
)
from .store import RegistryData, RegistryStore

SIGNAL_ENTERPRISES_CHANGED: Final = f"{DOMAIN}_enterprises_changed"


def _form_row(values: Mapping[str, Any]) -> RawRow:
    """One enterprise's fields as a form gives them: row 1, the columns are the field names."""
    return RawRow(1, dict(values), {key: key for key in values})


class EnterpriseRegistry:
    """Enterprise records, figures and meter months of one park."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: AuditLog
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.profile = profile
        # Records every change and export of the registry.
        self.audit = audit.scoped(Category.ENTERPRISE)
        self.records: dict[str, EnterpriseRecord] = {}
        self.updated_at: dict[str, datetime] = {}
        self.figures: dict[str, dict[str, MonthlyFigures]] = {}
        self.meter_book = MeterBook(hass, entry.entry_id, profile)
        self._store = RegistryStore(hass, entry.entry_id)
        self._lock = asyncio.Lock()
        # Called with the ids of enterprises whose values changed / that were added while the park runs.
        self._changed: Listeners[[frozenset[str]]] = Listeners()
        self._added: Listeners[[frozenset[str]]] = Listeners()

    @property
    def meters(self) -> dict[str, TrackedMeter]:
        """The followed counters, by device id."""
        return self.meter_book.meters

    @property
    def meter_months(self) -> dict[str, MeterMonth]:
        """Each followed counter's month, by device id."""
        return self.meter_book.months

    # --- loading and saving ---

    async def async_load(self) -> None:
        """Load the Stores; the records' one is seeded from the profile's enterprises it does not know yet."""
        data = await self._store.async_load(self.profile)
        self.records, self.updated_at, self.figures = data.records, data.updated_at, data.figures
        await self.meter_book.async_load()

    async def async_flush(self) -> None:
        """Write the meter months now (on unload)."""
        await self.meter_book.async_flush()

    # --- change notification ---

    @callback
    def async_add_listener(self, listener: Callable[[frozenset[str]], None]) -> CALLBACK_TYPE:
        """Call ``listener`` with the ids of enterprises whose values (records, figures, use) changed."""
        return self._changed.add(listener)

    @callback
    def async_add_added_listener(self, listener: Callable[[frozenset[str]], None]) -> CALLBACK_TYPE:
        """Call ``listener`` with the ids of enterprises added while the park runs."""
        return self._added.add(listener)

    @callback
    def _notify(self, changed: Iterable[str], added: Iterable[str] = ()) -> None:
        added_ids = frozenset(added)
        if added_ids:
            self._added.notify(added_ids)
        self._changed.notify(frozenset(changed) | added_ids)

    @callback
    def async_notify_all(self, _now: datetime | None = None) -> None:
        """Every value may have changed (a new month began)."""
        self._notify(self.records)

    @callback
    def async_publish(self, enterprise_ids: Iterable[str]) -> None:
        """Send the items of these enterprises to websocket subscribers (all parks share the signal)."""
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
        return plan_rows([_form_row(values)], self.records, self.profile.buildings)

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
                [_form_row(record.as_dict()) for record in plan.records], self.records, self.profile.buildings
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
        self.audit(
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
        await self._store.async_save(RegistryData(new_records, new_updated, self.figures))
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
        self.async_publish(changed)

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
        check_period(period, record)
        async with self._lock:
            periods = self.figures.get(enterprise_id, {})
            previous = periods.get(period)
            figures = next_figures(previous, period, output_value, tax, employees)
            if previous is not None and previous.same_values(figures):
                return previous  # the same record again: nothing to correct
            new_figures = {**self.figures, enterprise_id: {**periods, period: figures}}
            await self._store.async_save(RegistryData(self.records, self.updated_at, new_figures))
            self.figures = new_figures
            self.audit(
                "correct_figures" if previous else "record_figures",
                source=source,
                target=enterprise_id,
                context=context,
                **audit_data(figures, previous),
            )
            self._notify([enterprise_id])
            self.async_publish([enterprise_id])
            return figures

    def park_period(self) -> str | None:
        """The latest month any enterprise has figures for."""
        return latest_period(self.figures)

    def park_figures(self) -> tuple[str | None, float | None, float | None, int]:
        """Latest month, total output value and tax of the enterprises that reported it, and how many did."""
        return park_totals(self.figures)

    # --- consumption (the meter book's, combined with figures) ---

    def consumption(self, enterprise_id: str | None, kind: MeterKind, month: str) -> float | None:
        """Use of an enterprise's (or, with None, all enterprises') meters in ``month``; None when unknown."""
        return self.meter_book.consumption(enterprise_id, kind, month)

    def intensity(self, enterprise_id: str) -> tuple[float | None, str | None]:
        """kWh per 10,000 CNY of output value in the latest month with figures, and that month."""
        return self.meter_book.intensity(enterprise_id, self.latest_figures(enterprise_id))

    def park_intensity(self) -> tuple[float | None, str | None]:
        """Park energy intensity in the latest month: enterprises with both figures and electricity use."""
        return self.meter_book.park_intensity(self.figures, self.park_period())

    async def async_readings(self, _gateway: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        """Coordinator hook: follow the counters of enterprise meters."""
        self.take_readings(tier, readings)

    @callback
    def take_readings(self, tier: Tier, readings: Mapping[str, DeviceReading]) -> None:
        """Add each followed counter's reading to its month; tell listeners of the enterprises affected."""
        if changed := self.meter_book.take_readings(tier, readings):
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
        return {
            "count": len(self.records),
            "moved_out": sum(1 for r in self.records.values() if r.status is EnterpriseStatus.MOVED_OUT),
            "records": [record.as_dict() for record in self.records.values()],
            "figures": {eid: sorted(periods) for eid, periods in self.figures.items()},
            "meters": self.meter_book.diagnostics(),
        }


async def async_setup_enterprises(
    hass: HomeAssistant, entry: SmartParkConfigEntry, polls: ParkPolls, audit: AuditLog
) -> EnterpriseRegistry:
    """Load the registry, follow the meters' polls and refresh the month-bound sensors each midnight."""
    registry = EnterpriseRegistry(hass, entry, polls.profile, audit)
    await registry.async_load()
    async_register_device(hass, entry.entry_id, park_info(polls.profile))
    for record in registry.records.values():
        registry.async_register_enterprise_device(record)
    # The first polls ran before this: their readings are taken now.
    await async_subscribe_polls(
        polls.coordinators,
        {(meter.gateway, meter.point.tier) for meter in registry.meters.values()},
        registry.async_readings,
    )
    entry.async_on_unload(
        async_track_time_change(hass, registry.async_notify_all, hour=0, minute=0, second=0)
    )
    registry.async_publish(registry.records)  # subscribers of all parks learn about a (re)loaded park
    return registry
