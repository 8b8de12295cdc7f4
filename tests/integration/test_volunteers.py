"""Volunteer dispatch against HA's real mobile_app: fake phones on loopback, the park simulator over TCP.

A call point pressed at the simulator opens a fire incident; the roll-call reaches the phones through the
relay (push_url) or the local push channel (confirmed), answers come back as the app sends them (webhook
``fire_event``), escalation runs on HA's clock, and a reload in the middle resumes from the stored deadlines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.logbook import describe_rollcall
from custom_components.smart_park.volunteers import EVENT_ESCALATED, EVENT_RESPONDED, Delivery, Response, push
from custom_components.smart_park.volunteers.model import Shift
from simulator.phone import FakePhone, Notification, RelayMode
from simulator.server import ParkSimulator

from .conftest import ParkFactory, entry_options, park_document
from .helpers import async_poll, entity_state
from .phones import PhoneFactory

pytestmark = pytest.mark.usefixtures("socket_enabled")

CALL_POINT = "fire_bell_controller"  # park_document(): in 1号楼 (b1)


async def call(hass: HomeAssistant, service: str, user: MockUser | None = None, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        return_response=service
        in {"set_volunteer", "dispatch_volunteers", "record_response", "notify_volunteers"},
        context=Context(user_id=user.id if user else None),
    )


class Team:
    """The park, its simulator and three volunteers' phones."""

    def __init__(self, entry: SmartParkConfigEntry, sim: ParkSimulator, phones: dict[str, FakePhone]) -> None:
        self.entry, self.sim, self.phones = entry, sim, phones

    @property
    def rollcalls(self) -> Any:
        return self.entry.runtime_data.volunteers.rollcalls

    async def fire(self, hass: HomeAssistant, floor: int = 3) -> str:
        """Press a call point; the id of the fire incident it opened (dispatch done)."""
        self.sim.press_call_point(CALL_POINT, floor)
        await async_poll(hass, self.entry)
        await hass.async_block_till_done()
        incidents = self.entry.runtime_data.incidents.open_incidents()
        assert [i.kind.value for i in incidents] == ["fire"]
        return incidents[0].id


