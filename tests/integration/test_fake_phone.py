"""The fake companion-app phone against HA's real mobile_app: relay push, local push, fallback, answers."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulator import phonectl
from simulator.phone import ACTION_EVENT, APP_ID, APP_VERSION, RelayMode
from tests.integration.phones import PhoneFactory, create_user, notify_service

ACTIONS = [
    {"action": "SMART_PARK_abc_ON_MY_WAY", "title": "On my way"},
    {"action": "SMART_PARK_abc_CANNOT_COME", "title": "Cannot come"},
]


async def notify(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call("notify", service, data, blocking=True)
    await hass.async_block_till_done()


async def test_registration(hass: HomeAssistant, phone_factory: PhoneFactory) -> None:
    """Two phones register: each its own webhook, HA device, notify action and user."""
    user, token = await create_user(hass, "王伟")
    phone_a = await phone_factory("Phone A", user=(user, token))
    phone_b = await phone_factory("Phone B", relay=False)
    assert phone_a.webhook_id != phone_b.webhook_id
    assert phone_a.user_id == user.id
    assert phone_b.user_id not in ("", user.id)
    registry = dr.async_get(hass)
    device = registry.async_get(phone_a.ha_device_id or "")
    assert device is not None
    assert (device.name, device.manufacturer, device.identifiers) == (
        "Phone A",
        "Xiaomi",
        {("mobile_app", phone_a.device_id)},
    )
    assert hass.services.has_service("notify", notify_service(phone_a))
    assert hass.services.has_service("notify", notify_service(phone_b))  # local push only still counts


async def test_relay_push_body(hass: HomeAssistant, phone_factory: PhoneFactory) -> None:
    """notify.mobile_app_<name> posts the exact body the relay gets to the phone's push_url."""
    phone = await phone_factory("Phone A")
    other = await phone_factory("Phone B")
    start = time.monotonic()
    await notify(
        hass, notify_service(phone), title="火警", message="1号楼2层", data={"actions": ACTIONS, "tag": "t"}
    )
    received = await phone.wait_for(timeout=5)
    assert received.path == "relay"
    assert received.body == {
        "message": "1号楼2层",
        "title": "火警",
        "data": {"actions": ACTIONS, "tag": "t"},
        "push_token": phone.push_token,
        "registration_info": {
            "app_id": APP_ID,
            "app_version": APP_VERSION,
            "os_version": "14",
            "webhook_id": phone.webhook_id,
        },
    }
    assert start <= received.received <= time.monotonic()
    assert received.actions == ["SMART_PARK_abc_ON_MY_WAY", "SMART_PARK_abc_CANNOT_COME"]
    assert [r.status for r in phone.relay_requests] == [201]
    assert other.notifications == []


async def test_local_push_confirmed(hass: HomeAssistant, phone_factory: PhoneFactory) -> None:
    """Over the local push channel: HA adds a confirm id, the phone confirms, nothing goes to the relay."""
    phone = await phone_factory("Phone A", local_push=True)
    await notify(hass, notify_service(phone), title="火警", message="1号楼2层", data={"actions": ACTIONS})
    received = await phone.wait_for(lambda n: n.confirmed is not None, timeout=5)
    assert received.path == "local"
    # The channel forwards the notification as built: message, title, data, plus the confirm id.
    assert set(received.body) == {"message", "title", "data", "hass_confirm_id"}
    assert received.data == {"actions": ACTIONS}
    assert received.confirmed is True
    # Well past HA's confirmation timeout: confirmed, so no fallback.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done()
    assert phone.relay_requests == []
    assert [n.path for n in phone.notifications] == ["local"]


async def test_unconfirmed_local_push_falls_back_to_relay(
    hass: HomeAssistant, phone_factory: PhoneFactory
) -> None:
    """No confirmation within 10 s: HA drops the channel and sends the same notification by the relay."""
    phone = await phone_factory("Phone A", local_push=True, confirm=False)
    await notify(hass, notify_service(phone), message="1号楼2层", data={"tag": "fire"})
    local = await phone.wait_for(timeout=5)
    assert (local.path, local.confirmed) == ("local", None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=9))
    await hass.async_block_till_done()
    assert phone.relay_requests == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    relayed = await phone.wait_for(lambda n: n.path == "relay", timeout=5)
    # The relay gets the very data the channel had, confirm id included.
    assert relayed.body["hass_confirm_id"] == local.confirm_id
    assert (relayed.message, relayed.data) == ("1号楼2层", {"tag": "fire"})
    # The channel is gone on HA's side although the phone's websocket is still open: the relay from now on.
    assert phone.local_push_connected
    await notify(hass, notify_service(phone), message="second")
    second = await phone.wait_for(lambda n: n.message == "second", timeout=5)
    assert second.path == "relay"
    assert "hass_confirm_id" not in second.body


async def test_disconnect_sends_unconfirmed_by_relay(
    hass: HomeAssistant, phone_factory: PhoneFactory
) -> None:
    """A phone that drops its connection: HA sends whatever it had not confirmed by the relay at once."""
    phone = await phone_factory("Phone A", local_push=True, confirm=False)
    await notify(hass, notify_service(phone), message="pending")
    await phone.wait_for(timeout=5)
    await phone.disconnect_local_push()
    relayed = await phone.wait_for(lambda n: n.path == "relay", timeout=5)
    assert relayed.message == "pending"
    # HA's teardown sends it but leaves its 10 s timer scheduled (a no-op by then): let it run out.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    assert len(phone.relay_requests) == 1


