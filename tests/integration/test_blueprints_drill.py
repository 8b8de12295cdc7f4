"""The fire-drill blueprint (an automation on a date-time helper) and the call-volunteers script blueprint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smart_park.audit import Category, Outcome, Source
from custom_components.smart_park.const import CONF_LINKAGE_PIN_HASH
from custom_components.smart_park.coordinator import SmartParkConfigEntry, SmartParkCoordinator
from custom_components.smart_park.linkage import hash_pin
from simulator.server import ParkSimulator

from .blueprint_helpers import (  # blueprint_env: autouse
    async_use_blueprint,
    audit,
    automation_errors,
    blueprint_env,  # noqa: F401
    plays,
    start_park,
    volunteer,
)
from .conftest import ParkFactory
from .phones import PhoneFactory

pytestmark = pytest.mark.usefixtures("socket_enabled")

PIN = "4711"
GENERAL_NOTICE, DRILL_START = 7, 4  # the controllers' built-in preset slots
DRILL, NOTICE = 2, 1  # priorities as the controller's register gets them


@pytest.fixture
async def park(park_factory: ParkFactory) -> AsyncIterator[tuple[SmartParkConfigEntry, ParkSimulator]]:
    """The park with a linkage PIN, polled only on demand (HA's clock moves; see test_blueprints_sensors)."""
    with patch.object(SmartParkCoordinator, "async_start"):
        yield await start_park(park_factory, **{CONF_LINKAGE_PIN_HASH: hash_pin(PIN)})


async def drill_helper(hass: HomeAssistant, at: str) -> str:
    """A date-time helper set to ``at`` (local time)."""
    assert await async_setup_component(
        hass, "input_datetime", {"input_datetime": {"drill": {"has_date": True, "has_time": True}}}
    )
    await hass.services.async_call(
        "input_datetime", "set_datetime", {"entity_id": "input_datetime.drill", "datetime": at}, blocking=True
    )
    return "input_datetime.drill"


async def move_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, local: str) -> None:
    """HA's clock to a local time."""
    freezer.move_to(dt_util.parse_datetime(local).replace(tzinfo=dt_util.get_default_time_zone()))  # type: ignore[union-attr]
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_drill_notices_then_broadcast_and_bell_test(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """15 min before: b1's volunteers and a notice in b1; at the time: drill broadcast and bells, audited."""
    entry, sim = park
    await move_to(hass, freezer, "2026-05-12 09:00:00")
    in_b1 = await volunteer(hass, "一号楼志愿者", building="b1", shifts=[{"start": "20:00", "end": "21:00"}])
    await volunteer(hass, "二号楼志愿者", building="b2")
    helper = await drill_helper(hass, "2026-05-12 10:00:00")
    await async_use_blueprint(hass, "fire_drill", {"building": "b1", "drill_time": helper, "pin": PIN})
    await move_to(hass, freezer, "2026-05-12 09:44:59")
    assert not plays(sim)
    await move_to(hass, freezer, "2026-05-12 09:45:00")
    [notice] = [
        e for e in audit(entry, Category.VOLUNTEER, "volunteers_notified") if e.source is Source.AUTOMATION
    ]
    assert notice.data["unreachable"] + notice.data["sent"] == [in_b1]  # off duty, still told
    assert notice.data["title"] == "消防演练通知 · Fire drill notice"
    [played] = plays(sim)
    assert (played.message_slot, played.zones, played.priority) == (GENERAL_NOTICE, [1, 2], NOTICE)
    start = len(sim.broadcasts)
    await move_to(hass, freezer, "2026-05-12 10:00:00")
    [played] = plays(sim, start)
    assert (played.message_slot, played.zones, played.priority, played.repeat_count) == (
        DRILL_START,
        [1, 2],
        DRILL,
        2,
    )
    assert all(sim.get_value("bells_1", f"bell_{n}") for n in range(1, 7))
    assert not any(sim.get_value("bells_2", f"bell_{n}") for n in range(1, 4))
    [test] = audit(entry, Category.LINKAGE, "test")
    assert (test.outcome, test.source, test.target) == (Outcome.OK, Source.AUTOMATION, "b1")
    started = [e.data["priority"] for e in audit(entry, Category.BROADCAST, "started")]
    assert started == ["notice", "drill"]
    assert not automation_errors(caplog)


async def test_drill_without_pin_is_refused_and_audited(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], freezer: FrozenDateTimeFactory
) -> None:
    """No PIN in the blueprint: the drill broadcast plays; the linkage refuses the bell test, audited."""
    entry, sim = park
    await move_to(hass, freezer, "2026-05-12 09:00:00")
    helper = await drill_helper(hass, "2026-05-12 10:00:00")
    await async_use_blueprint(hass, "fire_drill", {"building": "b1", "drill_time": helper})
    await move_to(hass, freezer, "2026-05-12 09:45:00")
    await move_to(hass, freezer, "2026-05-12 10:00:00")
    assert [p.message_slot for p in plays(sim)] == [GENERAL_NOTICE, DRILL_START]
    assert not any(sim.get_value("bells_1", f"bell_{n}") for n in range(1, 7))
    [test] = audit(entry, Category.LINKAGE, "test")
    assert (test.outcome, test.source) == (Outcome.REFUSED, Source.AUTOMATION)


async def test_call_volunteers_script_pushes_a_critical_call(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, ParkSimulator], phone_factory: PhoneFactory
) -> None:
    """The script with a building and a message: b1's volunteers get a critical push; the response."""
    phone = await phone_factory("一号楼志愿者的手机")
    in_b1 = await volunteer(
        hass, "一号楼志愿者", phone.user_id, building="b1", shifts=[{"start": "20:00", "end": "21:00"}]
    )
    await volunteer(hass, "二号楼志愿者", building="b2")
    await async_use_blueprint(hass, "call_volunteers", {}, domain="script")
    response = await hass.services.async_call(
        "script",
        "bp_call_volunteers",
        {"building": "b1", "message": "三层需要人手协助疏散"},
        blocking=True,
        return_response=True,
    )
    assert response == {"sent": [in_b1], "unreachable": []}
    pushed = await phone.wait_for(lambda n: n.message == "三层需要人手协助疏散")
    assert pushed.title == "请求支援 · Help needed"
    assert pushed.data["push"]["interruption-level"] == "critical"
    assert pushed.data["tag"] == "smart_park_help_b1"
