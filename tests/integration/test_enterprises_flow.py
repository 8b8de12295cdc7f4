"""The options flow's enterprise pages: import (file or pasted), add, edit, move out, export."""

# ruff: noqa: F811 - the enterprise park's fixtures come from test_enterprises

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.enterprises import EnterpriseStatus

from .helpers import find_device
from .test_enterprises import (  # noqa: F401
    FIXTURES,
    PARK,
    ent_entry,
    ent_park,
    ent_simulator,
    state_of,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def open_page(hass: HomeAssistant, entry: SmartParkConfigEntry, step: str) -> dict[str, Any]:
    """Options -> Enterprises -> ``step``."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "enterprises" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "enterprises"}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "enterprise_import",
        "enterprise_add",
        "enterprise_edit",
        "enterprise_move_out",
        "enterprise_export",
    ]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": step})
    return dict(result)


async def test_import_pasted_csv(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    result = await open_page(hass, ent_park, "enterprise_import")
    assert result["type"] is FlowResultType.FORM
    content = "id,name,building,floor\ne010,新锐光电有限公司,b2,B1\ne002,瑞丰电子有限公司,b1,3\n"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"import_content": content})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "enterprises_imported"
    assert result["description_placeholders"] == {"added": "1", "updated": "0", "unchanged": "1"}
    record = ent_park.runtime_data.enterprises.records["e010"]
    assert (record.building, record.floor) == ("b2", -1)
    # The new enterprise has its device and sensors at once.
    assert state_of(hass, "e010", "enterprise_status") == "active"
    # The entry's options are untouched (no reload).
    assert ent_park.options.get("import_content") is None


async def test_import_file_from_config_dir(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    (Path(hass.config.config_dir) / "smart_park").mkdir()
    shutil.copy(FIXTURES / "gbk_excel.csv", Path(hass.config.config_dir) / "smart_park" / "企业.csv")
    result = await open_page(hass, ent_park, "enterprise_import")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"import_path": "smart_park/企业.csv"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["description_placeholders"] == {"added": "3", "updated": "0", "unchanged": "0"}


async def test_import_refused_lists_every_problem(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry
) -> None:
    """The form comes back with every bad row; nothing is imported."""
    result = await open_page(hass, ent_park, "enterprise_import")
    content = "id,name,floor,contact_phone\ne010,新锐,2,13800000000\ne011,博创,x,12\n"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"import_content": content})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "enterprise_import_invalid"}
    assert result["description_placeholders"]["issues"].splitlines() == [
        "- row 2, floor: a floor needs a building",
        "- row 3, floor: … is not a whole number from -10 to 120",
        "- row 3, contact_phone: not a mainland China mobile or landline number",
    ]
    assert "e010" not in ent_park.runtime_data.enterprises.records
    # Both a file and text, or neither.
    for data in ({"import_content": content, "import_path": "a.csv"}, {}):
        result = await hass.config_entries.options.async_configure(result["flow_id"], data)
        assert result["errors"] == {"base": "import_source"}
    for path in ("../x.csv", "secrets.yaml"):
        result = await hass.config_entries.options.async_configure(result["flow_id"], {"import_path": path})
        assert result["errors"] == {"base": "path_not_allowed"}


async def test_add_enterprise(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    result = await open_page(hass, ent_park, "enterprise_add")
    assert result["type"] is FlowResultType.FORM
    values = {
        "id": "e020",
        "name": "嘉禾印刷有限公司",
        "uscc": "91330106MA2H3Q4B15",
        "building": "b1",
        "floor": 4.0,
        "contact_phone": "138 0000 0020",
        "employees": 12.0,
        "move_in_date": "2025-03-01",
    }
    # An id already taken, then a bad phone number: the form says so.
    result = await hass.config_entries.options.async_configure(result["flow_id"], {**values, "id": "e001"})
    assert result["errors"] == {"id": "enterprise_exists"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**values, "contact_phone": "12"}
    )
    assert result["errors"] == {"base": "enterprise_invalid"}
    assert result["description_placeholders"]["issues"] == (
        "- contact_phone: not a mainland China mobile or landline number"
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "enterprise_saved"
    record = ent_park.runtime_data.enterprises.records["e020"]
    assert (record.floor, record.employees, record.contact_phone) == (4, 12, "13800000020")
    device = find_device(device_registry, (DOMAIN, f"{PARK}_enterprise.e020"))
    assert device is not None
    assert device.name == "嘉禾印刷有限公司"
    entry = ent_park.runtime_data.audit.entries()[-1]
    assert (entry.action, entry.target) == ("add", "e020")


async def test_edit_enterprise(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """The form shows the record; an emptied field is cleared; a new name renames the device."""
    result = await open_page(hass, ent_park, "enterprise_edit")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"enterprise": "e001"})
    assert result["step_id"] == "enterprise_edit_form"
    schema = result["data_schema"].schema
    suggested = {str(key): key.description["suggested_value"] for key in schema if key.description}
    assert suggested["name"] == "恒达机械有限公司"
    assert suggested["floor"] == 2
    # The user empties the employees field (the frontend then leaves it out) and renames.
    values = {k: v for k, v in suggested.items() if k != "employees"}
    values["name"] = "恒达机械集团有限公司"
    result = await hass.config_entries.options.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.ABORT
    record = ent_park.runtime_data.enterprises.records["e001"]
    assert (record.name, record.employees, record.uscc) == (
        "恒达机械集团有限公司",
        None,
        "91350100M000100Y43",
    )
    device = find_device(device_registry, (DOMAIN, f"{PARK}_enterprise.e001"))
    assert device is not None
    assert device.name == "恒达机械集团有限公司"


async def test_move_out(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    """Moved out keeps the device, with its status."""
    result = await open_page(hass, ent_park, "enterprise_move_out")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"enterprise": "e002", "move_out_date": "2025-06-30"}
    )
    assert result["type"] is FlowResultType.ABORT
    record = ent_park.runtime_data.enterprises.records["e002"]
    assert record.status is EnterpriseStatus.MOVED_OUT
    assert str(record.move_out_date) == "2025-06-30"
    assert state_of(hass, "e002", "enterprise_status") == "moved_out"
    assert state_of(hass, None, "active_enterprises") == "2"
    assert ent_park.runtime_data.audit.entries()[-1].action == "move_out"
    # A move-out before the move-in is refused.
    result = await open_page(hass, ent_park, "enterprise_move_out")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"enterprise": "e001", "move_out_date": "2020-01-01"}
    )
    assert result["errors"] == {"base": "enterprise_invalid"}


async def test_export(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    result = await open_page(hass, ent_park, "enterprise_export")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"export_path": "smart_park/exports/企业.csv", "personal_data": False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "enterprises_exported"
    data = (Path(hass.config.config_dir) / "smart_park" / "exports" / "企业.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,")
    assert "恒达机械有限公司".encode() in data
    assert b"91350100M000100Y43" not in data
    result = await open_page(hass, ent_park, "enterprise_export")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"export_path": "smart_park/secrets.yaml", "personal_data": True}
    )
    assert result["errors"] == {"base": "export_not_csv"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"export_path": "www/enterprises.csv", "personal_data": True}
    )
    assert result["errors"] == {"base": "export_path_not_allowed"}


async def test_park_not_loaded(hass: HomeAssistant, ent_park: SmartParkConfigEntry) -> None:
    assert await hass.config_entries.async_unload(ent_park.entry_id)
    result = await hass.config_entries.options.async_init(ent_park.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "enterprises"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "park_not_loaded"
