"""The config flow refuses hostile profile text with a translated, path-named issue (issue #11 item 9).

An alias bomb once became an 8 MB config entry, and a 5 MB paste was parsed on HA's event loop.
"""

from __future__ import annotations

import threading

import pytest
import yaml
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.smart_park.const import CONF_PROFILE_YAML, DOMAIN
from custom_components.smart_park.engine import profile as profile_module
from simulator.server import ParkSimulator

from .conftest import park_document

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def _profile_step(hass: HomeAssistant, port: int) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["step_id"] == "profile"
    return str(result["flow_id"])


def _bomb(port: int) -> str:
    """A valid park profile plus a small alias bomb (10^8 values once expanded)."""
    text = yaml.safe_dump(park_document(port), allow_unicode=True)
    lines = ["x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x-a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    return text.replace("park:", "\n".join(lines) + "\npark:", 1)


async def test_alias_bomb_refused(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    flow_id = await _profile_step(hass, simulator.ports["gw1"])
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_YAML: _bomb(simulator.ports["gw1"])}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_profile"}
    assert result["description_placeholders"]["issues"] == (
        "- `$`: more than 200 YAML aliases, or aliases that expand to more than 400000 values"
    )
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_huge_paste_refused_off_the_event_loop(
    hass: HomeAssistant, simulator: ParkSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3 MB paste is refused by size, and YAML parsing never runs in the event loop's thread."""
    threads: list[bool] = []
    original = profile_module.safe_yaml.load

    def spy(text: str, **limits: int) -> object:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(text, **limits)

    monkeypatch.setattr(profile_module.safe_yaml, "load", spy)
    hass.config.language = "zh-Hans"
    flow_id = await _profile_step(hass, simulator.ports["gw1"])
    text = yaml.safe_dump(park_document(simulator.ports["gw1"]), allow_unicode=True)
    huge = text + "# " + "x" * (3 * 1024 * 1024) + "\n"
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE_YAML: huge})
    assert result["errors"] == {"base": "invalid_profile"}
    assert result["description_placeholders"]["issues"] == "- `$`: 园区档案超过 2 MB"
    # A duplicate key is refused the same way, also parsed in the executor.
    duplicate = text.replace("park:\n", "park:\n  name: 另一个名字\n", 1)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE_YAML: duplicate})
    assert result["errors"] == {"base": "invalid_profile"}
    assert "同一映射中键 name 出现了两次" in result["description_placeholders"]["issues"]
    assert threads == [False, False]
    assert not hass.config_entries.async_entries(DOMAIN)
