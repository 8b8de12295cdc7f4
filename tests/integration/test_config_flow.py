"""Config, options and reconfigure flows against the park simulator over TCP (and its HTTP control API)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml
from homeassistant import loader
from homeassistant.components.zeroconf import info_from_service
from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_park import config_flow
from custom_components.smart_park.const import (
    CONF_AUDIT_SIZE,
    CONF_INTERVAL,
    CONF_MAX_GAP,
    CONF_OFFLINE_RETRY,
    CONF_OFFLINE_THRESHOLD,
    CONF_PROFILE,
    CONF_PROFILE_PATH,
    CONF_PROFILE_YAML,
    DOMAIN,
)
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.engine.profile import ProfileIssue, parse_profile
from simulator.advertise import SERVICE_TYPE, build_service_info
from simulator.server import ParkSimulator

from .conftest import PARK_ID, PARK_NAME, entry_options, park_document
from .helpers import entity_state, find_entity

pytestmark = pytest.mark.usefixtures("socket_enabled")


def closed_port() -> int:
    """A local port nobody listens on (connects are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def suggested(schema: vol.Schema, key: str) -> Any:
    """The value a form pre-fills for a field."""
    for marker in schema.schema:
        if marker == key:
            return marker.description["suggested_value"]
    raise KeyError(key)


def gatewayless_document() -> dict[str, Any]:
    """A profile without gateways: devices use the gateway the flow tested."""
    document = park_document()
    del document["gateways"]
    return document


@pytest.fixture
async def advertised() -> AsyncIterator[ParkSimulator]:
    """A simulator of a gateway-less profile with its HTTP control API (which serves /api/profile)."""
    profile = parse_profile(gatewayless_document(), default_gateway={"host": "127.0.0.1", "port": 5020})
    sim = ParkSimulator(profile, port_override={"gw1": 0}, dynamics=False, control_port=0)
    await sim.start()
    yield sim
    await sim.stop()


def discovery(
    sim: ParkSimulator, *, control_url: str | None = None, **properties: str
) -> ZeroconfServiceInfo:
    """What HA's zeroconf hands the flow for the simulator's advert of gateway gw1."""
    info = info_from_service(build_service_info(sim.profile, "gw1", sim.ports["gw1"], control_url))
    assert info is not None
    info.properties.update(properties)
    return info


async def _user_to_profile_step(hass: HomeAssistant, port: int) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "profile"
    return str(result["flow_id"])


async def test_user_flow_with_profile_text(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    """Host/port are tested, the YAML profile is parsed and stored as given; the park id is the unique id."""
    port = simulator.ports["gw1"]
    flow_id = await _user_to_profile_step(hass, port)
    document = park_document(port)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_YAML: yaml.safe_dump(document, allow_unicode=True)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == PARK_NAME
    assert result["data"] == {CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_PROFILE: document}
    assert result["result"].unique_id == PARK_ID
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entity_state(hass, "sensor", "test_park_fire_water_tank_level") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_user_cannot_connect(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    """A refused connection keeps the user on the form with an error; fixing it continues."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: closed_port()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: simulator.ports["gw1"]}
    )
    assert result["step_id"] == "profile"


async def test_profile_from_file(hass: HomeAssistant, simulator: ParkSimulator, tmp_path: Path) -> None:
    """A path relative to the config dir is read; paths outside it and missing files are refused."""
    hass.config.config_dir = str(tmp_path / "config")
    (tmp_path / "config" / "smart_park").mkdir(parents=True)
    document = park_document(simulator.ports["gw1"])
    (tmp_path / "config" / "smart_park" / "park.yaml").write_text(
        yaml.safe_dump(document, allow_unicode=True), encoding="utf-8"
    )
    (tmp_path / "outside.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    flow_id = await _user_to_profile_step(hass, simulator.ports["gw1"])

    for path in ("../outside.yaml", str(tmp_path / "outside.yaml"), "/etc/passwd"):
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE_PATH: path})
        assert result["errors"] == {"base": "path_outside_config"}, path
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_PATH: "smart_park/none.yaml"}
    )
    assert result["errors"] == {"base": "path_not_readable"}
    # Text and path together (or neither) is ambiguous.
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_PATH: "smart_park/park.yaml", CONF_PROFILE_YAML: "park: {}"}
    )
    assert result["errors"] == {"base": "profile_source"}
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "profile_source"}
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_PATH: "smart_park/park.yaml"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PROFILE] == document
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_invalid_profile_translated(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    """Every issue is listed with its path and translated message; nothing is stored."""
    flow_id = await _user_to_profile_step(hass, simulator.ports["gw1"])
    document = park_document(simulator.ports["gw1"])
    document["devices"][1]["unit"] = 1  # same unit as device 0
    document["devices"][2]["type"] = "coffee_machine"
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_YAML: yaml.safe_dump(document, allow_unicode=True)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_profile"}
    issues = result["description_placeholders"]["issues"]
    assert "- `devices[1].unit`: unit 1 already used on gateway gw1" in issues
    assert "- `devices[2].type`: unknown device type coffee_machine" in issues
    # The form keeps what the user typed so it can be corrected.
    assert "coffee_machine" in suggested(result["data_schema"], CONF_PROFILE_YAML)

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE_YAML: "park: [unclosed"})
    assert result["errors"] == {"base": "invalid_profile"}
    assert "- `$`: not valid YAML (line 1)" in result["description_placeholders"]["issues"]
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_profile_issues_in_chinese(hass: HomeAssistant) -> None:
    """With HA set to Simplified Chinese the issue list is Chinese; long lists are cut and counted."""
    hass.config.language = "zh-Hans"
    issues = [
        ProfileIssue(f"devices[{i}].unit", "duplicate_unit", {"unit": "7", "gateway": "gw1"})
        for i in range(25)
    ]
    text = await config_flow.async_render_issues(hass, issues)
    lines = text.splitlines()
    assert lines[0] == "- `devices[0].unit`: 网关 gw1 上的从站地址 7 已被使用"
    assert len(lines) == config_flow.MAX_LISTED_ISSUES + 1
    assert lines[-1] == "- … (+5)"


async def test_already_configured(hass: HomeAssistant, simulator: ParkSimulator) -> None:
    """A second entry for the same park aborts."""
    MockConfigEntry(domain=DOMAIN, unique_id=PARK_ID, data={}).add_to_hass(hass)
    flow_id = await _user_to_profile_step(hass, simulator.ports["gw1"])
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PROFILE_YAML: yaml.safe_dump(park_document(simulator.ports["gw1"]))}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_manifest_matches_simulator_advert(hass: HomeAssistant) -> None:
    """HA's zeroconf routes the simulator's service type to this integration."""
    matchers = await loader.async_get_zeroconf(hass)
    assert {"domain": DOMAIN} in matchers[SERVICE_TYPE]


async def test_zeroconf_then_profile_step(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """Without a profile URL the discovered park asks for the profile; its gateway is the advertised one."""
    info = discovery(advertised)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {
        "name": PARK_NAME,
        "host": "127.0.0.1",
        "port": str(advertised.ports["gw1"]),
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "profile"

    # The profile must describe the advertised park.
    other = gatewayless_document()
    other["park"]["id"] = "another_park"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE_YAML: yaml.safe_dump(other, allow_unicode=True)}
    )
    assert result["errors"] == {"base": "park_mismatch"}
    assert result["description_placeholders"]["found"] == "another_park"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROFILE_YAML: yaml.safe_dump(gatewayless_document(), allow_unicode=True)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PORT] == advertised.ports["gw1"]
    assert result["result"].unique_id == PARK_ID
    await hass.async_block_till_done()
    # The default gateway (the advertised one) serves the devices.
    assert entity_state(hass, "sensor", "test_park_energy_meter_power").state == "15000"
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_zeroconf_fetches_profile(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """With a profile URL in the advert the profile can be downloaded from the park."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=discovery(advertised, control_url=advertised.control_url),
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["profile_fetch", "profile"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "profile_fetch"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PROFILE] == dict(advertised.profile.raw)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_zeroconf_fetch_failures(
    hass: HomeAssistant, advertised: ParkSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed or oversized download falls back to the profile form with an error naming the URL."""
    info = discovery(advertised, profile_url=f"{advertised.control_url}/api/no_such_thing")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "profile_fetch"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "profile"
    assert result["errors"] == {"base": "fetch_failed"}
    assert result["description_placeholders"]["url"].endswith("/api/no_such_thing")
    hass.config_entries.flow.async_abort(result["flow_id"])

    monkeypatch.setattr(config_flow, "MAX_PROFILE_BYTES", 100)
    info = discovery(advertised, control_url=advertised.control_url)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "profile_fetch"}
    )
    assert result["errors"] == {"base": "fetch_failed"}


async def test_zeroconf_cannot_connect(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """The advertised gateway is tested on confirm."""
    info = discovery(advertised)
    await advertised.gateway_down("gw1")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "zeroconf_confirm"
    assert result["errors"] == {"base": "cannot_connect"}


async def test_zeroconf_updates_configured_park(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """A known park seen at a new address updates the entry and aborts."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=PARK_ID, data={CONF_HOST: "192.0.2.1", CONF_PORT: 502, CONF_PROFILE: {}}
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=discovery(advertised)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert entry.data[CONF_PORT] == advertised.ports["gw1"]


async def test_zeroconf_without_park_id(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """An advert that names no park cannot be set up."""
    info = discovery(advertised)
    del info.properties["park_id"]
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_park_id"


async def test_options_flow(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Valid options and profile are applied together and reload the park."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    assert result["type"] is FlowResultType.FORM
    profile_text = suggested(result["data_schema"], CONF_PROFILE_YAML)
    assert suggested(result["data_schema"], CONF_MAX_GAP) == 8
    assert yaml.safe_load(profile_text) == entry.data[CONF_PROFILE]

    document = yaml.safe_load(profile_text)
    document["devices"] = document["devices"][:2]
    user_input = {
        CONF_INTERVAL[Tier.SAFETY]: 0.2,
        CONF_INTERVAL[Tier.FAST]: 0.5,
        CONF_INTERVAL[Tier.NORMAL]: 10.0,
        CONF_INTERVAL[Tier.SLOW]: 120.0,
        CONF_MAX_GAP: 4.0,
        CONF_OFFLINE_THRESHOLD: 600.0,
        CONF_OFFLINE_RETRY: 15.0,
        CONF_AUDIT_SIZE: 2000.0,
        CONF_PROFILE_YAML: yaml.safe_dump(document, allow_unicode=True),
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_MAX_GAP] == 4
    assert CONF_PROFILE_YAML not in entry.options
    assert entry.data[CONF_PROFILE]["devices"] == document["devices"]
    # Reloaded with the new profile and intervals.
    runtime = entry.runtime_data
    assert set(runtime.profile.devices) == {"fire_water_tank", "energy_meter"}
    assert runtime.coordinators[("gw1", Tier.FAST)].interval == 0.5
    assert find_entity(hass, "sensor", "test_park_water_meter_volume") is None


async def test_options_flow_invalid_profile(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """An invalid profile (or one of another park) changes nothing."""
    entry = init_integration
    before_data, before_options = dict(entry.data), dict(entry.options)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    document = dict(entry.data[CONF_PROFILE])
    user_input = {**entry_options(), CONF_MAX_GAP: 2, CONF_OFFLINE_RETRY: 5, CONF_AUDIT_SIZE: 500}
    bad = {**document, "devices": [*document["devices"], {"id": "x", "type": "smoke_detector", "unit": 300}]}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, CONF_PROFILE_YAML: yaml.safe_dump(bad, allow_unicode=True)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_profile"}
    assert "- `devices[11].unit`: unit 300 is outside 1–247" in result["description_placeholders"]["issues"]

    other = {**document, "park": {"id": "elsewhere", "name": "Elsewhere"}}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, CONF_PROFILE_YAML: yaml.safe_dump(other, allow_unicode=True)}
    )
    assert result["errors"] == {"base": "park_mismatch"}
    await hass.async_block_till_done()
    assert dict(entry.data) == before_data
    assert dict(entry.options) == before_options


async def test_reconfigure(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: ParkSimulator
) -> None:
    """Reconfigure tests the new address, then updates and reloads the entry."""
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: closed_port()}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "localhost", CONF_PORT: simulator.ports["gw1"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_HOST] == "localhost"
    assert entry.state.name == "LOADED"


async def test_zeroconf_updates_declared_gateway(hass: HomeAssistant, advertised: ParkSimulator) -> None:
    """With gateways in the profile, the advertised gateway's address there is updated; others are left."""
    document = park_document(5020)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=PARK_ID,
        data={CONF_HOST: "192.0.2.1", CONF_PORT: 502, CONF_PROFILE: document},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=discovery(advertised, gateway="gw9")
    )
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_PROFILE]["gateways"][0]["port"] == 5020
    assert entry.data[CONF_HOST] == "192.0.2.1"

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=discovery(advertised)
    )
    assert result["reason"] == "already_configured"
    gateway = entry.data[CONF_PROFILE]["gateways"][0]
    assert (gateway["host"], gateway["port"]) == ("127.0.0.1", advertised.ports["gw1"])
    assert gateway["timeout"] == 0.3
    # The entry's own default gateway is not the advertised one here.
    assert entry.data[CONF_HOST] == "192.0.2.1"


async def test_zeroconf_other_gateway_of_gatewayless_park(
    hass: HomeAssistant, advertised: ParkSimulator
) -> None:
    """A profile without gateways only follows its default gateway gw1."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=PARK_ID, data={CONF_HOST: "192.0.2.1", CONF_PORT: 502, CONF_PROFILE: {}}
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=discovery(advertised, gateway="gw2")
    )
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "192.0.2.1"
