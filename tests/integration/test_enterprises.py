"""Enterprise registry in a running park: seeding, devices, import/export, figures, websocket, diagnostics.

The park has three enterprises with meters and a door terminal, served by the park simulator over TCP.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.smart_park.audit import Category
from custom_components.smart_park.const import CONF_PROFILE, DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.enterprises import EnterpriseStatus
from simulator.server import ParkSimulator

from .conftest import ParkFactory
from .helpers import find_device

pytestmark = pytest.mark.usefixtures("socket_enabled")

FIXTURES = Path(__file__).parents[1] / "fixtures" / "enterprises"
PARK = "ent_park"
E001_USCC = "91350100M000100Y43"
E001_PHONE = "13800000001"


def enterprise_document(port: int = 5020) -> dict[str, Any]:
    """Three enterprises in two buildings; e001 has two energy meters, a water meter and a door terminal."""
    devices: list[dict[str, Any]] = [
        {"id": "e001_em", "type": "energy_meter", "enterprise": "e001", "name": "恒达 电表"},
        {"id": "e001_em2", "type": "energy_meter", "enterprise": "e001", "name": "恒达 电表 2"},
        {"id": "e001_wm", "type": "water_meter", "enterprise": "e001", "name": "恒达 水表"},
        {"id": "e001_alarm", "type": "one_key_alarm", "enterprise": "e001", "name": "恒达 一键报警"},
        {"id": "e002_em", "type": "energy_meter", "enterprise": "e002", "name": "瑞丰 电表"},
        {"id": "e002_wm", "type": "water_meter", "enterprise": "e002", "name": "瑞丰 水表"},
        {"id": "tank", "type": "fire_water_tank", "name": "Tank"},
    ]
    for unit, device in enumerate(devices, start=1):
        device.update(unit=unit, building="b1", floor=1)
    return {
        "park": {"id": PARK, "name": "企业测试园"},
        "gateways": [{"id": "gw1", "name": "Gateway 1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [
            {"id": "b1", "name": "1号楼", "floors": 6},
            {"id": "b2", "name": "2号楼", "floors": 4, "basements": 1},
        ],
        "enterprises": [
            {
                "id": "e001",
                "name": "恒达机械有限公司",
                "building": "b1",
                "floor": 2,
                "uscc": E001_USCC,
                "contact_name": "张三",
                "contact_phone": E001_PHONE,
                "employees": 35,
                "move_in_date": "2021-05-13",
            },
            {"id": "e002", "name": "瑞丰电子有限公司", "building": "b1", "floor": 3},
            # A profile entry the registry partly rejects (bad USCC): seeded without it.
            {"id": "e003", "name": "金鹏五金厂", "building": "b2", "uscc": "91350100M000100Y44"},
        ],
        "devices": devices,
    }


@pytest.fixture
async def ent_simulator(park_factory: ParkFactory) -> ParkSimulator:
    """The simulator of the enterprise park; its entry is added to HA, not set up (see ent_entry)."""
    _entry, sim = await park_factory(enterprise_document(), setup=False)
    return sim


@pytest.fixture
def ent_entry(hass: HomeAssistant, ent_simulator: ParkSimulator) -> MockConfigEntry:
    """The enterprise park's entry (added by ent_simulator)."""
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, PARK)
    assert isinstance(entry, MockConfigEntry)
    return entry


@pytest.fixture
async def ent_park(
    hass: HomeAssistant, ent_entry: MockConfigEntry, tmp_path: Path
) -> AsyncIterator[SmartParkConfigEntry]:
    """The enterprise park set up, with the config dir in a temporary folder (imports and exports)."""
    hass.config.config_dir = str(tmp_path)
    assert await hass.config_entries.async_setup(ent_entry.entry_id)
    await hass.async_block_till_done()
    yield ent_entry  # type: ignore[misc]
    if ent_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(ent_entry.entry_id)
        await hass.async_block_till_done()


def sensor_id(hass: HomeAssistant, enterprise_id: str | None, key: str) -> str:
    """Entity id of an enterprise sensor (or a park total with ``enterprise_id`` None)."""
    unique_id = f"{PARK}_park.{key}" if enterprise_id is None else f"{PARK}_enterprise.{enterprise_id}_{key}"
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def state_of(hass: HomeAssistant, enterprise_id: str | None, key: str) -> str:
    state = hass.states.get(sensor_id(hass, enterprise_id, key))
    assert state is not None
    return state.state


