"""The sensor blueprints (fire-water tank, air quality, electrical safety) as automations in HA.

The simulator sets the readings, a poll brings them in, HA's clock (frozen and moved) drives the repeats and
the "sustained for" timers. Volunteers are HA users on the park's roster; without phones they come back as
unreachable, which is enough to see whom each notice was meant for (the volunteers' own tests cover delivery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smart_park.audit import Category, Source
from custom_components.smart_park.coordinator import SmartParkConfigEntry, SmartParkCoordinator
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .blueprint_helpers import (  # blueprint_env: autouse
    PARK_ID,
    async_use_blueprint,
    audit,
    automation_errors,
    blueprint_env,  # noqa: F401
    notifications,
    pushed,
    start_park,
    volunteer,
)
from .conftest import ParkFactory
from .helpers import async_poll, eid

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def park(park_factory: ParkFactory) -> AsyncIterator[tuple[SmartParkConfigEntry, ParkSimulator]]:
    """The blueprint park polled only on demand, between clock moves.

    Moving HA's clock in these tests fires every timer of the loop that falls due, the poll loops' and the
    Modbus requests' timeouts among them; so the poll loops do not run and polls are never in flight then.
    """
    with patch.object(SmartParkCoordinator, "async_start"):
        yield await start_park(park_factory)


def notices(entry: SmartParkConfigEntry) -> list[dict[str, Any]]:
    """The notify_volunteers calls the automations made: title and whom they were for."""
    return [
        {"title": e.data["title"], "for": sorted(e.data["sent"] + e.data["unreachable"])}
        for e in audit(entry, Category.VOLUNTEER, "volunteers_notified")
        if e.source is Source.AUTOMATION
    ]


def pushed_messages(hass: HomeAssistant) -> list[str]:
    """What the blueprints' notify action (notify.persistent_notification here) said."""
    return [n["message"] for n in pushed(hass)]


