"""MQTT uplink options (errors name their field, the add-on's defaults leave it off) and the record mapping's
pure parts (state values, times, message packing) without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from park_sync.__main__ import main
from park_sync.config import OptionsError, parse_options
from park_sync.mqtt_map import ATTRIBUTES, TELEMETRY_TOPIC, epoch_ms, pack, state_value, to_item
from park_sync.outbox import Record, Stored

from .test_config import BASE

ADDON = Path(__file__).resolve().parents[2] / "addons" / "park_sync"
ON = {"enabled": True, "host": "tb.district.example", "token": "A1_TEST_TOKEN"}
MQTT_ONLY = {"park_id": "zhifeng", "mqtt": ON}


def test_addon_defaults_leave_it_off_and_schema_knows_it() -> None:
    config = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf-8"))
    opts = parse_options({**config["options"], **BASE})
    assert opts.mqtt.enabled is False
    assert set(config["schema"]["mqtt"]) == {
        "enabled",
        "host",
        "port",
        "token",
        "tls",
        "ca_cert",
        "keepalive",
        "max_message_bytes",
        "protocol",
    }
    assert config["schema"]["mqtt"]["token"] == "password?"
    for language in ("en", "zh-Hans"):
        texts = yaml.safe_load((ADDON / "translations" / f"{language}.yaml").read_text(encoding="utf-8"))
        assert texts["configuration"]["mqtt"]["name"]
        assert texts["configuration"]["mqtt"]["description"]


def test_mqtt_alone_needs_no_http_central() -> None:
    opts = parse_options(MQTT_ONLY)
    assert (opts.central_url, opts.central_token, opts.hmac_secret) == ("", "", "")
    assert opts.mqtt.effective_port == 1883
    assert parse_options({**MQTT_ONLY, "mqtt": {**ON, "tls": True}}).mqtt.effective_port == 8883
    # Without MQTT the HTTP central stays required.
    with pytest.raises(OptionsError) as err:
        parse_options({"park_id": "zhifeng"})
    assert err.value.path == "central_url"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"host": ""}, "mqtt.host"),
        ({"host": "mqtt://tb.example:1883"}, "mqtt.host"),
        ({"token": ""}, "mqtt.token"),
        ({"token": "two words"}, "mqtt.token"),
        ({"port": 70000}, "mqtt.port"),
        ({"port": "1883"}, "mqtt.port"),
        ({"tls": "yes"}, "mqtt.tls"),
        ({"ca_cert": "/nonexistent/ca.pem", "tls": True}, "mqtt.ca_cert"),
        ({"ca_cert": __file__}, "mqtt.ca_cert"),  # a CA without TLS
        ({"keepalive": 1}, "mqtt.keepalive"),
        ({"max_message_bytes": 10}, "mqtt.max_message_bytes"),
        ({"protocol": "3"}, "mqtt.protocol"),
        ({"protocol": 5}, "mqtt.protocol"),
        ({"topic": "x"}, "mqtt.topic"),  # the topics are the gateway API's, not options
    ],
)
def test_bad_option_names_its_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(OptionsError) as err:
        parse_options({**MQTT_ONLY, "mqtt": {**ON, **patch}})
    assert err.value.path == field
    assert "A1_TEST_TOKEN" not in str(err.value)


def test_half_configured_http_central_is_still_checked() -> None:
    with pytest.raises(OptionsError) as err:
        parse_options({**MQTT_ONLY, "central_url": "https://central.example"})
    assert err.value.path == "central_token"
    with pytest.raises(OptionsError) as err:
        parse_options({**MQTT_ONLY, "park_id": "zone:7"})
    assert err.value.path == "park_id"


def test_cli_refuses_bad_mqtt_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "options.json"
    path.write_text(json.dumps({**MQTT_ONLY, "mqtt": {**ON, "port": -1}}))
    assert main(["--options", str(path), "--ha-url", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "mqtt.port" in err
    assert "A1_TEST_TOKEN" not in err


@pytest.mark.parametrize(
    ("state", "value"),
    [
        ("72.5", 72.5),
        ("15000", 15000),
        ("-3", -3),
        ("1e3", 1000.0),
        ("on", "on"),
        ("unavailable", "unavailable"),
        ("007", "007"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("1_000", "1_000"),
        ("", ""),
        (None, None),
    ],
)
def test_numeric_states_go_as_numbers(state: Any, value: Any) -> None:
    assert state_value(state) == value
    assert type(state_value(state)) is type(value)


def test_times_in_epoch_ms_with_the_outbox_clock_as_fallback() -> None:
    assert epoch_ms("2026-11-29T05:00:00.250+00:00", 1.0) == 1795928400250
    assert epoch_ms("-", 1795928400.5) == 1795928400500
    assert epoch_ms("2026-11-29T05:00:00", 7.0) == 7000  # naive: no instant


def _stored(record: Record, seq: int = 1) -> Stored:
    return Stored(seq, record.id, record.kind, 1795928400.0, record.to_json())


def test_a_stale_outbox_never_sends_personal_data() -> None:
    """Records queued before the operator turned personal data off still go without it."""
    body = {"id": "e1", "name": "A", "contact_phone": "13800138000", "people": [{"phone": "139"}]}
    item = to_item("p", _stored(Record("ent-1", "enterprise", "-", body)), personal_data=False)
    assert (item.topic, item.device, item.device_type) == (ATTRIBUTES, "p:enterprise:e1", "enterprise")
    assert json.loads(item.entry) == {"id": "e1", "name": "A", "people": [{}], "rid": "ent-1"}
    item = to_item("p", _stored(Record("ent-1", "enterprise", "-", body)), personal_data=True)
    assert json.loads(item.entry)["contact_phone"] == "13800138000"


def test_pack_respects_size_and_one_attribute_set_per_device() -> None:
    items = [
        to_item(
            "p",
            _stored(Record(f"st-{i}", "telemetry", "-", {"entity_id": f"sensor.s{i % 3}", "state": i})),
            False,
        )
        for i in range(30)
    ] + [
        to_item("p", _stored(Record(f"ent-{i}", "enterprise", "-", {"id": "e1", "v": i})), False)
        for i in range(3)
    ]
    limit = 600
    messages = list(pack(items, limit))
    assert sorted(r for m in messages for r in m.rids) == sorted(i.rid for i in items)
    for m in messages:
        assert len(m.encode()) <= limit
    attrs = [m for m in messages if m.topic == ATTRIBUTES]
    assert len(attrs) == 3  # the same enterprise three times: three messages, in order
    assert [json.loads(m.encode())["p:enterprise:e1"]["v"] for m in attrs] == [0, 1, 2]
    telemetry = [m for m in messages if m.topic == TELEMETRY_TOPIC]
    assert len(telemetry) > 1
    # Entries of one device keep their order across messages.
    s0 = [e["values"]["state"] for m in telemetry for e in json.loads(m.encode()).get("p:sensor.s0", [])]
    assert s0 == list(range(0, 30, 3))
