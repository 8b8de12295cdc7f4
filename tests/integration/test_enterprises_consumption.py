"""Monthly electricity and water per enterprise from simulated meters, energy intensity, park totals.

Time is frozen in Asia/Shanghai; meter counters are set in the simulator and read by slow polls over TCP.
"""

# ruff: noqa: F811 - the enterprise park's fixtures come from test_enterprises

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.enterprises import MeterMonth
from simulator.server import ParkSimulator

from .helpers import async_poll
from .test_enterprises import ent_entry, ent_simulator, sensor_id, state_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("socket_enabled")

BASE_KWH = 12000.0  # the simulated energy meters' counter with dynamics off
BASE_M3 = 5400.0


@pytest.fixture
def freezer(hass: HomeAssistant) -> Iterator[FrozenDateTimeFactory]:
    """Dates frozen at 15 June 2025 10:00 in China; the event loop keeps real time.

    Modbus timeouts and pymodbus's sleeps must still run. freezegun's ``real_asyncio`` gives the loop class
    the real clock, but the HA test loop binds ``time.monotonic`` (which freezegun freezes) on the instance.
    """
    # Taken before freezing: freezegun replaces module globals that hold the real clock.
    real_clock = time.monotonic
    frozen = freeze_time("2025-06-15T10:00:00+08:00", real_asyncio=True)
    factory = frozen.start()
    loop_time = hass.loop.time
    hass.loop.time = real_clock  # type: ignore[method-assign]
    yield factory
    hass.loop.time = loop_time  # type: ignore[method-assign]
    frozen.stop()


