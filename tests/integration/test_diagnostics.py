"""Diagnostics: useful for support, with personal data redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.smart_park.coordinator import SmartParkConfigEntry

from .conftest import PARK_ID, ParkFactory, park_document

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, init_integration: SmartParkConfigEntry
) -> None:
    """Profile, poller figures and readings are there; contact names, phones and the USCC are not."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in ("张三", "13800000000", "91330100MA2AXXXX07"):
        assert secret not in text
    enterprise = diagnostics["entry"]["data"]["profile"]["enterprises"][0]
    assert enterprise["contact_name"] == "**REDACTED**"
    assert enterprise["contact_phone"] == "**REDACTED**"
    assert enterprise["uscc"] == "**REDACTED**"
    assert enterprise["name"] == "恒达机械有限公司"
    assert diagnostics["park"]["devices"] == 11
    poller = diagnostics["pollers"]["gw1"]
    assert poller["connected"] is True
    assert poller["requests_per_cycle"]["fast"] >= 1
    assert poller["requests_sent"] >= sum(poller["requests_per_cycle"].values())
    safety = diagnostics["coordinators"]["gw1/safety"]
    assert safety["last_update_success"] is True
    assert safety["interval"] == 3600.0
    assert safety["readings"]["fire_bell_controller"]["values"]["call_point_1"] is False
    assert diagnostics["coordinators"]["gw1/normal"]["readings"]["energy_meter"]["values"]["power"] == 15000


# Values of one run: the simulator's ephemeral port (entry, profile, parsed gateway) and the request count.
VOLATILE = path_type({r"(.*\.)?port": (int,), r"pollers\.[^.]+\.requests_sent": (int,)}, regex=True)


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: SmartParkConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The whole diagnostics document (ports and request counts masked), free of the park's personal data."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in ("13800000000", "张三", "91330100MA2AXXXX07"):
        assert secret not in text
    assert diagnostics == snapshot(matcher=VOLATILE)


# Enterprise fields a park keeps in its profile under its own keys (issue #11 item 14).
EXTRA_FIELDS = {
    "联系电话": "0571-88886666",
    "负责人": "王五",
    "manager_mobile": 13912345678,  # YAML reads an unquoted number as an int
    "Contact-Email": "wang@example.com",
    "details": {"值班": [{"note": "夜班 13700001111"}]},
    "备注": "电话 +86 137 0000 2222，邮件 boss@example.com，信用代码 91330100MA27Y5K8AA，分机 400-820-8820",
}
SECRETS = (
    "0571-88886666",
    "王五",
    "13912345678",
    "wang@example.com",
    "13700001111",
    "137 0000 2222",
    "boss@example.com",
    "91330100MA27Y5K8AA",
    "400-820-8820",
)


async def test_diagnostics_redact_by_key_and_shape(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, park_factory: ParkFactory
) -> None:
    """Personal data under keys the registry does not know, nested, or inside free text is redacted."""
    document: dict[str, Any] = park_document()
    document["enterprises"][0].update(EXTRA_FIELDS)
    entry, _sim = await park_factory(document)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text
    enterprise = diagnostics["entry"]["data"]["profile"]["enterprises"][0]
    for key in ("联系电话", "负责人", "manager_mobile", "Contact-Email"):
        assert enterprise[key] == "**REDACTED**"
    assert enterprise["details"] == {"值班": [{"note": "夜班 **REDACTED**"}]}
    assert enterprise["备注"] == (
        "电话 **REDACTED**，邮件 **REDACTED**，信用代码 **REDACTED**，分机 **REDACTED**"
    )
    # What support needs is still there.
    assert enterprise["name"] == "恒达机械有限公司"
    assert diagnostics["park"]["gateways"]["gw1"]["host"] == "127.0.0.1"
    assert diagnostics["entry"]["data"]["profile"]["park"]["id"] == PARK_ID
    assert diagnostics["entry"]["data"]["profile"]["devices"][0]["unit"] == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
