"""The registry's Store (``smart_park.<entry_id>.enterprises``): records and figures, seeded from the profile.

The park profile's ``enterprises:`` seed it: on the first setup all of them, later only ids the Store does not
know yet (the profile stays the place that declares which enterprise ids devices may name; a record from the
Store is never overwritten from the profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..engine.profile import Enterprise, ParkProfile
from .importer import plan_rows
from .model import EnterpriseImportError, EnterpriseRecord, MonthlyFigures, RawRow

STORAGE_VERSION: Final = 1


@dataclass(slots=True)
class RegistryData:
    """What the Store holds: records, when each last changed, and figures by enterprise and month."""

    records: dict[str, EnterpriseRecord] = field(default_factory=dict)
    updated_at: dict[str, datetime] = field(default_factory=dict)
    figures: dict[str, dict[str, MonthlyFigures]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {
            "enterprises": [
                {"record": record.as_dict(), "updated_at": self.updated_at[record.id].isoformat()}
                for record in self.records.values()
            ],
            "figures": {
                enterprise_id: [f.as_dict() for _p, f in sorted(periods.items())]
                for enterprise_id, periods in self.figures.items()
            },
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RegistryData:
        """Read back :meth:`as_dict`."""
        data = cls()
        for item in stored.get("enterprises", []):
            record = EnterpriseRecord.from_dict(item["record"])
            data.records[record.id] = record
            data.updated_at[record.id] = datetime.fromisoformat(item["updated_at"])
        for enterprise_id, items in (stored.get("figures") or {}).items():
            data.figures[enterprise_id] = {
                figures.period: figures for figures in map(MonthlyFigures.from_dict, items)
            }
        return data


class RegistryStore:
    """Loads (and seeds) and saves the registry's records and figures."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.enterprises", atomic_writes=True
        )

    async def async_load(self, profile: ParkProfile) -> RegistryData:
        """The stored data, plus the profile's enterprises it does not know yet (then saved)."""
        data = RegistryData.from_dict(await self._store.async_load() or {})
        new = 0
        now = dt_util.utcnow()
        for index, enterprise in enumerate(profile.enterprises.values()):
            if enterprise.id not in data.records:
                data.records[enterprise.id] = seed_record(index, enterprise, data.records, profile)
                data.updated_at[enterprise.id] = now
                new += 1
        if new:
            await self.async_save(data)
            LOGGER.debug("Enterprise registry seeded with %d enterprises from the profile", new)
        return data

    async def async_save(self, data: RegistryData) -> None:
        """Write ``data`` now: callers show a change only once it is saved."""
        await self._store.async_save(data.as_dict())


def seed_record(
    index: int, enterprise: Enterprise, records: Mapping[str, EnterpriseRecord], profile: ParkProfile
) -> EnterpriseRecord:
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
            return plan_rows([row], records, profile.buildings).records[0]
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