@pytest.fixture
def team_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def park(
    hass: HomeAssistant, park_factory: ParkFactory, team_options: dict[str, Any]
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park, set up before the phones' HTTP server starts (HA's router is frozen from then on)."""
    park = await park_factory(park_document(), options=entry_options(**team_options))
    assert await async_setup_component(hass, "diagnostics", {})
    return park


@pytest.fixture
async def team(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    phone_factory: PhoneFactory,
    hass_admin_user: MockUser,
) -> Team:
    """王伟 captain (relay, zh-Hans), 李娜 leader of b1 (local push, confirms), 陈刚 volunteer (relay, en)."""
    entry, sim = park
    phones = {
        "wang": await phone_factory("王伟的手机"),
        "li": await phone_factory("李娜的手机", local_push=True),
        "chen": await phone_factory("Chen Gang phone"),
    }
    setups = {
        "wang": {"name": "王伟", "role": "captain", "language": "zh-Hans"},
        "li": {"name": "李娜", "role": "building_leader", "building": "b1", "language": "zh-Hans"},
        "chen": {
            "name": "陈刚",
            "role": "volunteer",
            "building": "b1",
            "language": "en",
            "phone": "13900000000",
        },
    }
    for key, fields in setups.items():
        await call(hass, "set_volunteer", hass_admin_user, user_id=phones[key].user_id, **fields)
    await hass.async_block_till_done()
    return Team(entry, sim, phones)


def callouts(phone: FakePhone) -> list[Notification]:
    return [n for n in phone.notifications if n.actions]


async def test_call_point_reaches_every_phone_with_the_apps_alarm_fields(
    hass: HomeAssistant, team: Team
) -> None:
    incident_id = await team.fire(hass)
    tag = f"smart_park_{incident_id}"
    chen = await team.phones["chen"].wait_for(lambda n: bool(n.actions))
    # The relay body as HA posts it: our fields untouched, the app's token and registration beside them.
    assert chen.path == "relay"
    assert chen.title == "Fire alarm · 1号楼, floor 3"
    assert chen.message == "Fire alarm at 1号楼, floor 3. Volunteers needed: answer now."
    data = chen.data
    assert {k: data[k] for k in ("tag", "group", "channel", "ttl", "priority", "persistent")} == {
        "tag": tag,
        "group": tag,
        "channel": "alarm_stream",
        "ttl": 0,
        "priority": "high",
        "persistent": True,
    }
    assert data["push"] == {
        "interruption-level": "critical",
        "sound": {"name": "default", "critical": 1, "volume": 1.0},
    }
    assert [a["title"] for a in data["actions"]] == ["On my way", "Can't come"]
    assert chen.body["push_token"] == team.phones["chen"].push_token
    wang = await team.phones["wang"].wait_for(lambda n: bool(n.actions))
    assert wang.title == "火警 · 1号楼 3层"
    assert [a["title"] for a in wang.data["actions"]] == ["出发", "无法前往"]
    # 李娜's phone has its local push channel: the notification came over it and was confirmed.
    li = await team.phones["li"].wait_for(lambda n: bool(n.actions))
    assert li.path == "local"
    rollcall = team.rollcalls.get(incident_id)
    assert rollcall is not None
    # Same building first: 李娜 and 陈刚 (b1) before 王伟.
    assert [r.name for r in rollcall.recipients.values()] == ["李娜", "陈刚", "王伟"]
    await team.phones["li"].wait_until(
        lambda: team.rollcalls.get(incident_id).recipients[team.phones["li"].user_id].delivery
        is Delivery.CONFIRMED
    )
    delivery = {r.name: (r.delivery, r.path) for r in team.rollcalls.get(incident_id).recipients.values()}
    assert delivery == {
        "李娜": (Delivery.CONFIRMED, "local"),
        "陈刚": (Delivery.SENT, "relay"),
        "王伟": (Delivery.SENT, "relay"),
    }


async def test_answers_come_back_by_name_and_quorum_ends_escalation(hass: HomeAssistant, team: Team) -> None:
    responded = async_capture_events(hass, EVENT_RESPONDED)
    escalated = async_capture_events(hass, EVENT_ESCALATED)
    incident_id = await team.fire(hass)
    for key in ("chen", "wang", "li"):
        phone = team.phones[key]
        await phone.wait_for(lambda n: bool(n.actions))
        on_my_way = next(a for a in callouts(phone)[-1].actions if a.endswith("_ON_MY_WAY"))
        assert await phone.answer(on_my_way) == 200
        await hass.async_block_till_done()
    assert [(e.data["name"], e.data["response"], e.data["via"]) for e in responded] == [
        ("陈刚", "on_my_way", "app"),
        ("王伟", "on_my_way", "app"),
        ("李娜", "on_my_way", "app"),
    ]
    assert responded[0].context.user_id == team.phones["chen"].user_id
    rollcall = team.rollcalls.get(incident_id)
    assert rollcall.quorum_at is not None
    assert rollcall.next_deadline() is None
    # On the way: the notification became the "Arrived" one, replacing the call-out (same tag).
    chen = team.phones["chen"]
    arrived = await chen.wait_for(lambda n: any(a.endswith("_ARRIVED") for a in n.actions))
    assert arrived.data["tag"] == f"smart_park_{incident_id}"
    await chen.answer(next(a for a in arrived.actions if a.endswith("_ARRIVED")))
    await hass.async_block_till_done()
    summary = team.entry.runtime_data.incidents.get(incident_id).detail["rollcall"]
    assert (summary["on_my_way"], summary["arrived"], summary["quorum_reached"]) == (3, 1, True)
    assert summary["first_on_my_way_s"] is not None
    assert summary["first_arrival_s"] >= summary["first_on_my_way_s"]
    # Quorum reached: the clock passing 3 minutes escalates nothing.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=4))
    await hass.async_block_till_done()
    assert escalated == []


async def test_an_answer_from_another_users_phone_is_refused(hass: HomeAssistant, team: Team) -> None:
    responded = async_capture_events(hass, EVENT_RESPONDED)
    await team.fire(hass)
    chen_callout = await team.phones["chen"].wait_for(lambda n: bool(n.actions))
    # 王伟's phone taps 陈刚's button (a forwarded action id): the event's user is 王伟, not 陈刚.
    assert await team.phones["wang"].answer(chen_callout.actions[0]) == 200
    await hass.async_block_till_done()
    assert responded == []
    refused = [e for e in team.entry.runtime_data.audit.entries() if e.action == "answer_refused"]
    assert [(e.outcome.value, e.data["reason"]) for e in refused] == [("refused", "answer_from_other_user")]


async def test_escalation_repeats_then_calls_for_help(
    hass: HomeAssistant, team: Team, hass_ws_client: WebSocketGenerator
) -> None:
    escalated = async_capture_events(hass, EVENT_ESCALATED)
    incident_id = await team.fire(hass)
    before = {key: len(callouts(phone)) for key, phone in team.phones.items()}
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()
    assert [e.data["step"] for e in escalated] == ["repeat_all"]
    # Nobody answered: everyone was asked again.
    for key, phone in team.phones.items():
        await phone.wait_until(lambda phone=phone, key=key: len(callouts(phone)) > before[key])
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=181))
    await hass.async_block_till_done()
    assert [e.data["step"] for e in escalated] == ["repeat_all", "call_for_help"]
    # The park manager's alert in HA's UI.
    assert await async_setup_component(hass, "persistent_notification", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "persistent_notification/get"})
    shown = {n["notification_id"]: n for n in (await client.receive_json())["result"]}
    assert "1号楼" in shown[f"smart_park_{incident_id}_volunteers"]["title"]
    # The captain (王伟) got the critical call for help.
    await team.phones["wang"].wait_for(lambda n: n.data.get("tag") == f"smart_park_{incident_id}_volunteers")
    steps = [e.action for e in team.entry.runtime_data.audit.entries() if e.action.startswith("rollcall_")]
    assert steps[0] == "rollcall_dispatched"
    assert "rollcall_repeat_all" in steps
    assert "rollcall_call_for_help" in steps


async def test_reload_mid_rollcall_resumes_its_deadlines(hass: HomeAssistant, team: Team) -> None:
    escalated = async_capture_events(hass, EVENT_ESCALATED)
    incident_id = await team.fire(hass)
    assert await hass.config_entries.async_reload(team.entry.entry_id)
    await hass.async_block_till_done()
    rollcall = team.entry.runtime_data.volunteers.rollcalls.get(incident_id)
    assert rollcall is not None
    assert rollcall.repeat_at is not None
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()
    assert [e.data["step"] for e in escalated] == ["repeat_all"]
    # Answers to the notifications sent before the reload still count (tokens are stored).
    chen = team.phones["chen"]
    first = callouts(chen)[0]
    await chen.answer(next(a for a in first.actions if a.endswith("_ON_MY_WAY")))
    await hass.async_block_till_done()
    rollcall = team.entry.runtime_data.volunteers.rollcalls.get(incident_id)
    assert rollcall.recipients[chen.user_id].response is Response.ON_MY_WAY


async def test_closing_the_incident_clears_the_phones(
    hass: HomeAssistant, team: Team, hass_admin_user: MockUser
) -> None:
    incident_id = await team.fire(hass)
    await team.phones["chen"].wait_for(lambda n: bool(n.actions))
    await call(hass, "close_incident", hass_admin_user, incident_id=incident_id)
    await hass.async_block_till_done()
    for phone in team.phones.values():
        cleared = await phone.wait_for(lambda n: n.message == "clear_notification")
        assert cleared.data["tag"] == f"smart_park_{incident_id}"
    assert not team.rollcalls.get(incident_id).active


async def test_the_duty_room_records_a_radio_answer(
    hass: HomeAssistant, team: Team, hass_admin_user: MockUser
) -> None:
    incident_id = await team.fire(hass)
    chen = team.phones["chen"].user_id
    result = await call(
        hass, "record_response", hass_admin_user, incident_id=incident_id, user_id=chen, response="arrived"
    )
    recipient = next(r for r in result["recipients"] if r["user_id"] == chen)
    assert (recipient["via"], recipient["recorded_by"], recipient["response"]) == (
        "radio",
        hass_admin_user.id,
        "on_my_way",
    )
    assert recipient["arrived_at"] is not None
    assert "token" not in recipient
    entry = [e for e in team.entry.runtime_data.audit.entries() if e.action == "volunteer_arrived"][-1]
    assert entry.user_id == hass_admin_user.id
    assert entry.data["volunteer_name"] == "陈刚"


async def test_roster_changes_are_admin_only_and_bad_input_changes_nothing(
    hass: HomeAssistant, team: Team, hass_read_only_user: MockUser, hass_admin_user: MockUser
) -> None:
    roster = team.entry.runtime_data.volunteers.roster
    before = [v.as_dict() for v in roster.volunteers()]
    chen = team.phones["chen"].user_id
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_volunteer", hass_read_only_user, user_id=chen, role="captain")
    assert err.value.translation_key == "volunteer_admin_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_volunteer", hass_admin_user, user_id=chen, building="b9")
    assert err.value.translation_key == "volunteer_unknown_building"
    assert err.value.translation_placeholders == {"field": "building", "value": "b9"}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_volunteer", hass_admin_user, user_id=chen, role="building_leader", building="")
    assert err.value.translation_placeholders == {"field": "building"}
    assert [v.as_dict() for v in roster.volunteers()] == before
    # The phone is personal data: not in the audit log.
    assert all("13900000000" not in str(e.as_dict()) for e in team.entry.runtime_data.audit.entries())


async def test_reachability_entities_and_repair(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    phone_factory: PhoneFactory,
    hass_admin_user: MockUser,
) -> None:
    entry, _sim = park
    phone = await phone_factory("赵敏的手机", relay=False)  # local push only, not connected yet
    await call(hass, "set_volunteer", hass_admin_user, user_id=phone.user_id, name="赵敏")
    await hass.async_block_till_done()
    park_id = entry.runtime_data.profile.id
    push_path = ("binary_sensor", f"{park_id}_volunteer.{phone.user_id}_volunteer_push_path")
    assert entity_state(hass, *push_path).state == "off"
    issue_id = f"{park_id}_volunteer_unreachable_{phone.user_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await phone.connect_local_push()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert entity_state(hass, *push_path).state == "on"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    result = await call(
        hass, "notify_volunteers", hass_admin_user, title="演练通知", message="明天 9:00 消防演练"
    )
    assert result == {"sent": [phone.user_id], "unreachable": []}
    await phone.wait_for(lambda n: n.title == "演练通知")
    last = ("sensor", f"{park_id}_volunteer.{phone.user_id}_volunteer_last_delivery")
    await phone.wait_until(lambda: entity_state(hass, *last).state == "confirmed")
    assert entity_state(hass, *("sensor", f"{park_id}_park.volunteers_on_duty")).state == "1"


async def test_a_phone_that_does_not_confirm_falls_back_to_the_relay(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    phone_factory: PhoneFactory,
    hass_admin_user: MockUser,
) -> None:
    entry, sim = park
    phone = await phone_factory("孙丽的手机", local_push=True, confirm=False)
    await call(hass, "set_volunteer", hass_admin_user, user_id=phone.user_id, name="孙丽")
    team = Team(entry, sim, {"sun": phone})
    incident_id = await team.fire(hass)
    await phone.wait_for(lambda n: n.path == "local" and bool(n.actions))
    recipient = team.rollcalls.get(incident_id).recipients[phone.user_id]
    assert recipient.delivery is Delivery.PENDING
    # mobile_app waits 10 s for the confirmation, then drops the channel and uses the relay.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    await phone.wait_for(lambda n: n.path == "relay" and bool(n.actions))
    recipient = team.rollcalls.get(incident_id).recipients[phone.user_id]
    assert (recipient.delivery, recipient.path) == (Delivery.SENT, "relay")


def test_logbook_names_the_volunteer_and_the_place() -> None:
    base = {"incident_id": "p-i4", "kind": "fire", "building_name": "1号楼", "floor": 3, "quorum": 3}
    name, message = describe_rollcall(
        EVENT_RESPONDED, {**base, "name": "陈刚", "response": "on_my_way", "via": "app", "seconds": 42.4}
    )
    assert (name, message) == (
        "Volunteer 陈刚",
        "on the way: Fire at 1号楼 floor 3 (p-i4), 42 s after the alarm",
    )
    _name, message = describe_rollcall(EVENT_ESCALATED, {**base, "step": "call_for_help", "on_my_way": 1})
    assert message == "below quorum, help called for (1/3 on the way): Fire at 1号楼 floor 3 (p-i4)"


async def _volunteer_page(hass: HomeAssistant, entry: SmartParkConfigEntry, step: str) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "volunteers"}
    )
    return await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": step})


async def test_options_flow_manages_the_roster_and_the_settings(hass: HomeAssistant, team: Team) -> None:
    roster = team.entry.runtime_data.volunteers.roster
    chen = team.phones["chen"].user_id
    result = await _volunteer_page(hass, team.entry, "volunteer_add")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"user_id": chen})
    assert result["step_id"] == "volunteer_form"
    # A shift without its end changes nothing.
    bad = {"role": "duty_officer", "shift_start": "20:00:00"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], bad)
    assert result["errors"] == {"base": "shift_invalid"}
    assert roster.get(chen).role.value == "volunteer"
    # The form shows the volunteer's fields filled in; the frontend sends them back with the changes.
    schema = result["data_schema"].schema
    shown = {key.schema: key.description["suggested_value"] for key in schema if key.description}
    assert shown["phone"] == "13900000000"
    night = {
        **shown,
        "role": "duty_officer",
        "shift_days": ["mon"],
        "shift_start": "20:00:00",
        "shift_end": "08:00:00",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], night)
    assert result["reason"] == "volunteer_saved"
    volunteer = roster.get(chen)
    assert volunteer.role.value == "duty_officer"
    assert (volunteer.phone, volunteer.building, volunteer.language) == ("13900000000", "b1", "en")
    assert [s.as_dict() for s in volunteer.shifts] == [{"days": ["mon"], "start": "20:00", "end": "08:00"}]
    result = await _volunteer_page(hass, team.entry, "volunteer_settings")
    settings = {
        "volunteer_dispatch_kinds": ["fire"],
        "volunteer_quorum": 2,
        "volunteer_repeat_after": 30,
        "volunteer_escalate_after": 120,
        "volunteer_help_broadcast": False,
        "volunteer_relay_reachable": False,
        "volunteer_notify_service": "notify.nowhere",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], settings)
    assert result["errors"] == {"volunteer_notify_service": "unknown_service"}
    settings["volunteer_notify_service"] = ""
    result = await hass.config_entries.options.async_configure(result["flow_id"], settings)
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    options = team.entry.runtime_data.volunteers.rollcalls.options
    assert (sorted(options.kinds), options.quorum, options.repeat_after.total_seconds()) == (["fire"], 2, 30)
    result = await _volunteer_page(hass, team.entry, "volunteer_remove")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"user_id": chen})
    assert result["reason"] == "volunteer_removed"
    assert team.entry.runtime_data.volunteers.roster.get(chen) is None


async def test_websocket_roster_and_rollcalls_without_personal_data(
    hass: HomeAssistant,
    team: Team,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    operator = await hass_ws_client(hass, hass_read_only_access_token)
    await operator.send_json_auto_id({"type": "smart_park/volunteers/list"})
    roster = {v["name"]: v for v in (await operator.receive_json())["result"]["volunteers"]}
    assert set(roster) == {"王伟", "李娜", "陈刚"}
    assert "phone" not in roster["陈刚"]
    assert (roster["李娜"]["reachable"], roster["李娜"]["phones"][0]["local_push"]) == (True, True)
    admin = await hass_ws_client(hass)
    await admin.send_json_auto_id({"type": "smart_park/volunteers/list"})
    phones = {v["name"]: v.get("phone") for v in (await admin.receive_json())["result"]["volunteers"]}
    assert phones["陈刚"] == "13900000000"
    await operator.send_json_auto_id({"type": "smart_park/rollcalls/subscribe"})
    assert (await operator.receive_json())["success"]
    assert (await operator.receive_json())["event"] == {"rollcalls": []}
    incident_id = await team.fire(hass)
    chen = team.phones["chen"]
    await chen.wait_for(lambda n: bool(n.actions))
    await chen.answer(next(a for a in callouts(chen)[-1].actions if a.endswith("_ON_MY_WAY")))
    await hass.async_block_till_done()
    updates = []
    while not updates or updates[-1]["on_my_way"] == 0:
        updates.extend((await operator.receive_json())["event"]["rollcalls"])
    last = updates[-1]
    assert (last["incident_id"], last["on_my_way"]) == (incident_id, 1)
    answered = next(r for r in last["recipients"] if r["user_id"] == chen.user_id)
    assert (answered["name"], answered["response"]) == ("陈刚", "on_my_way")
    assert all("token" not in r for u in updates for r in u["recipients"])


async def test_diagnostics_carry_no_volunteer_name_or_phone(
    hass: HomeAssistant, team: Team, hass_client: ClientSessionGenerator
) -> None:
    incident_id = await team.fire(hass)
    chen = team.phones["chen"]
    await chen.wait_for(lambda n: bool(n.actions))
    await chen.answer(next(a for a in callouts(chen)[-1].actions if a.endswith("_ON_MY_WAY")))
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, team.entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for personal in ("陈刚", "王伟", "李娜", "13900000000"):
        assert personal not in text
    team_part = diagnostics["volunteers"]
    assert sorted(v["role"] for v in team_part["volunteers"]) == ["building_leader", "captain", "volunteer"]
    assert team_part["rollcalls"][-1]["incident_id"] == incident_id
    assert team_part["rollcalls"][-1]["on_my_way"] == 1


async def test_dispatch_is_idempotent_and_everyone_widens_it(
    hass: HomeAssistant, team: Team, hass_admin_user: MockUser, phone_factory: PhoneFactory
) -> None:
    incident_id = await team.fire(hass)
    await team.phones["chen"].wait_for(lambda n: bool(n.actions))
    sent = {key: len(callouts(phone)) for key, phone in team.phones.items()}
    again = await call(hass, "dispatch_volunteers", hass_admin_user, incident_id=incident_id)
    await hass.async_block_till_done()
    assert len(again["recipients"]) == 3
    assert {key: len(callouts(phone)) for key, phone in team.phones.items()} == sent
    # A volunteer added during the incident is asked when the duty room asks everyone; the others are not.
    zhao = await phone_factory("赵敏的手机")
    await call(hass, "set_volunteer", hass_admin_user, user_id=zhao.user_id, name="赵敏")
    widened = await call(hass, "dispatch_volunteers", hass_admin_user, incident_id=incident_id, everyone=True)
    await hass.async_block_till_done()
    assert len(widened["recipients"]) == 4
    await zhao.wait_for(lambda n: bool(n.actions))
    assert {key: len(callouts(phone)) for key, phone in team.phones.items()} == sent


async def test_set_volunteer_keeps_what_is_left_out_and_clears_what_is_empty(
    hass: HomeAssistant, team: Team, hass_admin_user: MockUser
) -> None:
    roster = team.entry.runtime_data.volunteers.roster
    chen = team.phones["chen"].user_id
    await call(hass, "set_volunteer", hass_admin_user, user_id=chen, role="duty_officer")
    assert (roster.get(chen).role.value, roster.get(chen).phone, roster.get(chen).building) == (
        "duty_officer",
        "13900000000",
        "b1",
    )
    await call(hass, "set_volunteer", hass_admin_user, user_id=chen, phone="", shifts=[])
    assert roster.get(chen).phone is None
    assert roster.get(chen).building == "b1"


def test_a_shift_starting_when_it_ends_is_the_whole_day() -> None:
    whole = Shift(days=("mon",), start=time(8), end=time(8))
    monday = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)  # a Monday (local time in use)
    assert whole.covers(monday)
    assert not whole.covers(monday + timedelta(days=1))
    night = Shift(days=("mon",), start=time(20), end=time(8))
    assert night.covers(monday.replace(hour=21))
    assert night.covers(monday.replace(hour=7) + timedelta(days=1))  # Tuesday morning, Monday's night
    assert not night.covers(monday.replace(hour=7))


async def test_a_hanging_relay_delays_nobody_and_a_refused_one_is_failed(
    hass: HomeAssistant,
    team: Team,
    phone_factory: PhoneFactory,
    hass_admin_user: MockUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(push, "RELAY_TIMEOUT", 1.0)  # the relay's own 10 s, shortened for the test
    hanging = await phone_factory("钱进的手机", relay_mode=RelayMode.HANG)
    refusing = await phone_factory("孙丽的手机", relay_mode=RelayMode.ERROR)
    for phone, name in ((hanging, "钱进"), (refusing, "孙丽")):
        await call(hass, "set_volunteer", hass_admin_user, user_id=phone.user_id, name=name)
    team.sim.press_call_point(CALL_POINT, 2)
    await async_poll(hass, team.entry)
    # Sent together: the others' alarm does not wait for the hanging relay's 10 s timeout.
    for key in ("chen", "wang", "li"):
        await team.phones[key].wait_for(lambda n: bool(n.actions), timeout=3)
    incident_id = team.entry.runtime_data.incidents.open_incidents()[0].id
    await team.phones["chen"].wait_until(
        lambda: team.rollcalls.get(incident_id).recipients[refusing.user_id].delivery is Delivery.FAILED
    )
    await team.phones["chen"].wait_until(
        lambda: team.rollcalls.get(incident_id).recipients[hanging.user_id].delivery is Delivery.FAILED
    )
    recipients = team.rollcalls.get(incident_id).recipients
    assert recipients[team.phones["chen"].user_id].delivery is Delivery.SENT


@pytest.mark.parametrize("team_options", [{"volunteer_relay_reachable": False}])
async def test_where_the_relay_is_unreachable_a_relay_only_phone_is_a_repair(
    hass: HomeAssistant, team: Team
) -> None:
    roster = team.entry.runtime_data.volunteers.roster
    park_id = team.entry.runtime_data.profile.id
    issues = ir.async_get(hass)
    for key, local in (("li", True), ("chen", False), ("wang", False)):
        user_id = team.phones[key].user_id
        assert roster.reachable(user_id) is local
        assert (issues.async_get_issue(DOMAIN, f"{park_id}_volunteer_unreachable_{user_id}") is None) is local


async def test_notices_by_user_and_the_call_for_help_cleared_with_the_incident(
    hass: HomeAssistant, team: Team, hass_admin_user: MockUser
) -> None:
    li = team.phones["li"].user_id
    result = await call(
        hass, "notify_volunteers", hass_admin_user, title="测试", message="测试通知", users=[li]
    )
    assert result == {"sent": [li], "unreachable": []}
    incident_id = await team.fire(hass)
    for seconds in (61, 181):  # each step's timer fires at its own deadline
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
        await hass.async_block_till_done()
    help_tag = f"smart_park_{incident_id}_volunteers"
    # The captain reads the call for help in his language (zh-Hans), 陈刚 is not an officer.
    notice = await team.phones["wang"].wait_for(lambda n: n.data.get("tag") == help_tag)
    assert notice.title == "火警"
    assert not [n for n in team.phones["chen"].notifications if n.data.get("tag") == help_tag]
    await call(hass, "close_incident", hass_admin_user, incident_id=incident_id)
    await hass.async_block_till_done()
    await team.phones["wang"].wait_for(
        lambda n: n.message == "clear_notification" and n.data["tag"] == help_tag
    )