@pytest.fixture
async def park(
    hass: HomeAssistant, ent_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> AsyncIterator[SmartParkConfigEntry]:
    """The enterprise park, set up on 15 June 2025 (the frozen time) in China Standard Time."""
    await hass.config.async_set_time_zone("Asia/Shanghai")
    assert await hass.config_entries.async_setup(ent_entry.entry_id)
    await hass.async_block_till_done()
    yield ent_entry  # type: ignore[misc]
    if ent_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(ent_entry.entry_id)
        await hass.async_block_till_done()


# The tiers that read the meters' counters (normal: an energy meter's, carried; slow: the rest).
COUNTER_TIERS = (Tier.NORMAL, Tier.SLOW)


async def set_and_poll(
    hass: HomeAssistant, entry: SmartParkConfigEntry, simulator: ParkSimulator, **values: float
) -> None:
    """Set meter counters (device id -> kWh or m³) and poll them.

    An energy meter's counter (slow tier) rides on its normal-tier read (engine/piggyback.py), so the normal
    tier reads it and the slow tier takes it from that reply; a water meter's is read by the slow tier.
    """
    for device_id, value in values.items():
        key = "volume" if device_id.endswith("_wm") else "energy_import"
        simulator.set_value(device_id, key, value)
    await async_poll(hass, entry, *COUNTER_TIERS)


async def test_this_month_from_meters(
    hass: HomeAssistant, park: SmartParkConfigEntry, ent_simulator: ParkSimulator
) -> None:
    """This month's use is the sum of the enterprise's meters since their first reading of the month."""
    assert state_of(hass, "e001", "electricity_this_month") == "0.0"
    assert state_of(hass, "e001", "electricity_last_month") == "unknown"
    await set_and_poll(
        hass, park, ent_simulator, e001_em=BASE_KWH + 150.5, e001_em2=BASE_KWH + 20, e001_wm=BASE_M3 + 12.345
    )
    assert state_of(hass, "e001", "electricity_this_month") == "170.5"
    assert state_of(hass, "e001", "water_this_month") == "12.345"
    assert state_of(hass, "e002", "electricity_this_month") == "0.0"
    # e003 has no meters: its use is unknown, not zero.
    assert state_of(hass, "e003", "electricity_this_month") == "unknown"
    await set_and_poll(hass, park, ent_simulator, e002_em=BASE_KWH + 9.5)
    assert state_of(hass, None, "park_electricity_this_month") == "180.0"
    assert state_of(hass, None, "park_water_this_month") == "12.345"
    # Usable in the Energy dashboard.
    energy = hass.states.get(sensor_id(hass, "e001", "electricity_this_month"))
    water = hass.states.get(sensor_id(hass, "e001", "water_this_month"))
    assert energy is not None
    assert water is not None
    assert (
        energy.attributes[ATTR_DEVICE_CLASS],
        energy.attributes[ATTR_UNIT_OF_MEASUREMENT],
        energy.attributes[ATTR_STATE_CLASS],
    ) == ("energy", "kWh", SensorStateClass.TOTAL_INCREASING)
    assert (
        water.attributes[ATTR_DEVICE_CLASS],
        water.attributes[ATTR_UNIT_OF_MEASUREMENT],
        water.attributes[ATTR_STATE_CLASS],
    ) == ("water", "m³", SensorStateClass.TOTAL_INCREASING)


async def test_month_rollover_last_month_and_intensity(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    ent_simulator: ParkSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At midnight on the 1st this month restarts and last month holds June; intensity uses June's figures."""
    await set_and_poll(hass, park, ent_simulator, e001_em=BASE_KWH + 150.5, e001_em2=BASE_KWH + 20)
    freezer.move_to("2025-07-01T00:00:00+08:00")
    # The loop keeps real time (see the freezer fixture), so the midnight timer is fired explicitly.
    async_fire_time_changed(hass, fire_all=True)
    await hass.async_block_till_done()
    # No reading yet in July: nothing used this month so far; June is closed.
    assert state_of(hass, "e001", "electricity_this_month") == "0.0"
    assert state_of(hass, "e001", "electricity_last_month") == "170.5"
    # The first July reading: use since the last June reading counts in July.
    await set_and_poll(hass, park, ent_simulator, e001_em=BASE_KWH + 200.5)
    assert state_of(hass, "e001", "electricity_this_month") == "50.0"
    assert state_of(hass, "e001", "electricity_last_month") == "170.5"
    assert state_of(hass, None, "park_electricity_last_month") == "170.5"

    # June's figures: 1,000,000 CNY of output -> 170.5 kWh / 100 (10,000 CNY) = 1.705 kWh per 10,000 CNY.
    await hass.services.async_call(
        DOMAIN,
        "record_enterprise_figures",
        {"enterprise": "e001", "period": "2025-06", "output_value": 1_000_000, "tax": 60_000},
        blocking=True,
    )
    intensity = hass.states.get(sensor_id(hass, "e001", "energy_intensity"))
    assert intensity is not None
    assert intensity.state == "1.705"
    assert intensity.attributes["period"] == "2025-06"
    assert intensity.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh/10k CNY"
    assert state_of(hass, None, "park_energy_intensity") == "1.705"
    # e002's meters used nothing in June; e003 has no meters, so no intensity at all.
    for enterprise in ("e002", "e003"):
        await hass.services.async_call(
            DOMAIN,
            "record_enterprise_figures",
            {"enterprise": enterprise, "period": "2025-06", "output_value": 500_000, "tax": 1},
            blocking=True,
        )
    assert state_of(hass, "e002", "energy_intensity") == "0.0"
    assert state_of(hass, "e003", "energy_intensity") == "unknown"
    # The park's: e001 and e002 have electricity in June, 170.5 kWh over 1,500,000 CNY.
    assert state_of(hass, None, "park_energy_intensity") == "1.137"


async def test_restart_mid_month_keeps_the_month_start(
    hass: HomeAssistant,
    park: SmartParkConfigEntry,
    ent_simulator: ParkSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The month's first reading is stored: after a restart mid-month the use still counts from it."""
    await set_and_poll(hass, park, ent_simulator, e001_em=BASE_KWH + 100)
    assert state_of(hass, "e001", "electricity_this_month") == "100.0"
    assert await hass.config_entries.async_unload(park.entry_id)
    await hass.async_block_till_done()
    # While HA is down the meter runs on.
    ent_simulator.set_value("e001_em", "energy_import", BASE_KWH + 130)
    freezer.move_to("2025-06-20T08:00:00+08:00")
    assert await hass.config_entries.async_setup(park.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "e001", "electricity_this_month") == "130.0"
    stored = park.runtime_data.enterprises.meter_months["e001_em"]
    assert (stored.month, stored.start) == ("2025-06", BASE_KWH)


async def test_counter_reset(
    hass: HomeAssistant, park: SmartParkConfigEntry, ent_simulator: ParkSimulator
) -> None:
    """A replaced meter starting again near zero: the month keeps what it used and counts on."""
    await set_and_poll(hass, park, ent_simulator, e001_em=BASE_KWH + 50)
    await set_and_poll(hass, park, ent_simulator, e001_em=5.0)
    assert state_of(hass, "e001", "electricity_this_month") == "50.0"
    await set_and_poll(hass, park, ent_simulator, e001_em=7.5)
    assert state_of(hass, "e001", "electricity_this_month") == "52.5"
    # A small dip is read jitter, not a reset: ignored.
    await set_and_poll(hass, park, ent_simulator, e001_em=7.4)
    assert state_of(hass, "e001", "electricity_this_month") == "52.5"


async def test_unavailable_meter_keeps_its_month(
    hass: HomeAssistant, park: SmartParkConfigEntry, ent_simulator: ParkSimulator
) -> None:
    """A meter that stops answering neither resets nor loses the month."""
    await set_and_poll(hass, park, ent_simulator, e001_em=BASE_KWH + 40)
    ent_simulator.silence_unit("e001_em")
    await async_poll(hass, park, *COUNTER_TIERS)
    assert state_of(hass, "e001", "electricity_this_month") == "40.0"
    ent_simulator.silence_unit("e001_em", silent=False)
    ent_simulator.set_value("e001_em", "energy_import", BASE_KWH + 45)
    # The engine retries a silent unit at once (offline_retry 0 in tests).
    await async_poll(hass, park, *COUNTER_TIERS)
    assert state_of(hass, "e001", "electricity_this_month") == "45.0"


def test_meter_month_accounting() -> None:
    """The per-meter rules on their own: rollover, reset, jitter, kept months."""
    meter = MeterMonth("2025-01", 100.0, 100.0)
    assert not meter.add(110.0, "2025-01")
    assert meter.used() == 10.0
    assert meter.add(115.0, "2025-02")  # rollover: January closed at its last reading
    assert meter.months == {"2025-01": 10.0}
    assert meter.used() == 5.0
    assert meter.add(2.0, "2025-02")  # reset
    assert meter.used() == 5.0
    assert not meter.add(1.9, "2025-02")  # jitter
    assert meter.add(3.0, "2025-03")
    assert meter.used_in("2025-02") == 5.0
    assert meter.used_in("2025-03") == 1.0
    assert meter.used_in("2024-12") is None
    for month in range(1, 13):
        for year in (2026, 2027, 2028):
            meter.add(meter.last + 1, f"{year}-{month:02d}")
    assert len(meter.months) == 36
    assert MeterMonth.from_dict(meter.as_dict()) == meter
