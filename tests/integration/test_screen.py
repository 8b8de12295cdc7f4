"""The duty-room screen's server side (#13): its subscription, alarm notification, sync link and clean-up.

Real harness: the small park on the simulator over TCP, HA's websocket API with real users, the
integration's own actions; nothing mocked.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.incidents import IncidentKind
from custom_components.smart_park.screen import DATA_SCREEN, notification_id
from custom_components.smart_park.screen.panel import frontend_hash
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory, park_document
from .helpers import async_poll

pytestmark = pytest.mark.usefixtures("socket_enabled")

SUBSCRIBE = {"type": "smart_park/screen/subscribe"}
# Personal data of the small park's enterprise (conftest.park_document) and the keys that would carry it.
PERSONAL_VALUES = ("91330100MA2AXXXX07", "张三", "13800000000")
PERSONAL_KEYS = ("uscc", "contact_name", "contact_phone", "phone")


def screen_park() -> dict[str, Any]:
    """The small park with a basement and a declared duty room."""
    document = copy.deepcopy(park_document())
    document["buildings"][0]["basements"] = 1
    document["park"]["duty_room"] = {"building": "b1", "floor": 1, "name": "值班室"}
    return document


async def subscribe(client: MockHAClientWebSocket, **msg: Any) -> tuple[int, dict[str, Any]]:
    """Subscribe; the subscription id and its first event (the snapshot)."""
    await client.send_json_auto_id({**SUBSCRIBE, **msg})
    response = await client.receive_json()
    assert response["success"], response
    return int(response["id"]), await next_event(client, int(response["id"]))


async def next_event(client: MockHAClientWebSocket, sub_id: int, timeout: float = 3.0) -> dict[str, Any]:
    """The next event of a subscription."""
    message = await client.receive_json(timeout=timeout)
    assert (message["type"], message["id"]) == ("event", sub_id), message
    event: dict[str, Any] = message["event"]
    return event


async def delta_with(
    client: MockHAClientWebSocket, sub_id: int, key: str, timeout: float = 3.0
) -> dict[str, Any]:
    """The next delta carrying ``key`` (deltas without it are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await next_event(client, sub_id, timeout)
            if event["type"] == "delta" and key in event:
                return event


async def quiet(client: MockHAClientWebSocket, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Every event that comes within ``seconds``."""
    events = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                events.append((await client.receive_json())["event"])
    except TimeoutError:
        return events


def floor_state(park: dict[str, Any], building: str, floor: int) -> str:
    (place,) = [
        p for b in park["buildings"] if b["id"] == building for p in b["floor_places"] if p["floor"] == floor
    ]
    return str(place["state"])


@pytest.fixture
async def park(park_factory: ParkFactory) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The screen's small park."""
    return await park_factory(screen_park())


async def test_snapshot_shape(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """The map from the profile, the enterprise rows, devices with their values, special places, figures."""
    entry, _sim = park
    client = await hass_ws_client(hass)
    _sub, snapshot = await subscribe(client)
    assert snapshot["type"] == "snapshot"
    (item,) = snapshot["parks"]
    assert (item["config_entry_id"], item["park_id"], item["name"]) == (entry.entry_id, PARK_ID, "测试小微园")
    (building,) = item["buildings"]
    assert (building["id"], building["name"], building["floors"], building["basements"]) == (
        "b1",
        "1号楼",
        6,
        1,
    )
    assert [p["floor"] for p in building["floor_places"]] == [-1, 1, 2, 3, 4, 5, 6]
    floors = {p["floor"]: p for p in building["floor_places"]}
    assert floors[2]["enterprises"] == ["e001"]
    assert "fire_water_tank" in floors[1]["devices"]
    assert building["state"] == "normal"
    row = item["enterprises"]["e001"]
    assert row["name"] == "恒达机械有限公司"
    assert (row["building"], row["floor"]) == ("b1", 2)
    assert row["status"] == "active"
    assert row["state"] == "normal"
    assert len(row["month"]) == 7
    for key in ("electricity_kwh", "water_m3", "output_value", "tax", "energy_intensity"):
        assert key in row
    tank = item["devices"]["fire_water_tank"]
    assert (tank["type"], tank["state"], tank["available"]) == ("fire_water_tank", "normal", True)
    assert tank["values"]["level"] == pytest.approx(3.5)
    assert tank["values"]["pressure"] == pytest.approx(330.0)
    assert "values" not in item["devices"]["energy_meter"]
    kinds = {p["kind"]: p for p in item["special_places"]}
    assert set(kinds) == {"tank", "air_station", "duty_room"}
    assert (kinds["duty_room"]["name"], kinds["duty_room"]["floor"]) == ("值班室", 1)
    figures = item["figures"]
    assert (figures["devices_offline"], figures["devices_total"]) == (0, len(park_document()["devices"]))
    assert (figures["alarms_today"], figures["open_incidents"]) == (0, 0)
    (air,) = figures["air"]
    assert air["limits"] == {"so2": 150, "pm25": 75, "pm10": 150}
    assert air["exceeded"] == []
    (tank_figure,) = figures["tanks"]
    assert tank_figure["low_limit"] == 1.0
    assert tank_figure["low"] is False
    assert figures["sync"] == {"state": "unknown", "last_seen": None, "interval": None}
    assert item["linkage"] == [{"group": "b1", "building": "b1", "name": "1号楼", "state": "normal"}]
    assert item["incidents"] == []


async def test_call_point_colours_building_and_floor_within_one_poll(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """A call point pressed on floor 3: after one safety poll a delta says fire there and on the building."""
    entry, sim = park
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    sim.press_call_point("fire_bell_controller", 3)
    await async_poll(hass, entry, Tier.SAFETY)
    delta = await delta_with(client, sub, "places")
    assert {"building": "b1", "floor": 3, "state": "fire"} in delta["places"]
    assert all(place["floor"] is not None for place in delta["places"])  # the building's state is below
    assert {"id": "b1", "state": "fire"} in delta["buildings"]
    (incident,) = delta["incidents"]
    assert (incident["kind"], incident["state"], incident["place"]["floor"]) == ("fire", "open", 3)
    assert incident["place"]["building_name"] == "1号楼"
    assert delta["figures"]["open_incidents"] == 1
    assert delta["figures"]["alarms_today"] == 1
    # The floor stays red after the call point is released: the alarm is latched and its incident open.
    sim.release_call_point("fire_bell_controller", 3)
    await async_poll(hass, entry, Tier.SAFETY)
    _sub2, snapshot = await subscribe(await hass_ws_client(hass))
    (item,) = snapshot["parks"]
    assert floor_state(item, "b1", 3) == "fire"
    assert floor_state(item, "b1", 2) == "normal"
    assert item["linkage"][0]["state"] in ("alarm", "silenced")


async def test_acknowledge_carries_the_persons_name(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    hass_admin_user: MockUser,
) -> None:
    """Acknowledged and closed by users: the incident's delta names them (the person's name first)."""
    entry, _sim = park
    assert await async_setup_component(
        hass, "person", {"person": [{"id": "duty", "name": "王伟", "user_id": hass_admin_user.id}]}
    )
    operator = MockUser(name="Operator Li").add_to_hass(hass)
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    incident = entry.runtime_data.incidents.open(IncidentKind.GAS, source="gas_detector", enterprise="e001")
    await delta_with(client, sub, "incidents")
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_incident",
        {"incident_id": incident.id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    (acknowledged,) = (await delta_with(client, sub, "incidents"))["incidents"]
    assert (acknowledged["state"], acknowledged["acknowledged_by_name"]) == ("acknowledged", "王伟")
    assert acknowledged["place"]["enterprise_name"] == "恒达机械有限公司"
    await hass.services.async_call(
        DOMAIN,
        "close_incident",
        {"incident_id": incident.id},
        blocking=True,
        context=Context(user_id=operator.id),
    )
    delta = await delta_with(client, sub, "incidents")
    (closed,) = delta["incidents"]
    assert (closed["state"], closed["closed_by_name"]) == ("closed", "Operator Li")
    assert delta["enterprises"]["e001"] == {"state": "normal"}


async def test_device_offline_is_a_fault(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """A device that stops answering: its device and floor turn ``fault``, and the figure counts it."""
    entry, sim = park
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    sim.silence_unit("smoke_detector")
    await async_poll(hass, entry)
    delta = await delta_with(client, sub, "devices")
    assert delta["devices"]["smoke_detector"] == {"state": "fault", "available": False}
    assert {"building": "b1", "floor": 1, "state": "fault"} in delta["places"]
    # The duty room is on floor 1: its place follows the floor.
    assert [(p["kind"], p["state"]) for p in delta["special_places"]] == [("duty_room", "fault")]
    assert delta["figures"]["devices_offline"] == 1
    sim.silence_unit("smoke_detector", silent=False)
    await async_poll(hass, entry)
    delta = await delta_with(client, sub, "devices")
    assert delta["devices"]["smoke_detector"] == {"state": "normal", "available": True}


async def test_non_admin_gets_no_personal_data(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    hass_read_only_access_token: str,
) -> None:
    """An operator who is not an administrator subscribes; no USCC, contact or phone reaches them."""
    entry, _sim = park
    client = await hass_ws_client(hass, hass_read_only_access_token)
    sub, snapshot = await subscribe(client, config_entry_id=entry.entry_id)
    entry.runtime_data.incidents.open(IncidentKind.ONE_KEY, source="one_key_alarm", enterprise="e001")
    delta = await delta_with(client, sub, "incidents")
    sent = json.dumps([snapshot, delta], ensure_ascii=False)
    assert "恒达机械有限公司" in sent  # the enterprise is there, its personal data is not
    for value in PERSONAL_VALUES:
        assert value not in sent
    for key in PERSONAL_KEYS:
        assert f'"{key}"' not in sent


async def test_many_changes_make_few_deltas(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """A burst of changes: the first goes out at once, the rest at most one delta per 250 ms, none lost."""
    entry, sim = park
    client = await hass_ws_client(hass)
    _sub, _snapshot = await subscribe(client)
    loop = asyncio.get_running_loop()
    # Stamped where they are sent: a busy test client may read two deltas back to back.
    sent: list[tuple[float, dict[str, Any]]] = []
    hass.data[DATA_SCREEN].parks[entry.entry_id].listeners.add(lambda p: sent.append((loop.time(), p.data)))
    manager = entry.runtime_data.incidents
    started = loop.time()
    # Twenty incidents at once, then ten polls each moving the tank's level.
    for number in range(20):
        manager.open(IncidentKind.GAS, source=f"test:{number}", building="b1", floor=1 + number % 6)
    for number in range(10):
        sim.set_value("fire_water_tank", "level", 3 + number / 100)
        await async_poll(hass, entry, Tier.NORMAL)
    elapsed = loop.time() - started
    received = await quiet(client, 0.6)
    times = [at for at, _event in sent]
    events = [event for _at, event in sent]
    assert received == events
    assert times[0] - started < 0.1  # the first change is not held back
    assert all(later - earlier >= 0.249 for earlier, later in itertools.pairwise(times)), times
    assert len(events) <= 2 + elapsed / 0.25, (len(events), elapsed)
    assert len({i["id"] for e in events for i in e.get("incidents", [])}) == 20
    levels = [e["devices"]["fire_water_tank"]["values"]["level"] for e in events if "devices" in e]
    assert levels[-1] == pytest.approx(3.09)


async def test_alarm_notification_raised_and_dismissed(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """A one-key press raises HA's persistent notification; closing the incident dismisses it."""
    entry, sim = park
    assert await async_setup_component(hass, "persistent_notification", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "persistent_notification/subscribe"})
    response = await client.receive_json()
    assert response["success"], response
    assert (await client.receive_json())["event"]["notifications"] == {}
    sim.press_alarm_button("one_key_alarm")
    await async_poll(hass, entry, Tier.FAST)
    (incident,) = entry.runtime_data.incidents.open_incidents()
    event = (await client.receive_json())["event"]
    assert event["type"] == "added"
    notification = event["notifications"][notification_id(incident.id)]
    assert notification["title"] == "One-key alarm: 1号楼, floor 1"
    assert "/smart-park" in notification["message"]
    await hass.services.async_call(DOMAIN, "close_incident", {"incident_id": incident.id}, blocking=True)
    event = (await client.receive_json())["event"]
    assert event["type"] == "removed"
    assert notification_id(incident.id) in event["notifications"]
    # In Chinese when HA speaks it.
    hass.config.language = "zh-Hans"
    fire = entry.runtime_data.incidents.open(IncidentKind.FIRE, source="linkage:b1", building="b1", floor=3)
    await hass.async_block_till_done()
    notification = (await client.receive_json())["event"]["notifications"][notification_id(fire.id)]
    assert notification["title"] == "火警：1号楼3层"
    assert notification["message"].startswith("1号楼3层发生火警")
    # A gas incident is not an alarm of the screen's banner: no notification.
    entry.runtime_data.incidents.open(IncidentKind.GAS, source="gas_detector")
    await hass.async_block_till_done()
    with pytest.raises(TimeoutError):
        await client.receive_json(timeout=0.3)


async def test_sync_heartbeat(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    hass_read_only_access_token: str,
) -> None:
    """park_sync's heartbeat makes the sync link ``ok``; only administrators may send one."""
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    await client.send_json_auto_id({"type": "smart_park/sync/heartbeat", "park_id": PARK_ID, "interval": 30})
    result = await client.receive_json()
    assert result["success"], result
    assert result["result"] == {"parks": [PARK_ID]}
    delta = await delta_with(client, sub, "figures")
    assert delta["figures"]["sync"]["state"] == "ok"
    assert delta["figures"]["sync"]["interval"] == 30
    other = await hass_ws_client(hass, hass_read_only_access_token)
    await other.send_json_auto_id({"type": "smart_park/sync/heartbeat", "interval": 30})
    assert (await other.receive_json())["error"]["code"] == "unauthorized"
    await other.send_json_auto_id({"type": "smart_park/sync/heartbeat", "park_id": "nope", "interval": 30})
    assert (await other.receive_json())["error"]["code"] == "unauthorized"


async def test_unload_cleans_up_and_reload_is_followed(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> None:
    """Unloading ends the park's view (``removed``), a reload sends it again; unsubscribing stops it."""
    entry, _sim = park
    hub = hass.data[DATA_SCREEN]
    hooks_before = {key: len(c.hooks) for key, c in entry.runtime_data.coordinators.items()}
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    assert set(hub.parks) == {entry.entry_id}
    assert all(len(c.hooks) == hooks_before[key] + 1 for key, c in entry.runtime_data.coordinators.items())

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    removed = await next_event(client, sub)
    assert removed == {"type": "removed", "config_entry_id": entry.entry_id, "park_id": PARK_ID}
    again = await next_event(client, sub)
    assert again["type"] == "snapshot"
    assert [p["config_entry_id"] for p in again["parks"]] == [entry.entry_id]
    new_park = hub.parks[entry.entry_id]
    assert new_park.runtime is entry.runtime_data

    await client.send_json_auto_id({"type": "unsubscribe_events", "subscription": sub})
    assert (await client.receive_json())["success"]
    assert hub.parks == {}
    assert all(len(c.hooks) == hooks_before[key] for key, c in entry.runtime_data.coordinators.items())
    manager = entry.runtime_data.incidents
    manager.open(IncidentKind.GAS, source="gas_detector")
    await hass.async_block_till_done()
    assert await quiet(client, 0.3) == []


async def test_rollcall_responders_by_name_without_phones(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
    hass_admin_user: MockUser,
) -> None:
    """A radio answer recorded by the duty room: the incident's delta names the responder, no phone."""
    entry, _sim = park
    chen = MockUser(name="chen").add_to_hass(hass)
    await hass.services.async_call(
        DOMAIN,
        "set_volunteer",
        {"user_id": chen.id, "name": "陈刚", "phone": "13900000000", "building": "b1"},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    client = await hass_ws_client(hass)
    sub, _snapshot = await subscribe(client)
    fire = entry.runtime_data.incidents.open(IncidentKind.FIRE, source="linkage:b1", building="b1", floor=2)
    await hass.services.async_call(
        DOMAIN, "dispatch_volunteers", {"incident_id": fire.id}, blocking=True, return_response=True
    )
    await hass.services.async_call(
        DOMAIN,
        "record_response",
        {"incident_id": fire.id, "user_id": chen.id, "response": "on_my_way"},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    sent = []
    async with asyncio.timeout(3):
        while True:
            delta = await delta_with(client, sub, "incidents")
            sent.append(delta)
            (item,) = delta["incidents"]
            if item["responders"]:
                break
    assert item["responders"] == [
        {"user_id": chen.id, "name": "陈刚", "response": "on_my_way", "arrived": False}
    ]
    assert item["rollcall"]["asked"] == 1
    assert item["rollcall"]["on_my_way"] == 1
    assert "13900000000" not in json.dumps(sent)


async def test_panel_and_its_files(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    park: tuple[SmartParkConfigEntry, ParkSimulator],
) -> None:
    """The sidebar panel (any user) loads the screen's module, served with a version of its files."""
    panel = hass.data["frontend_panels"]["smart-park"]
    config = panel.to_response()
    assert (config["component_name"], config["require_admin"], config["title"]) == (
        "custom",
        False,
        "值班室 Duty room",
    )
    custom = config["config"]["_panel_custom"]
    assert custom["name"] == "smart-park-screen"
    assert custom["module_url"] == f"/smart_park_static/smart-park-screen.js?v={frontend_hash()}"
    client = await hass_client_no_auth()
    response = await client.get(custom["module_url"])
    assert response.status == 200
    assert "smart-park-screen" in await response.text()
