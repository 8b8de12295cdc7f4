"""The duty room's side of the fire monitoring centre link (#14): the layout park_sync maps from, the
centre's roll-call prompt and its answer, and the audit of what the centre did."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_park.centre import desk
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry

from .conftest import PARK_ID, ParkFactory, park_document
from .phones import PhoneFactory

NOTIFICATION = f"smart_park_{PARK_ID}_centre_rollcall"


async def _ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, msg: dict[str, Any], **kw: Any) -> Any:
    client = await hass_ws_client(hass, **kw)
    await client.send_json_auto_id(msg)
    return await client.receive_json()


def _notifications(hass: HomeAssistant) -> dict[str, Any]:
    return dict(persistent_notification._async_get_or_create_notifications(hass))


def _centre_audit(entry: SmartParkConfigEntry) -> list[dict[str, Any]]:
    return [e.as_dict() for e in entry.runtime_data.audit.entries() if e.category.value == "centre"]


async def test_layout_places_every_point(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, init_integration: SmartParkConfigEntry
) -> None:
    reply = await _ws(hass, hass_ws_client, {"type": "smart_park/centre/layout"})
    assert reply["success"], reply
    (park,) = reply["result"]["parks"]
    assert park["park_id"] == PARK_ID
    assert park["buildings"] == [{"id": "b1", "name": "1号楼", "number": 1, "floors": 6, "basements": 0}]
    assert park["enterprises"] == {"e001": "恒达机械有限公司"}
    devices = {d["id"]: d for d in park["devices"]}
    bells = {p["key"]: p for p in devices["fire_bell_controller"]["points"]}
    # A controller's call point n and bell n are on floor n (the device itself is on floor 1).
    assert (bells["call_point_3"]["floor"], bells["call_point_3"]["channel"]) == (3, 3)
    assert bells["call_point_3"]["entity_id"].startswith("binary_sensor.")
    assert bells["bell_2"]["entity_id"].startswith("siren.")
    assert bells["bell_2"]["floor"] == 2
    assert "uscc" not in str(park)  # no personal data
    assert "13800000000" not in str(park)
    (group,) = park["linkage"]
    assert group["building"] == "b1"
    assert hass.states.get(group["state"]) is not None
    other = await _ws(hass, hass_ws_client, {"type": "smart_park/centre/layout", "park_id": "nowhere"})
    assert other["error"]["code"] == "not_found"


async def test_layout_and_reports_are_for_administrators(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    hass_read_only_access_token: str,
) -> None:
    for msg in (
        {"type": "smart_park/centre/layout"},
        {"type": "smart_park/centre/report", "event": "rollcall"},
    ):
        reply = await _ws(hass, hass_ws_client, msg, access_token=hass_read_only_access_token)
        assert reply["error"]["code"] == "unauthorized"


async def test_rollcall_prompts_and_a_user_answers(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    events: list[Any] = []
    hass.bus.async_listen("smart_park_centre_rollcall_answered", events.append)
    reply = await _ws(
        hass, hass_ws_client, {"type": "smart_park/centre/report", "event": "rollcall", "minutes": 5}
    )
    assert reply["result"] == {"parks": [PARK_ID]}
    await hass.async_block_till_done()
    prompt = _notifications(hass)[NOTIFICATION]
    assert "answer_centre_rollcall" in prompt["message"]
    assert "5 minutes" in prompt["message"]
    await hass.services.async_call(
        DOMAIN, "answer_centre_rollcall", {}, blocking=True, context=Context(user_id=hass_read_only_user.id)
    )
    await hass.async_block_till_done()
    assert NOTIFICATION not in _notifications(hass)
    asked, answered = _centre_audit(init_integration)
    assert (asked["action"], asked["data"]["minutes"]) == ("rollcall_asked", 5)
    assert (answered["action"], answered["user_id"], answered["source"]) == (
        "rollcall_answered",
        hass_read_only_user.id,
        "user",
    )
    assert len(events) == 1
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "answer_centre_rollcall", {}, blocking=True)
    assert err.value.translation_key == "centre_rollcall_none"


async def test_unanswered_rollcall_is_missed(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, init_integration: SmartParkConfigEntry
) -> None:
    await _ws(hass, hass_ws_client, {"type": "smart_park/centre/report", "event": "rollcall", "minutes": 1})
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1, seconds=5))
    await hass.async_block_till_done()
    assert [e["action"] for e in _centre_audit(init_integration)] == ["rollcall_asked", "rollcall_missed"]
    assert "not answered" in _notifications(hass)[NOTIFICATION]["message"]
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "answer_centre_rollcall", {}, blocking=True)


async def test_clock_sync_and_initialise_are_audited(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, init_integration: SmartParkConfigEntry
) -> None:
    clock = {"type": "smart_park/centre/report", "event": "clock_sync", "offset": -42.5, "centre_time": "x"}
    assert (await _ws(hass, hass_ws_client, clock))["success"]
    assert (await _ws(hass, hass_ws_client, {"type": "smart_park/centre/report", "event": "initialise"}))[
        "success"
    ]
    sync, init = _centre_audit(init_integration)
    assert (sync["action"], sync["data"]["offset"], sync["source"]) == ("clock_sync", -42.5, "system")
    assert init["action"] == "initialise"


async def test_duty_officers_on_duty_get_the_rollcall_on_their_phones(
    hass: HomeAssistant,
    park_factory: ParkFactory,
    phone_factory: PhoneFactory,
    hass_admin_user: MockUser,
) -> None:
    entry, _sim = await park_factory(park_document())  # before the phones: HA's router freezes with them
    officer = await phone_factory("值班员的手机")
    volunteer = await phone_factory("Volunteer phone")
    admin = Context(user_id=hass_admin_user.id)
    for phone, fields in (
        (officer, {"name": "赵敏", "role": "duty_officer", "language": "zh-Hans"}),
        (volunteer, {"name": "Li", "role": "volunteer", "language": "en"}),
    ):
        await hass.services.async_call(
            DOMAIN, "set_volunteer", {"user_id": phone.user_id, **fields}, blocking=True, context=admin
        )
    await desk(hass).async_rollcall(entry, 7)
    await hass.async_block_till_done()
    push = await officer.wait_for(lambda n: "查岗" in (n.title or ""))
    assert push.title == "消防远程监控中心查岗"
    assert "7 分钟" in push.message
    assert push.data["tag"] == NOTIFICATION
    assert not volunteer.notifications  # only duty officers are asked
    desk(hass).answer(entry, admin)
    await hass.async_block_till_done()