async def advance(
    hass: HomeAssistant, entry: SmartParkConfigEntry, freezer: FrozenDateTimeFactory, minutes: int
) -> None:
    """Let ``minutes`` pass on HA's clock a minute at a time, polling the park each minute as it would.

    The time-pattern trigger sees every minute; the polls keep the readings fresh (stale ones go unavailable).
    """
    for _ in range(minutes):
        freezer.move_to(dt_util.utcnow() + timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await async_poll(hass, entry, Tier.NORMAL)


async def test_tank_low_alerts_repeats_and_restores(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Level below 1 m: an alert with the value, again every 30 min while low, then a restored notice."""
    entry, sim = park
    officer = await volunteer(hass, "值班员", role="duty_officer")
    await volunteer(hass, "志愿者", role="volunteer")
    level = eid(hass, "sensor", f"{PARK_ID}_tank_1_level")
    await async_use_blueprint(
        hass,
        "tank_low",
        {
            "level_sensors": [level, eid(hass, "sensor", f"{PARK_ID}_tank_2_level")],
            "repeat_minutes": 30,
            "notify_action": "notify.persistent_notification",
        },
    )
    sim.set_value("tank_1", "level", 0.8)
    await async_poll(hass, entry, Tier.NORMAL)
    assert notices(entry) == [{"title": "💧 消防水箱低于阈值", "for": [officer]}]
    name = hass.states.get(level).attributes["friendly_name"]  # type: ignore[union-attr]
    assert pushed_messages(hass) == [f"{name} 0.80 m\n请检查补水和管网。"]
    assert notifications(hass)["smart_park_tank_low"]["message"] == f"{name} 0.80 m"
    # Checked every 5 minutes of the clock: the repeat comes 30 to 35 minutes later, then every 30.
    await advance(hass, entry, freezer, 29)
    assert len(notices(entry)) == 1
    await advance(hass, entry, freezer, 6)
    assert len(notices(entry)) == 2  # still low after 30 minutes
    await advance(hass, entry, freezer, 30)
    assert len(notices(entry)) == 3
    sim.set_value("tank_1", "level", 3.5)
    await async_poll(hass, entry, Tier.NORMAL)
    assert notices(entry)[-1] == {"title": "✅ 消防水箱已恢复", "for": [officer]}
    assert "smart_park_tank_low" not in notifications(hass)
    await advance(hass, entry, freezer, 60)
    assert len(notices(entry)) == 4  # restored: no more repeats
    assert not automation_errors(caplog)


async def test_tank_pressure_low_and_a_sensor_coming_back_is_not_restored(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """Pressure below its threshold alerts too; a sensor back from unavailable is no "restored" notice."""
    entry, sim = park
    await volunteer(hass, "值班员", role="duty_officer")
    await async_use_blueprint(
        hass,
        "tank_low",
        {
            "level_sensors": [eid(hass, "sensor", f"{PARK_ID}_tank_1_level")],
            "pressure_sensors": [eid(hass, "sensor", f"{PARK_ID}_tank_1_pressure")],
            "language": "en",
        },
    )
    sim.set_value("tank_1", "pressure", 80)
    await async_poll(hass, entry, Tier.NORMAL)
    assert [n["title"] for n in notices(entry)] == ["💧 Fire-water tank low"]
    sim.set_value("tank_1", "pressure", 330)
    sim.silence_unit("tank_1")
    await async_poll(hass, entry, Tier.NORMAL)
    sim.silence_unit("tank_1", False)
    await async_poll(hass, entry, Tier.NORMAL)
    assert [n["title"] for n in notices(entry)] == ["💧 Fire-water tank low"]
    assert not automation_errors(caplog)


async def test_air_quality_sustained_above_the_limit(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SO₂ above 150 µg/m³ for 30 minutes (not 29, not interrupted): the officer is told, with the value."""
    entry, sim = park
    officer = await volunteer(hass, "环保员", role="duty_officer")
    so2 = eid(hass, "sensor", f"{PARK_ID}_air_1_so2")
    await async_use_blueprint(
        hass,
        "air_quality",
        {
            "so2_sensors": [so2],
            "pm25_sensors": [eid(hass, "sensor", f"{PARK_ID}_air_1_pm25")],
            "sustained": {"minutes": 30},
            "notify_action": "notify.persistent_notification",
        },
    )
    sim.set_value("air_1", "so2", 180)
    await async_poll(hass, entry, Tier.NORMAL)
    await advance(hass, entry, freezer, 20)
    sim.set_value("air_1", "so2", 100)  # back under the limit: the 30 minutes start again
    await async_poll(hass, entry, Tier.NORMAL)
    sim.set_value("air_1", "so2", 180)
    await async_poll(hass, entry, Tier.NORMAL)
    await advance(hass, entry, freezer, 29)
    assert notices(entry) == []
    await advance(hass, entry, freezer, 1)
    assert notices(entry) == [{"title": "🌫️ 大气超标：SO₂", "for": [officer]}]
    name = hass.states.get(so2).attributes["friendly_name"]  # type: ignore[union-attr]
    limit = "超过限值 150 μg/m³ 已持续 30 分钟（GB 3095-2012 二级 24 小时平均限值）"
    assert pushed_messages(hass) == [f"{name} 180 μg/m³，{limit}。请核查排放源。"]
    await advance(hass, entry, freezer, 60)
    assert len(notices(entry)) == 1  # once per exceedance
    assert not automation_errors(caplog)


async def test_electrical_alarm_tells_the_enterprise_and_the_electrician(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    """elec_1 serves e001: e001's people (on duty or not) and the electrician; elec_2 serves no enterprise."""
    entry, sim = park
    staff = await volunteer(hass, "恒达员工", enterprise="e001", shifts=[{"start": "00:00", "end": "00:01"}])
    await volunteer(hass, "远航员工", enterprise="e002")
    electrician = await volunteer(hass, "电工", role="duty_officer")
    await async_use_blueprint(
        hass,
        "electrical_safety",
        {
            "alarm_sensors": [
                eid(hass, "binary_sensor", f"{PARK_ID}_elec_1_electrical_alarm"),
                eid(hass, "binary_sensor", f"{PARK_ID}_elec_2_electrical_alarm"),
            ],
            "language": "en",
        },
    )
    sim.set_value("elec_1", "residual_current", 350)
    sim.set_value("elec_1", "electrical_alarm", True)
    await async_poll(hass, entry)
    title = "⚡ Electrical safety: 恒达机械有限公司"
    assert notices(entry) == [{"title": title, "for": [staff]}, {"title": title, "for": [electrician]}]
    [first] = audit(entry, Category.VOLUNTEER, "volunteers_notified")[:1]
    assert first.data["title"] == title
    sim.set_value("elec_2", "electrical_alarm", True)
    await async_poll(hass, entry, Tier.FAST)
    assert [n["for"] for n in notices(entry)[2:]] == [[electrician]]
    assert not automation_errors(caplog)


async def test_cable_temperature_above_the_limit(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cable at 85 °C for a minute: the message names the enterprise, the cable and the value."""
    entry, sim = park
    await async_use_blueprint(
        hass,
        "electrical_safety",
        {
            "temperature_sensors": [eid(hass, "sensor", f"{PARK_ID}_elec_1_cable_temperature_2")],
            "electrician_roles": [],
            "electrician_notify_action": "notify.persistent_notification",
            "language": "en",
        },
    )
    sim.set_value("elec_1", "cable_temperature_2", 85)
    await async_poll(hass, entry, Tier.NORMAL)
    assert pushed_messages(hass) == []
    await advance(hass, entry, freezer, 1)
    [message] = pushed_messages(hass)
    assert message.startswith("恒达机械有限公司 1号楼 ")
    assert message.endswith(" 85.0 °C (limit 70 °C). Check the circuits now.")
    assert not automation_errors(caplog)