async def import_file(hass: HomeAssistant, name: str, **data: Any) -> dict[str, Any]:
    """Copy a fixture into the config dir and import it through the action."""
    target = Path(hass.config.config_dir) / "smart_park" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / name, target)
    response = await hass.services.async_call(
        DOMAIN,
        "import_enterprises",
        {"path": f"smart_park/{name}", **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def test_seeded_from_profile(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """The profile's enterprises seed the registry; a field it rejects is left out, the rest kept."""
    registry = ent_park.runtime_data.enterprises
    assert list(registry.records) == ["e001", "e002", "e003"]
    e001 = registry.records["e001"]
    assert (e001.uscc, e001.contact_phone, e001.employees, e001.floor) == (E001_USCC, E001_PHONE, 35, 2)
    assert registry.records["e003"].uscc is None
    assert registry.records["e003"].name == "金鹏五金厂"


async def test_registry_wins_over_profile(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """After the first setup the profile only adds unknown ids: registry edits survive a reload."""
    await hass.services.async_call(
        DOMAIN, "import_enterprises", {"content": "id,name\ne002,瑞丰电子科技\n"}, blocking=True
    )
    document = dict(ent_park.data[CONF_PROFILE])
    document["enterprises"] = [*document["enterprises"], {"id": "e004", "name": "新锐光电"}]
    hass.config_entries.async_update_entry(ent_park, data={**ent_park.data, CONF_PROFILE: document})
    assert await hass.config_entries.async_reload(ent_park.entry_id)
    await hass.async_block_till_done()
    records = ent_park.runtime_data.enterprises.records
    assert records["e002"].name == "瑞丰电子科技"
    assert records["e004"].name == "新锐光电"


async def test_devices(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """Each enterprise is a device under the park; its meters and terminal are reached through it."""
    park = find_device(device_registry, (DOMAIN, f"{PARK}_park"))
    gateway = find_device(device_registry, (DOMAIN, f"{PARK}_gw1"))
    e001 = find_device(device_registry, (DOMAIN, f"{PARK}_enterprise.e001"))
    assert park is not None
    assert gateway is not None
    assert e001 is not None
    assert e001.name == "恒达机械有限公司"
    assert e001.model == "Enterprise"
    assert e001.via_device_id == park.id
    assert e001.entry_type is dr.DeviceEntryType.SERVICE
    for device_id in ("e001_em", "e001_em2", "e001_wm", "e001_alarm"):
        device = find_device(device_registry, (DOMAIN, f"{PARK}_{device_id}"))
        assert device is not None
        assert device.via_device_id == e001.id, device_id
    tank = find_device(device_registry, (DOMAIN, f"{PARK}_tank"))
    assert tank is not None
    assert tank.via_device_id == gateway.id
    # The enterprise's sensors are on its device.
    entity = er.async_get(hass).async_get(sensor_id(hass, "e001", "output_value"))
    assert entity is not None
    assert entity.device_id == e001.id


@pytest.mark.parametrize("name", ["utf8.csv", "utf8_bom.csv", "gbk_excel.csv", "enterprises.yaml"])
async def test_import_action(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, device_registry: dr.DeviceRegistry, name: str
) -> None:
    """A file from the config dir in each encoding: three enterprises added, with devices and sensors."""
    response = await import_file(hass, name)
    assert response == {"added": ["e101", "e102", "e103"], "updated": [], "unchanged": 0, "dry_run": False}
    registry = ent_park.runtime_data.enterprises
    assert registry.records["e102"].name == "瑞丰电子科技有限公司, 二期"
    assert registry.records["e103"].status is EnterpriseStatus.MOVED_OUT
    device = find_device(device_registry, (DOMAIN, f"{PARK}_enterprise.e102"))
    assert device is not None
    assert device.name == "瑞丰电子科技有限公司, 二期"
    assert state_of(hass, "e103", "enterprise_status") == "moved_out"
    assert state_of(hass, None, "active_enterprises") == "5"
    entry = ent_park.runtime_data.audit.entries()[-1]
    assert (entry.category, entry.action) == (Category.ENTERPRISE, "import")
    assert entry.data["added"] == ["e101", "e102", "e103"]


async def test_reimport_is_idempotent(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """The same file again changes nothing: no record, timestamp or state moves."""
    await import_file(hass, "gbk_excel.csv")
    registry = ent_park.runtime_data.enterprises
    before = (dict(registry.records), dict(registry.updated_at))
    changes: list[frozenset[str]] = []
    registry.async_add_listener(changes.append)
    response = await import_file(hass, "gbk_excel.csv")
    assert response == {"added": [], "updated": [], "unchanged": 3, "dry_run": False}
    # The other encodings hold the same enterprises.
    response = await import_file(hass, "enterprises.yaml")
    assert response["unchanged"] == 3
    assert (dict(registry.records), dict(registry.updated_at)) == before
    assert changes == []


async def test_import_updates_by_id(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """A partial file updates the named fields of existing enterprises; a rename reaches the device."""
    response = await hass.services.async_call(
        DOMAIN,
        "import_enterprises",
        {"content": "id,name,employees\ne001,恒达机械集团,40\ne002,瑞丰电子有限公司,\n"},
        blocking=True,
        return_response=True,
    )
    assert response == {"added": [], "updated": ["e001"], "unchanged": 1, "dry_run": False}
    e001 = ent_park.runtime_data.enterprises.records["e001"]
    assert (e001.name, e001.employees, e001.uscc) == ("恒达机械集团", 40, E001_USCC)
    device = find_device(dr.async_get(hass), (DOMAIN, f"{PARK}_enterprise.e001"))
    assert device is not None
    assert device.name == "恒达机械集团"


async def test_dry_run_changes_nothing(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    response = await import_file(hass, "utf8.csv", dry_run=True)
    assert response["added"] == ["e101", "e102", "e103"]
    assert response["dry_run"] is True
    assert list(ent_park.runtime_data.enterprises.records) == ["e001", "e002", "e003"]


async def test_bad_import_changes_nothing_and_lists_every_row(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry
) -> None:
    """All or nothing: the valid row 2 is not applied either; the error names every row and field."""
    registry = ent_park.runtime_data.enterprises
    before = dict(registry.records)
    with pytest.raises(ServiceValidationError) as err:
        await import_file(hass, "invalid.csv")
    assert err.value.translation_key == "enterprise_import_invalid"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["count"] == "12"
    lines = placeholders["issues"].splitlines()
    assert lines == [
        "- row 3, uscc: same USCC as enterprise e201 in row 2",
        "- row 4, id: id e201 already appears in row 2",
        "- row 5, building: no building b9 in the park profile",
        "- row 6, floor: floor 9 is outside building b1 (1 to 6)",
        "- row 7, contact_phone: not a mainland China mobile or landline number",
        "- row 8, move_in_date: 2023-02-30 is not a date (YYYY-MM-DD)",
        "- row 9, employees: … is not a whole number from 0 to 1000000",
        "- row 10, uscc: a USCC has 18 characters, this one has 10",
        "- row 11, uscc: character I at position 17 is not allowed in a USCC",
        "- row 12, uscc: the check character should be A, found B",
        "- row 13, floor: … is not a whole number from -10 to 120",
        "- row 13, contact_phone: the spreadsheet turned this into a number (1.38E+10); format the column"
        " as text",
    ]
    assert str(err.value).startswith("Nothing was imported: 12 problems.")
    assert registry.records == before
    refused = ent_park.runtime_data.audit.entries()[-1]
    assert (refused.action, refused.outcome, refused.data["issues"]) == ("import", "refused", 12)


async def test_import_errors_in_chinese(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """The list of problems follows HA's language."""
    hass.config.language = "zh-Hans"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "import_enterprises",
            {"content": "企业编号,企业名称,楼层\r\ne9,恒达,9\r\n"},
            blocking=True,
        )
    issues = (err.value.translation_placeholders or {})["issues"]
    assert issues == "- 第 2 行，楼层：填写楼层时须填写楼栋"


async def test_import_refuses_files_outside_config(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry
) -> None:
    for data, key in (
        ({"path": "../secrets.csv"}, "path_not_allowed"),
        ({"path": "smart_park/missing.csv"}, "file_not_readable"),
        ({"path": "a.csv", "content": "id,name"}, "import_source"),
        ({}, "import_source"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, "import_enterprises", data, blocking=True)
        assert err.value.translation_key == key


async def test_export_action(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """CSV with BOM for Excel in the config dir; importing it back changes nothing."""
    response = await hass.services.async_call(
        DOMAIN, "export_enterprises", {}, blocking=True, return_response=True
    )
    assert response is not None
    path = Path(str(response["path"]))
    assert path == Path(hass.config.config_dir) / "smart_park" / "enterprises.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,name,uscc,")
    assert E001_USCC.encode() in data
    again = await hass.services.async_call(
        DOMAIN,
        "import_enterprises",
        {"path": "smart_park/enterprises.csv"},
        blocking=True,
        return_response=True,
    )
    assert again == {"added": [], "updated": [], "unchanged": 3, "dry_run": False}
    # Without personal data, and never onto a file that is not a .csv.
    await hass.services.async_call(
        DOMAIN, "export_enterprises", {"path": "smart_park/public.csv", "personal_data": False}, blocking=True
    )
    assert E001_USCC.encode() not in (Path(hass.config.config_dir) / "smart_park" / "public.csv").read_bytes()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "export_enterprises", {"path": "smart_park/configuration.yaml"}, blocking=True
        )
    assert err.value.translation_key == "export_not_csv"


async def test_record_and_correct_figures(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """Figures are kept per month; the latest month shows; re-recording a month corrects it (audited)."""
    audit = ent_park.runtime_data.audit

    async def record(period: str, output_value: float, tax: float, **extra: Any) -> None:
        await hass.services.async_call(
            DOMAIN,
            "record_enterprise_figures",
            {"enterprise": "e001", "period": period, "output_value": output_value, "tax": tax, **extra},
            blocking=True,
        )

    await record("2025-04", 800_000, 40_000, employees=34)
    await record("2025-05", 1_000_000, 52_000.5, employees=35)
    assert state_of(hass, "e001", "output_value") == "1000000.0"
    assert state_of(hass, "e001", "tax") == "52000.5"
    state = hass.states.get(sensor_id(hass, "e001", "output_value"))
    assert state is not None
    assert state.attributes["period"] == "2025-05"
    assert state.attributes["unit_of_measurement"] == "CNY"
    assert state.attributes["device_class"] == "monetary"
    # An earlier month recorded later does not replace the latest month's figures.
    await record("2025-03", 700_000, 35_000)
    assert state_of(hass, "e001", "output_value") == "1000000.0"
    # A correction of May.
    await record("2025-05", 1_100_000, 55_000, employees=35)
    assert state_of(hass, "e001", "output_value") == "1100000.0"
    registry = ent_park.runtime_data.enterprises
    assert sorted(registry.figures["e001"]) == ["2025-03", "2025-04", "2025-05"]
    assert registry.figures["e001"]["2025-05"].revision == 2
    correction = audit.entries()[-1]
    assert (correction.action, correction.target) == ("correct_figures", "e001")
    assert correction.data["output_value"] == 1_100_000
    assert correction.data["previous"]["output_value"] == 1_000_000
    # The same record again is no correction.
    await record("2025-05", 1_100_000, 55_000, employees=35)
    assert audit.entries()[-1].id == correction.id
    # Park totals: the latest month over the enterprises that reported it.
    await hass.services.async_call(
        DOMAIN,
        "record_enterprise_figures",
        {"enterprise": "e002", "period": "2025-05", "output_value": 400_000, "tax": 20_000},
        blocking=True,
    )
    assert state_of(hass, None, "park_output_value") == "1500000.0"
    assert state_of(hass, None, "park_tax") == "75000.0"
    # Figures survive a restart.
    assert await hass.config_entries.async_reload(ent_park.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "e001", "output_value") == "1100000.0"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"enterprise": "e999"}, "unknown_enterprise"),
        ({"period": "2025-13"}, "bad_period"),
        ({"period": "May 2025"}, "bad_period"),
        ({"period": "2999-01"}, "period_in_future"),
        ({"period": "2021-04"}, "period_before_move_in"),
    ],
)
async def test_figures_refused(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, data: dict[str, Any], key: str
) -> None:
    """A bad call names what is wrong and records nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "record_enterprise_figures",
            {"enterprise": "e001", "period": "2025-05", "output_value": 1, "tax": 1, **data},
            blocking=True,
        )
    assert err.value.translation_key == key
    assert ent_park.runtime_data.enterprises.figures == {}


async def test_figures_by_device(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """The enterprise may be given as its HA device (the UI's device picker)."""
    device = find_device(dr.async_get(hass), (DOMAIN, f"{PARK}_enterprise.e002"))
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "record_enterprise_figures",
        {"enterprise": device.id, "period": "2025-05", "output_value": 5, "tax": 1},
        blocking=True,
    )
    assert "2025-05" in ent_park.runtime_data.enterprises.figures["e002"]


async def test_websocket_list_and_subscribe(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """List; subscribe without an entry id (as park_sync does): everything first, then each change."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "smart_park/enterprises/list"})
    listed = await client.receive_json()
    assert listed["success"]
    items = listed["result"]["enterprises"]
    assert [item["id"] for item in items] == ["e001", "e002", "e003"]
    e001 = items[0]
    assert e001["uscc"] == E001_USCC
    assert e001["park_id"] == PARK
    assert e001["config_entry_id"] == ent_park.entry_id
    assert e001["figures"] == []
    assert e001["updated_at"]
    assert e001["device_id"]

    await client.send_json_auto_id({"type": "smart_park/enterprises/subscribe"})
    result = await client.receive_json()
    assert result["success"]
    first = await client.receive_json()
    assert [item["id"] for item in first["event"]["enterprises"]] == ["e001", "e002", "e003"]

    await hass.services.async_call(
        DOMAIN,
        "record_enterprise_figures",
        {"enterprise": "e002", "period": "2025-05", "output_value": 400_000, "tax": 20_000},
        blocking=True,
    )
    event = await client.receive_json()
    (changed,) = event["event"]["enterprises"]
    assert changed["id"] == "e002"
    assert changed["figures"][0]["output_value"] == 400_000
    assert changed["updated_at"] > e001["updated_at"]

    await hass.services.async_call(
        DOMAIN, "import_enterprises", {"content": "id,employees\ne001,41\n"}, blocking=True
    )
    event = await client.receive_json()
    assert [(item["id"], item["employees"]) for item in event["event"]["enterprises"]] == [("e001", 41)]

    # A reloaded park (options saved, HA restarted) sends all of its enterprises again to the subscription.
    assert await hass.config_entries.async_reload(ent_park.entry_id)
    await hass.async_block_till_done()
    event = await client.receive_json()
    assert [item["id"] for item in event["event"]["enterprises"]] == ["e001", "e002", "e003"]


async def test_websocket_redacts_personal_data_for_non_admins(
    hass: HomeAssistant,
    ent_park: SmartParkConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id(
        {"type": "smart_park/enterprises/list", "config_entry_id": ent_park.entry_id}
    )
    listed = await client.receive_json()
    text = json.dumps(listed, ensure_ascii=False)
    for secret in (E001_USCC, E001_PHONE, "张三"):
        assert secret not in text
    assert listed["result"]["enterprises"][0]["name"] == "恒达机械有限公司"


async def test_websocket_unknown_entry(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "smart_park/enterprises/subscribe", "config_entry_id": "nope"})
    result = await client.receive_json()
    assert not result["success"]
    assert result["error"]["code"] == "not_found"


async def test_diagnostics_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, ent_park: SmartParkConfigEntry
) -> None:
    """The registry summary is there; USCC, contact name and phone are not."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, ent_park)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in (E001_USCC, E001_PHONE, "张三"):
        assert secret not in text
    summary = diagnostics["enterprises"]
    assert summary["count"] == 3
    record = summary["records"][0]
    assert record["id"] == "e001"
    assert record["uscc"] == record["contact_name"] == record["contact_phone"] == "**REDACTED**"
    assert summary["meters"]["e001_em"] == {
        "enterprise": "e001",
        "kind": "electricity",
        "point": "energy_import",
        "gateway": "gw1",
        "unit": 1,
        "month": summary["meters"]["e001_em"]["month"],
        "this_month": 0.0,
        "closed_months": 0,
    }


async def test_personal_data_never_logged(
    hass: HomeAssistant,
    ent_park: SmartParkConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Importing, refusing and exporting log no USCC, name or phone of a contact."""
    caplog.clear()
    await import_file(hass, "gbk_excel.csv")
    shutil.copy(FIXTURES / "invalid.csv", Path(hass.config.config_dir) / "smart_park" / "invalid.csv")
    # From the UI: HA logs a refused action's message, which lists every bad row.
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "import_enterprises",
            "service_data": {"path": "smart_park/invalid.csv"},
        }
    )
    refused = await client.receive_json()
    assert refused["error"]["translation_key"] == "enterprise_import_invalid"
    assert any("row 12, uscc" in r.getMessage() for r in caplog.records)
    await hass.services.async_call(DOMAIN, "export_enterprises", {}, blocking=True)
    # The test harness's in-memory Store logs what it writes at debug level; HA's real Store does not.
    logged = "\n".join(
        r.getMessage()
        for r in caplog.records
        if not r.name.startswith("pytest_homeassistant_custom_component")
    )
    for secret in (E001_USCC, E001_PHONE, "张三", "91330100MA27Y5K8AA", "13800000001", "李四"):
        assert secret not in logged
