"""MQTT uplink (#17) end to end: real HA websocket -> park_sync -> Debian's mosquitto on loopback -> a test
subscriber, checked against the ThingsBoard gateway contract in docs/mqtt.md; RPC; broker restart."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import probatio as vol
import pytest
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback

from park_sync.app import ParkSync
from park_sync.config import Options
from park_sync.ha_source import state_record
from park_sync.outbox import Record

from .brokers import Mosquitto, Recorder
from .conftest import make_options, wait_for

PARK = "zhifeng"
TOKEN = "park-access-token-7f3a9c"
ENTERPRISE = {
    "id": "e001",
    "name": "智峰精密",
    "uscc": "91330100MA2KXXXX1A",
    "contact_name": "张三",
    "contact_phone": "13800138000",
    "output_value": 1200,
}
INCIDENT = {"id": "inc-1", "kind": "fire", "place": "b1/3", "opened_at": "2026-11-29T05:00:00+00:00"}
ENTITIES = ("sensor.tank_level", "binary_sensor.call_point_b1_3")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as broker:
        yield broker


def mqtt_options(tmp_path: Path, port: int, **overrides: Any) -> Options:
    mqtt = {"enabled": True, "host": "127.0.0.1", "port": port, "token": TOKEN, **overrides.pop("mqtt", {})}
    return make_options(
        tmp_path,
        "",
        mqtt=mqtt,
        entity_filter={"integrations": [], "entity_ids": list(ENTITIES)},
        request_timeout_seconds=5,
        **overrides,
    )


def _serve_streams(hass: HomeAssistant) -> None:
    """The integration's enterprise and incident streams as they answer an admin (personal data included)."""

    def stream(command: str, event: dict[str, Any]) -> None:
        @websocket_command({vol.Required("type"): command})
        @callback
        def subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
            connection.subscriptions[msg["id"]] = lambda: None
            connection.send_result(msg["id"])
            connection.send_message(event_message(msg["id"], event))

        async_register_command(hass, subscribe)

    stream("smart_park/enterprises/subscribe", {"enterprises": [ENTERPRISE]})
    stream("smart_park/incidents/subscribe", {"incidents": [INCIDENT]})


async def _drained(app: ParkSync, taken: int = 1) -> bool:
    return app.outbox.pending == 0 and app.intake.taken >= taken


def _rids(recorder: Recorder, topic: str = "v1/gateway/telemetry") -> list[str]:
    out = []
    for doc in recorder.docs(topic):
        for entries in doc.values():
            out += [e["values"]["rid"] for e in entries] if isinstance(entries, list) else [entries["rid"]]
    return out


@pytest.mark.parametrize("opt_in", [False, True], ids=["default", "personal-data-opted-in"])
async def test_records_arrive_in_the_gateway_shape(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    opt_in: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    _serve_streams(hass)
    hass.states.async_set(ENTITIES[0], "72.5", {"unit_of_measurement": "%", "friendly_name": "Tank"})
    hass.states.async_set(ENTITIES[1], "off")
    recorder = await Recorder(mosquitto.port, "v1/gateway/#").start()
    url, token = ha_api
    app = ParkSync(mqtt_options(tmp_path, mosquitto.port, send_personal_data=opt_in), url, token, "127.0.0.1")
    await app.start()
    try:
        await wait_for(lambda: _drained(app), what="the outbox drained over MQTT")
        taken = app.intake.taken
        await app.intake.sink([Record("hl-test", "health", "2026-11-29T05:01:00.000+00:00", {"state": "ok"})])
        await wait_for(lambda: _drained(app, taken + 1), what="the health record sent")

        async def received() -> bool:
            return "hl-test" in _rids(recorder)

        await wait_for(received, what="the health record at the subscriber")
        states = {e: hass.states.get(e) for e in ENTITIES}
        status = app.status()
    finally:
        await app.stop()
        await recorder.stop()

    topics = [t for t, _ in recorder.messages]
    connects = recorder.docs("v1/gateway/connect")
    # The park device first, byte for byte (compact JSON, UTF-8).
    assert recorder.messages[0] == ("v1/gateway/connect", b'{"device":"zhifeng","type":"smart_park"}')
    assert {(c["device"], c["type"]) for c in connects} == {
        (PARK, "smart_park"),
        (f"{PARK}:sensor.tank_level", "sensor"),
        (f"{PARK}:binary_sensor.call_point_b1_3", "binary_sensor"),
        (f"{PARK}:enterprise:e001", "enterprise"),
    }
    # Every device is announced before its first data.
    for i, (topic, payload) in enumerate(recorder.messages):
        if topic in ("v1/gateway/telemetry", "v1/gateway/attributes"):
            before = {json.loads(p)["device"] for t, p in recorder.messages[:i] if t == "v1/gateway/connect"}
            assert set(json.loads(payload)) <= before, topic

    telemetry: dict[str, list[dict[str, Any]]] = {}
    for doc in recorder.docs("v1/gateway/telemetry"):
        for device, entries in doc.items():
            telemetry.setdefault(device, []).extend(entries)
    for entries in telemetry.values():
        for entry in entries:
            assert set(entry) == {"ts", "values"}
            assert isinstance(entry["ts"], int)
            assert isinstance(entry["values"]["rid"], str)
    tank = telemetry[f"{PARK}:sensor.tank_level"]
    tank_state = states[ENTITIES[0]]
    assert tank_state is not None
    assert tank == [
        {
            "ts": int(tank_state.last_updated.timestamp() * 1000),
            "values": {
                "rid": state_record(json.loads(json.dumps(tank_state.as_dict(), default=str))).id,
                "state": 72.5,
                "last_changed": tank_state.last_changed.isoformat(),
                "unit_of_measurement": "%",
                "friendly_name": "Tank",
            },
        }
    ]
    assert telemetry[f"{PARK}:binary_sensor.call_point_b1_3"][0]["values"]["state"] == "off"
    by_kind = {e["values"]["kind"]: e for e in telemetry[PARK]}
    assert by_kind["incident"]["values"]["incident"] == INCIDENT
    assert by_kind["incident"]["ts"] == 1795928400000  # opened_at
    assert by_kind["health"] == {
        "ts": 1795928460000,
        "values": {"rid": "hl-test", "kind": "health", "health": {"state": "ok"}},
    }
    (raw,) = [p for t, p in recorder.messages if t == "v1/gateway/attributes"]
    assert "智峰精密".encode() in raw  # UTF-8 as is, not \u escapes
    (attributes,) = recorder.docs("v1/gateway/attributes")
    profile = attributes[f"{PARK}:enterprise:e001"]
    assert profile["rid"].startswith("ent-")
    assert profile["name"] == "智峰精密"
    personal = {"uscc", "contact_name", "contact_phone"}
    assert (personal <= set(profile)) is opt_in
    assert not (personal & set(profile)) or opt_in
    # Each record went once (no reconnect here) and the rids are the outbox's ids.
    rids = [e["values"]["rid"] for es in telemetry.values() for e in es] + [profile["rid"]]
    assert len(rids) == len(set(rids)) == status["central"]["sent_records"]
    assert status["central"]["uplink"] == "mqtt"
    assert status["central"]["state"] == "up"
    assert topics.count("v1/gateway/connect") == 4
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("homeassistant"))
    assert "MQTT link up" in ours
    assert TOKEN not in ours
    assert "13800138000" not in ours


