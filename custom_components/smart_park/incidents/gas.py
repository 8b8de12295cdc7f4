"""Gas incidents: a detector's ``gas_alarm`` point opens one in the poll that saw it rise.

:class:`GasAlarms` runs as a coordinator hook on the tiers that read the detectors' alarm and concentration
points. The incident carries the triggering concentration and, while it is open, its peak; a cleared alarm
is audited and noted on the incident, which stays open for the duty room.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Source
from ..const import LOGGER
from ..engine.catalogue import Tier
from ..engine.modbus import PRIORITY, DeviceReading, ModbusError, ReadBlock, decode_point
from ..hooks import async_subscribe_polls
from .manager import IncidentManager
from .model import IncidentKind

if TYPE_CHECKING:
    from ..data import ParkPolls
    from ..engine.profile import Device

# The catalogue point whose rising edge opens a gas incident.
GAS_ALARM_KEY: Final = "gas_alarm"
GAS_CONCENTRATION_KEY: Final = "gas_concentration"
# Detail key of the highest concentration read while the gas incident is open.
GAS_PEAK_KEY: Final = "gas_concentration_peak"


class GasAlarms:
    """Opens a gas incident when a detector's ``gas_alarm`` point becomes active, in the poll that saw it.

    The incident carries the concentration of that moment: the same poll's value when its tier reads it,
    else read from the detector at once, in the same task. (The normal tier's last value can be a poll
    interval old: a leak rising to 30 %LEL was recorded at 0.6.) While the incident is open, every poll of
    the concentration raises ``gas_concentration_peak`` when it is higher.
    """

    def __init__(self, polls: ParkPolls, incidents: IncidentManager, audit: AuditLog) -> None:
        self.polls = polls
        self.incidents = incidents
        self.audit = audit
        self.detectors: dict[str, Device] = {
            device.id: device
            for device in polls.profile.devices.values()
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
        poller = self.polls.pollers.get(device.gateway)
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
                await self._async_alarm_rose(device, tier, reading, first_reading=before is None)
            elif before and not active:
                self._alarm_cleared(device_id)

    async def _async_alarm_rose(
        self, device: Device, tier: Tier, reading: DeviceReading, *, first_reading: bool
    ) -> None:
        """Open (or repeat) the detector's incident with the concentration of this moment."""
        # At start-up an alarm already open (from before a restart) is not a new one.
        if first_reading and self.incidents.find_open(IncidentKind.GAS, device.id) is not None:
            return
        detail: dict[str, Any] = {"alarm_at": dt_util.utcnow().isoformat()}
        if GAS_CONCENTRATION_KEY in reading.values:
            concentration = reading.values[GAS_CONCENTRATION_KEY]
        else:
            concentration = await self._async_read_concentration(device, tier)
        repeat = self.incidents.find_open(IncidentKind.GAS, device.id) is not None
        if concentration is not None:
            detail[GAS_CONCENTRATION_KEY] = concentration
            if not repeat:
                detail[GAS_PEAK_KEY] = concentration
                detail[f"{GAS_PEAK_KEY}_at"] = detail["alarm_at"]
        opened = self.incidents.open(
            IncidentKind.GAS,
            source=device.id,
            building=device.building,
            floor=device.floor,
            enterprise=device.enterprise,
            detail=detail,
        )
        if repeat:
            self._track_peak(opened.source, concentration)  # the higher of the two stays

    def _alarm_cleared(self, device_id: str) -> None:
        """Audit the cleared alarm; the incident stays open: someone must still go and check."""
        incident = self.incidents.find_open(IncidentKind.GAS, device_id)
        self.audit.record(
            Category.DEVICE,
            "gas_alarm_cleared",
            source=Source.FIELD,
            target=device_id,
            incident_id=incident.id if incident else None,
        )
        if incident is not None:
            self.incidents.update_detail(incident.id, {"alarm_cleared_at": dt_util.utcnow().isoformat()})

    async def async_hook(self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]) -> None:
        """Coordinator hook (runs in the poll task, before entities update)."""
        await self.async_handle(tier, readings)


async def async_watch_gas(polls: ParkPolls, incidents: IncidentManager, audit: AuditLog) -> GasAlarms:
    """Take the first polls of the park's gas detectors as baseline and follow the next ones."""
    gas = GasAlarms(polls, incidents, audit)
    # The first polls ran before this hook existed: they are the baseline, and an alarm already active then
    # (with no incident open from before a restart) opens one now.
    await async_subscribe_polls(polls.coordinators, gas.tiers(), gas.async_hook)
    return gas
