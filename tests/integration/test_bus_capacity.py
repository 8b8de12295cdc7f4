"""A serial bus whose tiers do not fit its bus time raises a repair issue that clears when they do (#16)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.smart_park.bus_capacity import issue_id
from custom_components.smart_park.const import CONF_INTERVAL, DOMAIN
from custom_components.smart_park.engine.catalogue import Tier

from .conftest import ParkFactory, entry_options, park_document
from .helpers import entity_state

ISSUE = issue_id("gw1")


def _serial_park(**transport: Any) -> dict[str, Any]:
    document = park_document()
    document["gateways"][0].update(transport)
    return document


def _options(fast: float) -> dict[str, Any]:
    # Safety and fast at their defaults' scale; normal and slow on demand, so only these two load the bus.
    return entry_options(**{CONF_INTERVAL[Tier.SAFETY]: 0.1, CONF_INTERVAL[Tier.FAST]: fast})


async def test_overloaded_9600_baud_bus_raises_an_issue_that_a_slower_interval_clears(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    entry, _sim = await park_factory(
        _serial_park(transport="serial_over_tcp", baudrate=9600), options=_options(fast=0.25)
    )
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "bus_overload"
    assert issue.severity is ir.IssueSeverity.WARNING
    placeholders = issue.translation_placeholders or {}
    assert placeholders["tier"] == "fast"
    assert placeholders["baud"] == "9600"
    assert placeholders["period"] == "0.25"
    assert placeholders["safety_period"] == "0.10"
    assert float(placeholders["achieved"]) > 0.25
    fit = float(placeholders["fit"])
    assert fit > 0.25
    assert placeholders["devices"]

    # The interval the issue proposes, as shown, fits: the reload (as the options flow does) leaves no issue.
    hass.config_entries.async_update_entry(entry, options=_options(fast=fit))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_same_park_on_tcp_or_a_fast_bus_raises_nothing(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    await park_factory(_serial_park(), options=_options(fast=0.25))
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_safety_tier_that_cannot_keep_its_interval_is_an_error(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    await park_factory(
        _serial_park(transport="serial_over_tcp", baudrate=1200), options=_options(fast=3600.0)
    )
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "bus_overload_safety"
    assert issue.severity is ir.IssueSeverity.ERROR


async def test_hass_polls_through_an_emulated_bus(hass: HomeAssistant, park_factory: ParkFactory) -> None:
    # The integration's client against the simulator's emulated 9600-baud line: every transaction waits its
    # turn and its line time, and the park still comes up with its readings.
    _entry, sim = await park_factory(
        _serial_park(transport="serial_over_tcp", baudrate=9600),
        options=_options(fast=2.0),
        emulate_buses=True,
    )
    bus = sim.buses["gw1"]
    assert bus.transactions > 0
    assert bus.busy >= bus.transactions * 0.02  # at least a one-register read's line time each (~33 ms)
    energy = entity_state(hass, "sensor", "test_park_energy_meter_energy_import")
    assert energy.state not in ("unavailable", "unknown")
