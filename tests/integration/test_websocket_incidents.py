"""Websocket API: incidents and audit entries, listed and followed as the dashboard and park_sync do."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.typing import MockHAClientWebSocket, WebSocketGenerator

from custom_components.smart_park import websocket_api as smart_park_ws
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.incidents import IncidentKind
from park_sync.ha_source import item_records
from simulator.server import ParkSimulator

from .conftest import PARK_ID, ParkFactory
from .helpers import async_poll
from .test_incidents import second_park
from .test_one_key import TERMINAL

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def command(client: MockHAClientWebSocket, **msg: Any) -> Any:
    """Send a command; return its result (asserting success)."""
    await client.send_json_auto_id(msg)
    response = await client.receive_json()
    assert response["success"], response
    return response["result"]


async def subscribe(client: MockHAClientWebSocket, **msg: Any) -> int:
    """Subscribe; return the subscription id."""
    await client.send_json_auto_id(msg)
    response = await client.receive_json()
    assert response["success"], response
    return int(response["id"])


async def next_event(client: MockHAClientWebSocket, sub_id: int) -> dict[str, Any]:
    """The next event of a subscription."""
    message = await client.receive_json()
    assert (message["type"], message["id"]) == ("event", sub_id), message
    event: dict[str, Any] = message["event"]
    return event


async def test_list_incidents(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    hass_read_only_access_token: str,
) -> None:
    """Any user may list; closed ones on request; an unknown park is not_found."""
    manager = init_integration.runtime_data.incidents
    fire = manager.open(IncidentKind.FIRE, source="linkage:b1", building="b1", floor=3)
    gas = manager.open(IncidentKind.GAS, source="gas_detector", enterprise="e001")
    manager.close(fire.id, context=None)
    client = await hass_ws_client(hass, hass_read_only_access_token)

    result = await command(client, type="smart_park/incidents/list")
    assert [(i["id"], i["state"]) for i in result["incidents"]] == [(fire.id, "closed"), (gas.id, "open")]
    item = result["incidents"][1]
    assert item["enterprise_name"] == "恒达机械有限公司"
    assert item["updated_at"] == gas.updated_at.isoformat()
    assert item["park_id"] == PARK_ID
    result = await command(
        client,
        type="smart_park/incidents/list",
        include_closed=False,
        config_entry_id=init_integration.entry_id,
    )
    assert [i["id"] for i in result["incidents"]] == [gas.id]

    await client.send_json_auto_id({"type": "smart_park/incidents/list", "config_entry_id": "nope"})
    response = await client.receive_json()
    assert response["error"]["code"] == "not_found"


async def test_subscribe_incidents(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
) -> None:
    """First what is open or recently changed, then each change: opened, acknowledged (lamp), closed."""
    entry = init_integration
    manager = entry.runtime_data.incidents
    old = manager.open(IncidentKind.FIRE, source="linkage:b1")
    client = await hass_ws_client(hass)
    # park_sync's call: no arguments.
    sub = await subscribe(client, type="smart_park/incidents/subscribe")
    assert [i["id"] for i in (await next_event(client, sub))["incidents"]] == [old.id]

    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    opened = (await next_event(client, sub))["incidents"]
    assert [(i["kind"], i["state"]) for i in opened] == [("one_key", "open")]
    incident_id = opened[0]["id"]

    manager.acknowledge(incident_id, context=Context(user_id=hass_admin_user.id))
    await hass.async_block_till_done()
    (acknowledged,) = (await next_event(client, sub))["incidents"]
    assert (acknowledged["state"], acknowledged["acknowledged_by"]) == ("acknowledged", hass_admin_user.id)
    (lamp,) = (await next_event(client, sub))["incidents"]
    assert lamp["detail"]["lamp"] == "on"
    # park_sync turns every change into its own record (same id, new content), stamped with updated_at.
    records = item_records("incident", {"incidents": [acknowledged]}) + item_records(
        "incident", {"incidents": [lamp]}
    )
    assert len({r.id for r in records}) == 2
    assert records[0].ts == acknowledged["updated_at"]

    # A reconnecting client gets what is open again, and what was closed in the last day.
    manager.close(old.id, context=None)
    await hass.async_block_till_done()
    assert (await next_event(client, sub))["incidents"][0]["state"] == "closed"
    again = await hass_ws_client(hass)
    sub2 = await subscribe(again, type="smart_park/incidents/subscribe")
    assert [i["id"] for i in (await next_event(again, sub2))["incidents"]] == [old.id, incident_id]


async def test_subscription_follows_parks_set_up_later(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    park_factory: ParkFactory,
) -> None:
    """Without a park, a subscription covers parks loaded or reloaded after it; with one, only that park."""
    client = await hass_ws_client(hass)
    sub = await subscribe(client, type="smart_park/incidents/subscribe")
    assert await next_event(client, sub) == {"incidents": []}
    only_first = await subscribe(
        client, type="smart_park/incidents/subscribe", config_entry_id=init_integration.entry_id
    )
    assert await next_event(client, only_first) == {"incidents": []}

    annex, sim = await park_factory(second_park())
    sim.set_value("annex_gas", "gas_alarm", True)
    await async_poll(hass, annex, Tier.FAST)
    assert [i["id"] for i in (await next_event(client, sub))["incidents"]] == ["annex-i1"]
    assert await hass.config_entries.async_unload(annex.entry_id)
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, init_integration, Tier.FAST)
    event = await next_event(client, sub)
    assert [i["id"] for i in event["incidents"]] == [f"{PARK_ID}-i1"]
    # The park-specific subscription got nothing from the annex, and follows its park's reload too.
    event = await next_event(client, only_first)
    assert [i["id"] for i in event["incidents"]] == [f"{PARK_ID}-i1"]


async def test_audit_list_and_subscribe(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
    park_factory: ParkFactory,
) -> None:
    """Entries with ids, seq and time; after_seq catches up; new entries follow one by one."""
    entry = init_integration
    manager = entry.runtime_data.incidents
    first = manager.open(IncidentKind.FIRE, source="linkage:b1")
    manager.acknowledge(first.id, context=Context(user_id=hass_admin_user.id))
    client = await hass_ws_client(hass)

    result = await command(client, type="smart_park/audit/list")
    assert [(e["id"], e["seq"], e["action"]) for e in result["entries"]] == [
        (f"{PARK_ID}-a1", 1, "open_incident"),
        (f"{PARK_ID}-a2", 2, "acknowledge_incident"),
    ]
    assert result["entries"][1]["user_id"] == hass_admin_user.id
    assert result["entries"][1]["at"]
    result = await command(client, type="smart_park/audit/list", after_seq=1)
    assert [e["seq"] for e in result["entries"]] == [2]
    result = await command(client, type="smart_park/audit/list", limit=1, config_entry_id=entry.entry_id)
    assert [e["seq"] for e in result["entries"]] == [2]

    sub = await subscribe(client, type="smart_park/audit/subscribe", after_seq=1)
    assert [e["seq"] for e in (await next_event(client, sub))["entries"]] == [2]
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, entry, Tier.FAST)
    opened = (await next_event(client, sub))["entries"]
    pressed = (await next_event(client, sub))["entries"]
    assert [e["action"] for e in opened + pressed] == ["open_incident", "alarm_button_pressed"]
    assert pressed[0]["source"] == "field"
    records = item_records("audit", {"entries": pressed})
    assert records[0].ts == pressed[0]["at"]

    # A park-specific subscription ignores other parks' entries.
    own = await subscribe(
        client, type="smart_park/audit/subscribe", config_entry_id=entry.entry_id, after_seq=99
    )
    assert await next_event(client, own) == {"entries": []}
    annex, sim = await park_factory(second_park())
    sim.set_value("annex_gas", "gas_alarm", True)
    await async_poll(hass, annex, Tier.FAST)
    assert (await next_event(client, sub))["entries"][0]["id"] == "annex-a1"
    assert await hass.config_entries.async_unload(annex.entry_id)
    await hass.async_block_till_done()
    manager.close(first.id, context=None)
    # Both subscriptions get the close (in either order).
    got = {}
    for _ in range(2):
        message = await client.receive_json()
        got[message["id"]] = message["event"]["entries"]
    assert got[own] == got[sub]
    assert got[own][0]["action"] == "close_incident"


async def test_audit_is_for_administrators(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    hass_read_only_access_token: str,
) -> None:
    """The audit log is a security record: a non-admin user is refused; incidents stay readable."""
    client = await hass_ws_client(hass, hass_read_only_access_token)
    for command_type in ("smart_park/audit/list", "smart_park/audit/subscribe"):
        await client.send_json_auto_id({"type": command_type})
        response = await client.receive_json()
        assert response["error"]["code"] == "unauthorized"
    await command(client, type="smart_park/incidents/subscribe")


async def test_large_backlog_is_chunked(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full audit log reaches a subscriber in several events, none over the chunk size, in order."""
    monkeypatch.setattr(smart_park_ws, "CHUNK", 4)
    manager = init_integration.runtime_data.incidents
    for n in range(5):
        manager.close(manager.open(IncidentKind.GAS, source=f"d{n}").id, context=None)
    client = await hass_ws_client(hass)
    sub = await subscribe(client, type="smart_park/audit/subscribe")
    sizes, seqs = [], []
    while len(seqs) < 10:
        entries = (await next_event(client, sub))["entries"]
        sizes.append(len(entries))
        seqs += [e["seq"] for e in entries]
    assert sizes == [4, 4, 2]
    assert seqs == list(range(1, 11))