async def test_local_push_only_phone(hass: HomeAssistant, phone_factory: PhoneFactory) -> None:
    """Without a relay (no push_url) a phone is reachable only while its channel is open."""
    phone = await phone_factory("Phone A", relay=False, local_push=True)
    assert phone.push_url is None
    await notify(hass, notify_service(phone), message="local only")
    assert (await phone.wait_for(timeout=5)).path == "local"
    await phone.disconnect_local_push()
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError, match="not connected to local push"):
        await notify(hass, notify_service(phone), message="nobody")


@pytest.mark.parametrize(("mode", "status"), [(RelayMode.ERROR, 500), (RelayMode.RATE_LIMITED, 429)])
async def test_relay_failures(
    hass: HomeAssistant,
    phone_factory: PhoneFactory,
    mode: RelayMode,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing relay: HA got an error answer (and logs it); the phone shows nothing."""
    phone = await phone_factory("Phone A", relay_mode=mode)
    await notify(hass, notify_service(phone), message="lost")
    assert [r.status for r in phone.relay_requests] == [status]
    assert phone.notifications == []
    assert "Phone A" in caplog.text


async def test_answer_fires_action_event_as_the_phone_user(
    hass: HomeAssistant, phone_factory: PhoneFactory
) -> None:
    """A tapped action reaches HA's bus as mobile_app_notification_action, in the phone user's context."""
    phone = await phone_factory("Phone A", local_push=True)
    other = await phone_factory("Phone B")
    events: list[Event] = []
    hass.bus.async_listen(ACTION_EVENT, events.append)
    await notify(
        hass, notify_service(phone), title="火警", message="1号楼2层", data={"actions": ACTIONS, "tag": "t"}
    )
    await phone.wait_for(timeout=5)
    assert await phone.answer("SMART_PARK_abc_ON_MY_WAY") == 200
    assert await other.answer("SMART_PARK_xyz_ARRIVED") == 200  # never notified: only the action
    await hass.async_block_till_done()
    first, second = events
    assert first.context.user_id == phone.user_id
    assert second.context.user_id == other.user_id != phone.user_id
    # As the Android app: the notification's data flattened, message and title, and the action.
    assert first.data == {
        "action": "SMART_PARK_abc_ON_MY_WAY",
        "message": "1号楼2层",
        "title": "火警",
        "tag": "t",
        "action_1_key": "SMART_PARK_abc_ON_MY_WAY",
        "action_1_title": "On my way",
        "action_1_uri": "null",
        "action_2_key": "SMART_PARK_abc_CANNOT_COME",
        "action_2_title": "Cannot come",
        "action_2_uri": "null",
    }
    assert second.data == {"action": "SMART_PARK_xyz_ARRIVED"}


async def test_relay_that_never_answers(
    hass: HomeAssistant, phone_factory: PhoneFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A relay that hangs: HA gives up after its 10 s timeout (its clock moved here) and logs it."""
    phone = await phone_factory("Phone A", relay_mode=RelayMode.HANG)
    await hass.services.async_call("notify", notify_service(phone), {"message": "lost"}, blocking=False)
    await phone.wait_until(lambda: phone.relay_requests, timeout=5)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    assert "Timeout sending notification to Phone A" in caplog.text
    assert [r.status for r in phone.relay_requests] == [None]
    assert phone.notifications == []


async def test_phonectl_answers_the_newest_offer(
    hass: HomeAssistant, phone_factory: PhoneFactory, tmp_path: Path
) -> None:
    """The demo's CLI answers from the state file: the newest notification offering the response."""
    phone = await phone_factory("Phone A", local_push=True)
    events: list[Event] = []
    hass.bus.async_listen(ACTION_EVENT, events.append)
    for token in ("old", "new"):
        actions = [{"action": f"SMART_PARK_{token}_ON_MY_WAY", "title": "On my way"}]
        await notify(hass, notify_service(phone), message=token, data={"actions": actions})
        await phone.wait_for(lambda n, token=token: n.message == token, timeout=5)
    state_path = tmp_path / "phones.json"
    phonectl.write_state(state_path, phone.base_url, [phonectl.phone_record("陈刚", phone, role="volunteer")])
    assert state_path.stat().st_mode & 0o077 == 0
    text = state_path.read_text(encoding="utf-8")
    assert phone.push_token not in text
    assert "hass_confirm_id" not in text
    result = await phonectl.answer(phonectl.read_state(state_path), "陈刚", "on_my_way")
    assert result == {
        "volunteer": "陈刚",
        "device": "Phone A",
        "action": "SMART_PARK_new_ON_MY_WAY",
        "status": 200,
    }
    await hass.async_block_till_done()
    (event,) = events
    assert (event.data["action"], event.data["message"]) == ("SMART_PARK_new_ON_MY_WAY", "new")
    assert event.context.user_id == phone.user_id
    with pytest.raises(SystemExit, match="offers 'arrived'"):
        phonectl.find_action(phonectl.read_state(state_path), "陈刚", "arrived")
