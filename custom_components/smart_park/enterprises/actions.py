"""The enterprise registry's actions: import, export (admins only) and recording monthly figures.

Import and export read and write files and carry personal data (phones, USCCs): HA's admin-service wrapper
refuses a call whose user is not an admin with ``Unauthorized``. Every export is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import probatio as vol
from homeassistant.core import Context, HomeAssistant, ServiceCall, SupportsResponse, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service

from ..audit import Source, source_of
from ..const import DOMAIN
from ..entry import ENTRY_FIELD, call_entry
from ..errors import invalid
from .documents import export_csv
from .files import DEFAULT_EXPORT_PATH, async_export_file, async_read_import_file, async_write_export_file
from .issues import import_error
from .model import EnterpriseImportError
from .registry import EnterpriseRegistry

SERVICE_IMPORT: Final = "import_enterprises"
SERVICE_EXPORT: Final = "export_enterprises"
SERVICE_RECORD_FIGURES: Final = "record_enterprise_figures"


async def async_export(
    hass: HomeAssistant,
    registry: EnterpriseRegistry,
    path: str,
    *,
    personal: bool,
    source: Source = Source.USER,
    context: Context | None = None,
) -> Path:
    """Write the registry as CSV to ``<config>/smart_park/`` (audited: it may hold personal data)."""
    file = await async_export_file(hass, path)
    await async_write_export_file(hass, file, path, export_csv(registry.records.values(), personal=personal))
    registry.audit(
        "export",
        source=source,
        context=context,
        file=path,
        enterprises=len(registry.records),
        personal_data=personal,
    )
    return file


def _registry(call: ServiceCall) -> EnterpriseRegistry:
    return call_entry(call).runtime_data.enterprises


async def _async_import_service(call: ServiceCall) -> dict[str, Any]:
    registry = _registry(call)
    path, content = call.data.get("path"), call.data.get("content")
    if bool(path) == bool(content):
        raise invalid("import_source")
    data: bytes | str = await async_read_import_file(call.hass, path) if path else str(content)
    try:
        plan = await registry.async_import(
            data,
            name=path or "",
            fmt=call.data.get("format"),
            dry_run=call.data["dry_run"],
            source=source_of(call.context),
            context=call.context,
        )
    except EnterpriseImportError as err:
        raise await import_error(call.hass, err) from err
    return {
        "added": list(plan.added),
        "updated": list(plan.updated),
        "unchanged": len(plan.unchanged),
        "dry_run": call.data["dry_run"],
    }


async def _async_export_service(call: ServiceCall) -> dict[str, Any]:
    registry = _registry(call)
    path = call.data["path"]
    personal = call.data["personal_data"]
    file = await async_export(
        call.hass, registry, path, personal=personal, source=source_of(call.context), context=call.context
    )
    return {"path": str(file), "enterprises": len(registry.records)}


async def _async_record_figures_service(call: ServiceCall) -> None:
    registry = _registry(call)
    enterprise_id = registry.resolve(call.data["enterprise"])
    if enterprise_id is None:
        raise invalid("unknown_enterprise", enterprise=call.data["enterprise"])
    await registry.async_record_figures(
        enterprise_id,
        call.data["period"].strip(),
        call.data["output_value"],
        call.data["tax"],
        call.data.get("employees"),
        source=source_of(call.context),
        context=call.context,
    )


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register the enterprise registry's actions; import and export are for admins only."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_IMPORT,
        _async_import_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Optional("path"): cv.string,
                vol.Optional("content"): cv.string,
                vol.Optional("format"): vol.In(["csv", "yaml"]),
                vol.Optional("dry_run", default=False): cv.boolean,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT,
        _async_export_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Optional("path", default=DEFAULT_EXPORT_PATH): cv.string,
                vol.Optional("personal_data", default=True): cv.boolean,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_RECORD_FIGURES,
        _async_record_figures_service,
        schema=vol.Schema(ENTRY_FIELD).extend(
            {
                vol.Required("enterprise"): cv.string,
                vol.Required("period"): cv.string,
                vol.Required("output_value"): vol.All(vol.Coerce(float), vol.Range(min=0)),
                vol.Required("tax"): vol.All(vol.Coerce(float), vol.Range(min=0)),
                vol.Optional("employees"): vol.All(vol.Coerce(int), vol.Range(min=0)),
            }
        ),
    )