async def _rpc(client: aiomqtt.Client, device: str, rpc_id: int, method: str) -> None:
    doc = {"device": device, "data": {"id": rpc_id, "method": method, "params": {}}}
    await client.publish("v1/gateway/rpc", json.dumps(doc), qos=1)


async def test_rpc_safe_set_only_and_only_this_park(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    hass.states.async_set(ENTITIES[0], "10")
    recorder = await Recorder(mosquitto.port, "v1/gateway/rpc").start()
    url, token = ha_api
    app = ParkSync(mqtt_options(tmp_path, mosquitto.port), url, token, "127.0.0.1")
    await app.start()
    try:
        await wait_for(lambda: _drained(app), what="the first state sent (its device announced)")
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="platform") as platform:
            await _rpc(platform, PARK, 1, "status")
            await _rpc(platform, PARK, 2, "ping")
            await _rpc(platform, PARK, 3, "ring_bells")
            await _rpc(platform, f"{PARK}:sensor.tank_level", 4, "write")
            await _rpc(platform, f"{PARK}x", 8, "ping")  # a park whose id starts like ours
            await _rpc(platform, "other-park", 5, "status")
            await _rpc(platform, "other-park:sensor.x", 6, "ping")
            await _rpc(platform, PARK, 7, "reset")

            async def answered() -> bool:
                return len([d for d in recorder.docs("v1/gateway/rpc") if "id" in d]) >= 5

            await wait_for(answered, what="the RPC answers")
            await asyncio.sleep(0.3)  # time for a wrong answer to the other park to show up
        rpc = dict(app.mqtt.rpc) if app.mqtt else {}
    finally:
        await app.stop()
        await recorder.stop()
    answers = {d["id"]: d for d in recorder.docs("v1/gateway/rpc") if "id" in d}
    assert set(answers) == {1, 2, 3, 4, 7}  # nothing for the other park's devices
    assert answers[1]["device"] == PARK
    assert answers[1]["data"]["park_id"] == PARK
    assert answers[1]["data"]["central"]["uplink"] == "mqtt"
    assert TOKEN not in json.dumps(answers[1])
    assert isinstance(answers[2]["data"]["pong"], int)
    not_allowed = {"error": "method not allowed"}
    assert answers[3] == {"device": PARK, "id": 3, "data": not_allowed}
    assert answers[4] == {"device": f"{PARK}:sensor.tank_level", "id": 4, "data": not_allowed}
    assert answers[7]["data"] == not_allowed
    assert rpc == {"answered": 2, "refused": 3, "ignored": 3}


async def test_broker_restart_mid_stream_loses_nothing(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    # A persistent-session subscriber: the broker queues for it while it reconnects after the restart.
    recorder = await Recorder(mosquitto.port, "v1/gateway/telemetry", session="test-recorder").start()
    url, token = ha_api
    options = mqtt_options(tmp_path, mosquitto.port, batch_max_records=5, retry_max_seconds=0.3)
    app = ParkSync(options, url, token, "127.0.0.1")
    await app.start()
    sent: set[str] = set()
    try:
        for i in range(60):
            record = Record(f"fig-{i}", "figure", f"2026-11-29T05:{i:02d}:00+00:00", {"n": i})
            await app.intake.sink([record])
            sent.add(record.id)
            if i == 25:
                mosquitto.restart()  # graceful: stop (persistence saved) and start on the same port
            await asyncio.sleep(0.02)
        await wait_for(lambda: _drained(app), what="the outbox drained after the restart")
        assert app.mqtt is not None
        assert app.mqtt.state == "up"
        assert app.mqtt.connections >= 2  # it did lose the broker and come back

        def got() -> set[str]:
            return {e["values"]["rid"] for d in recorder.docs("v1/gateway/telemetry") for e in d[PARK]}

        async def all_arrived() -> bool:
            return got() >= sent

        await wait_for(all_arrived, what="every record at the subscriber")
    finally:
        await app.stop()
        await recorder.stop()
    assert got() == sent
