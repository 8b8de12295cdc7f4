"""Diagnostics: useful for support, with personal data redacted."""

from __future__ import annotations

import json

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_park.coordinator import SmartParkConfigEntry

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
