"""The repair issue of a serial bus whose configured poll tiers do not fit its bus time (#16).

At set-up (an options change reloads the entry, so it runs again) each serial gateway's planned reads are
timed by engine/bus.py against the configured intervals. When they do not fit, one issue per gateway names the
first tier (in priority order) that runs late, how late, and the interval that would fit; unload clears it,
so a set-up where the tiers fit leaves none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from homeassistant.helpers import issue_registry as ir

from .engine.bus import BusModel, CapacityReport, TierLoad, capacity_report
from .engine.catalogue import Tier
from .engine.modbus import GatewayPoller
from .engine.profile import ParkProfile
from .repairs import RepairIssues

# Devices named in the issue: the ones taking the most bus time in the late tier.
MAX_NAMED_DEVICES = 3


def issue_id(gateway_id: str) -> str:
    """The issue of one gateway's bus."""
    return f"bus_overload_{gateway_id}"


def gateway_report(
    profile: ParkProfile, poller: GatewayPoller, periods: Mapping[Tier, float]
) -> CapacityReport:
    """The capacity report of one gateway's planned reads at the configured periods."""
    gateway = poller.client.gateway
    plans = {
        tier: [block for blocks in poller.plan(tier).values() for block in blocks] for tier in poller.tiers()
    }
    return capacity_report(gateway, plans, periods)


def _busiest(profile: ParkProfile, poller: GatewayPoller, tier: Tier) -> str:
    model = BusModel.of(poller.client.gateway)
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
) -> dict[str, CapacityReport]:
    """Raise or remove each serial gateway's issue; returns the reports of the serial gateways."""
    reports: dict[str, CapacityReport] = {}
    for gateway_id, poller in pollers.items():
        gateway = poller.client.gateway
        late: TierLoad | None = None
        if gateway.serial:
            reports[gateway_id] = report = gateway_report(profile, poller, periods)
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
            "safety_period": _seconds(safety.period if safety is not None else periods[Tier.SAFETY]),
            "devices": _busiest(profile, poller, late.tier),
        }
        repairs.create(
            issue_id(gateway_id),
            "bus_overload_safety" if late.tier is Tier.SAFETY else "bus_overload",
            severity=ir.IssueSeverity.ERROR if late.tier is Tier.SAFETY else ir.IssueSeverity.WARNING,
            placeholders=placeholders,
        )
    return reports
