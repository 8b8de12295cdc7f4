"""Personal data (USCC, contact name, phone) reaches the central only when the operator opts in (issue #11
item 17): real HA websocket, real park_sync, real central."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import probatio as vol
import pytest
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback

from central.server import Central
from park_sync.app import ParkSync
from park_sync.config import parse_options
from park_sync.ha_source import item_records

from .conftest import make_options, wait_for

ENTERPRISE = {
    "id": "e001",
    "name": "智峰精密",
    "uscc": "91330100MA2KXXXX1A",
    "contact_name": "张三",
    "contact_phone": "13800138000",
    "figures": [{"period": "2025-04", "output_value": 1200, "contact": {"phone": "13900139000"}}],
}


def _serve_enterprises(hass: HomeAssistant) -> None:
    """The integration's enterprise stream as it answers an admin: personal fields included."""

    @websocket_command({vol.Required("type"): "smart_park/enterprises/subscribe"})
    @callback
    def subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
        connection.subscriptions[msg["id"]] = lambda: None
        connection.send_result(msg["id"])
        connection.send_message(event_message(msg["id"], {"enterprises": [ENTERPRISE]}))

    async_register_command(hass, subscribe)


@pytest.mark.parametrize("opt_in", [False, True], ids=["default", "opted-in"])
async def test_personal_data_only_when_opted_in(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    central: Central,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    opt_in: bool,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything our code logs, whatever pytest's log level
    _serve_enterprises(hass)
    url, token = ha_api
    overrides = {"send_personal_data": True} if opt_in else {}
    app = ParkSync(make_options(tmp_path, central.url, **overrides), url, token, "127.0.0.1")
    await app.start()
    try:

        async def at_central() -> bool:
            return bool(await central.storage.records("enterprise"))

        await wait_for(at_central, what="enterprise record at the central")
    finally:
        await app.stop()
    (record,) = await central.storage.records("enterprise")
    sent = record["data"]
    assert sent["name"] == "智峰精密"
    assert sent["figures"][0]["output_value"] == 1200
    personal = ("91330100MA2KXXXX1A", "张三", "13800138000", "13900139000")
    raw = str(sent)
    if opt_in:
        assert sent == ENTERPRISE
    else:
        assert not any(value in raw for value in personal)
        assert {"uscc", "contact_name", "contact_phone"}.isdisjoint(sent)
    # Our loggers only: HA's websocket_api logs every frame it sends at DEBUG, whatever the payload.
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("park_sync", "central", "custom_components"))
    )
    assert ours, "no line of ours was captured: the check would pass vacuously"
    assert not any(value in ours for value in personal)


def test_option_defaults_off_and_is_validated() -> None:
    base = {"park_id": "p", "central_url": "https://c.example", "central_token": "t", "hmac_secret": "x" * 16}
    assert parse_options(base).send_personal_data is False
    with pytest.raises(ValueError, match="send_personal_data"):
        parse_options({**base, "send_personal_data": "yes"})


def test_volunteer_names_in_the_audit_log_stay_home_by_default() -> None:
    """The roll-call's audit entries name the volunteer (volunteer_name): kept out unless opted in; the
    opaque user id and the answer still reach the central (response times per incident need them)."""
    entry = {
        "id": "p-a7",
        "seq": 7,
        "at": "2026-11-29T03:00:00+00:00",
        "category": "volunteer",
        "action": "volunteer_on_my_way",
        "target": "p-i1",
        "data": {"volunteer": "0f3c", "volunteer_name": "陈刚", "via": "app"},
    }
    (record,) = item_records("audit", {"entries": [entry]})
    assert record.data["data"] == {"volunteer": "0f3c", "via": "app"}
    (opted,) = item_records("audit", {"entries": [entry]}, personal_data=True)
    assert opted.data["data"]["volunteer_name"] == "陈刚"
