"""The repair issue of a serial bus whose configured poll tiers do not fit its bus time (#16).

At set-up (an options change reloads the entry, so it runs again) each serial gateway's planned reads are
timed by engine/bus.py against the configured intervals. When they do not fit, one issue per gateway names the
first tier (in priority order) that runs late, how late, and the interval that would fit; unload clears it,
so a set-up where the tiers fit leaves none.

The set-up check is modelled (frame sizes, declared turnaround). :class:`BusCapacityMonitor` then re-checks
from the gateway client's measured model (its transactions' real durations) once a gateway has
``MIN_SAMPLES`` measurements and every ``RECHECK_INTERVAL`` after, so the issue follows the real line: a
serial server or device slower than declared raises it, and it clears when the tiers fit what was measured.
The issue says which figures it shows (a ``_measured`` translation key).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval

from .engine.bus import BusModel, CapacityReport, TierLoad, capacity_report
from .engine.catalogue import Tier
from .engine.modbus import GatewayPoller
from .engine.profile import ParkProfile
from .repairs import RepairIssues

# Devices named in the issue: the ones taking the most bus time in the late tier.
MAX_NAMED_DEVICES = 3
# Measurements before a gateway's figures count as measured (the EWMA has then forgotten its first sample's
# weight to ~1 %), how often the first measured check is looked for, and the periodic re-check.
MIN_SAMPLES = 20
FIRST_CHECK_POLL = timedelta(seconds=10)
RECHECK_INTERVAL = timedelta(minutes=5)


def issue_id(gateway_id: str) -> str:
    """The issue of one gateway's bus."""
    return f"bus_overload_{gateway_id}"


def measured_model(poller: GatewayPoller) -> BusModel | None:
    """The client's bus model once it has enough measurements to stand for the line, else None."""
    model = poller.client.bus
    return model if model is not None and model.samples >= MIN_SAMPLES else None


def gateway_report(
    profile: ParkProfile, poller: GatewayPoller, periods: Mapping[Tier, float], model: BusModel | None = None
) -> CapacityReport:
    """The capacity report of one gateway's planned reads at the configured periods (modelled by default)."""
    gateway = poller.client.gateway
    plans = {
        tier: [block for blocks in poller.plan(tier).values() for block in blocks] for tier in poller.tiers()
    }
    return capacity_report(gateway, plans, periods, model=model)


def _busiest(profile: ParkProfile, poller: GatewayPoller, tier: Tier, model: BusModel) -> str:
    cost = {device_id: model.cycle_time(blocks) for device_id, blocks in poller.plan(tier).items()}
    busiest = sorted(cost, key=lambda device_id: -cost[device_id])[:MAX_NAMED_DEVICES]
    return ", ".join(profile.devices[device_id].name for device_id in busiest)


def _seconds(value: float | None, *, up: bool = False) -> str:
    if value is None:
        return "∞"
    # An interval proposed as fitting is rounded up, so that taking it as shown fits.
    return f"{math.ceil(value * 100 - 1e-9) / 100:.2f}" if up else f"{value:.2f}"


def async_check_bus_capacity(
    repairs: RepairIssues,
    profile: ParkProfile,
    pollers: Mapping[str, GatewayPoller],
    periods: Mapping[Tier, float],
    *,
    measured: bool = False,
) -> dict[str, CapacityReport]:
    """Raise or remove each serial gateway's issue; returns the reports of the serial gateways.

    With ``measured``, a gateway with ``MIN_SAMPLES`` measurements is judged by its measured model; the rest,
    and every gateway without ``measured``, by the line model alone.
    """
    reports: dict[str, CapacityReport] = {}
    for gateway_id, poller in pollers.items():
        gateway = poller.client.gateway
        late: TierLoad | None = None
        if gateway.serial:
            real = measured_model(poller) if measured else None
            model = real or BusModel.of(gateway)
            reports[gateway_id] = report = gateway_report(profile, poller, periods, model)
            late = report.first_late()
        if late is None:
            repairs.delete(issue_id(gateway_id))
            continue
        safety = report.tier(Tier.SAFETY)
        placeholders = {
            "gateway": gateway.name,
            "tier": str(late.tier),
            "cycle": _seconds(late.cycle),
            "baud": str(gateway.baudrate),
            "period": _seconds(late.period),
            "achieved": _seconds(late.achieved),
            "fit": _seconds(late.fits if late.fits is not None else late.achieved, up=True),
            # What the scheduler keeps for the safety tier (its own interval when its cycle fits).
            "safety_period": _seconds(safety.achieved if safety is not None else periods[Tier.SAFETY]),
            "devices": _busiest(profile, poller, late.tier, model),
        }
        key = "bus_overload_safety" if late.tier is Tier.SAFETY else "bus_overload"
        if real is not None:
            key += "_measured"
            placeholders["samples"] = str(real.samples)
            placeholders["ratio"] = f"{real.ratio:.1f}"
        repairs.create(
            issue_id(gateway_id),
            key,
            severity=ir.IssueSeverity.ERROR if late.tier is Tier.SAFETY else ir.IssueSeverity.WARNING,
            placeholders=placeholders,
        )
    return reports


class BusCapacityMonitor:
    """Re-checks the serial gateways' capacity from measured transaction times (see the module's text)."""

    def __init__(
        self,
        hass: HomeAssistant,
        repairs: RepairIssues,
        profile: ParkProfile,
        pollers: Mapping[str, GatewayPoller],
        periods: Mapping[Tier, float],
    ) -> None:
        self.hass = hass
        self._repairs = repairs
        self._profile = profile
        self._all = pollers
        self._periods = periods
        self._pollers = {gw_id: p for gw_id, p in pollers.items() if p.client.gateway.serial}
        # Gateways whose first measured check has run; the look-out for it stops when all have.
        self._first_done: set[str] = set()
        self._unsubs: list[CALLBACK_TYPE] = []
        self._first_unsub: CALLBACK_TYPE | None = None
        self.reports: dict[str, CapacityReport] = {}
        # Gateways whose latest report came from measurements.
        self.measured: set[str] = set()

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """The modelled check now, then the measured ones; returns the stop callback (for unload)."""
        self._run(measured=False)
        if self._pollers:
            self._unsubs.append(async_track_time_interval(self.hass, self._recheck, RECHECK_INTERVAL))
            self._first_unsub = async_track_time_interval(self.hass, self._look_for_first, FIRST_CHECK_POLL)
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Cancel the re-checks."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._stop_looking()

    def _run(self, *, measured: bool) -> None:
        self.reports = async_check_bus_capacity(
            self._repairs, self._profile, self._all, self._periods, measured=measured
        )
        self.measured = {gw_id for gw_id, p in self._pollers.items() if measured and measured_model(p)}

    @callback
    def _recheck(self, _now: datetime) -> None:
        self._run(measured=True)

    @callback
    def _look_for_first(self, _now: datetime) -> None:
        ready = {gw_id for gw_id, p in self._pollers.items() if measured_model(p) is not None}
        if ready - self._first_done:
            self._first_done |= ready
            self._run(measured=True)
        if self._first_done >= set(self._pollers):
            self._stop_looking()

    def _stop_looking(self) -> None:
        if self._first_unsub is not None:
            self._first_unsub()
            self._first_unsub = None
