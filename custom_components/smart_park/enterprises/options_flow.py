"""The options flow's enterprise pages: import, add, edit, move out and export enterprises.

The options flow of a park (``config_flow.SmartParkOptionsFlow``) inherits these steps. They change the
registry, not the entry's options: nothing is reloaded.
"""

from __future__ import annotations

from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.selector import (
    BooleanSelector,
    DateSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util

from .actions import async_export
from .files import DEFAULT_EXPORT_PATH, async_read_import_file
from .issues import async_render_import_issues
from .model import EnterpriseImportError, EnterpriseStatus
from .registry import EnterpriseRegistry

CONF_IMPORT_PATH = "import_path"
CONF_IMPORT_CONTENT = "import_content"
CONF_EXPORT_PATH = "export_path"
CONF_PERSONAL_DATA = "personal_data"
ENTERPRISE_MENU = (
    "enterprise_import",
    "enterprise_add",
    "enterprise_edit",
    "enterprise_move_out",
    "enterprise_export",
)
# Form fields of one enterprise (id apart), and those only an edit shows.
FORM_FIELDS = (
    "name",
    "uscc",
    "industry",
    "building",
    "floor",
    "unit",
    "contact_name",
    "contact_phone",
    "employees",
    "move_in_date",
)
EDIT_FIELDS = ("status", "move_out_date")
ABORT_NOT_LOADED = "park_not_loaded"
ABORT_NO_ENTERPRISES = "no_enterprises"
ERROR_ENTERPRISE_INVALID = "enterprise_invalid"
STATUS_SELECTOR = "enterprise_status"


class EnterpriseOptionsFlow(OptionsFlow):
    """The options flow's enterprise pages: import, add, edit, move out, export.

    Changes go to the enterprise registry (saved at once, audited), not to the entry's options, so a page ends
    with an abort that says what was done. The park must be loaded: the registry lives in its runtime data.
    """

    _enterprise_id: str | None = None

    def _registry(self) -> EnterpriseRegistry | None:
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return None
        registry: EnterpriseRegistry = self.config_entry.runtime_data.enterprises
        return registry

    async def async_step_enterprises(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to do with the enterprise registry."""
        if self._registry() is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        return self.async_show_menu(step_id="enterprises", menu_options=list(ENTERPRISE_MENU))

    async def async_step_enterprise_import(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Import a CSV or YAML file from the config dir, or pasted text; all of it or nothing."""
        if (registry := self._registry()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        errors: dict[str, str] = {}
        placeholders = {"issues": ""}
        if user_input is not None:
            path = (user_input.get(CONF_IMPORT_PATH) or "").strip()
            content = (user_input.get(CONF_IMPORT_CONTENT) or "").strip()
            try:
                if bool(path) == bool(content):
                    error = "import_source"
                else:
                    data: bytes | str = await async_read_import_file(self.hass, path) if path else content
                    plan = await registry.async_import(data, name=path)
                    return self.async_abort(
                        reason="enterprises_imported",
                        description_placeholders={
                            "added": str(len(plan.added)),
                            "updated": str(len(plan.updated)),
                            "unchanged": str(len(plan.unchanged)),
                        },
                    )
            except ServiceValidationError as err:
                error = err.translation_key or "file_not_readable"
            except EnterpriseImportError as err:
                error = "enterprise_import_invalid"
                placeholders["issues"] = await async_render_import_issues(self.hass, err.issues)
            errors["base"] = error
        schema = vol.Schema(
            {
                vol.Optional(CONF_IMPORT_PATH): TextSelector(),
                vol.Optional(CONF_IMPORT_CONTENT): TextSelector(TextSelectorConfig(multiline=True)),
            }
        )
        return self.async_show_form(
            step_id="enterprise_import",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _enterprise_schema(self, registry: EnterpriseRegistry, *, new: bool) -> vol.Schema:
        buildings = [SelectOptionDict(value=b.id, label=b.name) for b in registry.profile.buildings.values()]
        fields: dict[Any, Any] = {}
        if new:
            fields[vol.Required("id")] = TextSelector()
        fields.update(
            {
                vol.Required("name"): TextSelector(),
                vol.Optional("uscc"): TextSelector(),
                vol.Optional("industry"): TextSelector(),
                vol.Optional("building"): SelectSelector(
                    SelectSelectorConfig(options=buildings, mode=SelectSelectorMode.DROPDOWN)
                ),
                vol.Optional("floor"): NumberSelector(
                    NumberSelectorConfig(min=-10, max=120, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional("unit"): TextSelector(),
                vol.Optional("contact_name"): TextSelector(),
                vol.Optional("contact_phone"): TextSelector(TextSelectorConfig(type=TextSelectorType.TEL)),
                vol.Optional("employees"): NumberSelector(
                    NumberSelectorConfig(min=0, max=1_000_000, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional("move_in_date"): DateSelector(),
            }
        )
        if not new:
            fields[vol.Required("status")] = SelectSelector(
                SelectSelectorConfig(
                    options=[s.value for s in EnterpriseStatus],
                    translation_key=STATUS_SELECTOR,
                    mode=SelectSelectorMode.LIST,
                )
            )
            fields[vol.Optional("move_out_date")] = DateSelector()
        return vol.Schema(fields)

    async def _async_save_enterprise(
        self,
        registry: EnterpriseRegistry,
        values: dict[str, Any],
        action: str,
        step_id: str,
        schema: vol.Schema,
    ) -> ConfigFlowResult:
        """Validate one enterprise's form values; save and finish, or show the form again with every issue."""
        errors: dict[str, str] = {}
        placeholders = {"issues": ""}
        try:
            plan = registry.plan_values(values)
        except EnterpriseImportError as err:
            errors["base"] = ERROR_ENTERPRISE_INVALID
            placeholders["issues"] = await async_render_import_issues(self.hass, err.issues, rows=False)
        else:
            await registry.async_apply(plan, action)
            record = plan.records[0]
            return self.async_abort(reason="enterprise_saved", description_placeholders={"name": record.name})
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {key: value for key, value in values.items() if value is not None}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_enterprise_add(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add one enterprise."""
        if (registry := self._registry()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        schema = self._enterprise_schema(registry, new=True)
        if user_input is not None:
            if str(user_input.get("id", "")).strip() in registry.records:
                return self.async_show_form(
                    step_id="enterprise_add",
                    data_schema=self.add_suggested_values_to_schema(schema, user_input),
                    errors={"id": "enterprise_exists"},
                    description_placeholders={"issues": ""},
                )
            values = {key: user_input.get(key) for key in ("id", *FORM_FIELDS)}
            return await self._async_save_enterprise(registry, values, "add", "enterprise_add", schema)
        return self.async_show_form(
            step_id="enterprise_add", data_schema=schema, description_placeholders={"issues": ""}
        )

    def _enterprise_select(
        self, registry: EnterpriseRegistry, *, active_only: bool = False
    ) -> SelectSelector:
        options = [
            SelectOptionDict(value=record.id, label=f"{record.name} ({record.id})")
            for record in sorted(registry.records.values(), key=lambda r: r.id)
            if not active_only or record.status is EnterpriseStatus.ACTIVE
        ]
        return SelectSelector(SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN))

    async def async_step_enterprise_edit(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the enterprise to edit."""
        if (registry := self._registry()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        if not registry.records:
            return self.async_abort(reason=ABORT_NO_ENTERPRISES)
        if user_input is not None:
            self._enterprise_id = user_input["enterprise"]
            return await self.async_step_enterprise_edit_form()
        return self.async_show_form(
            step_id="enterprise_edit",
            data_schema=vol.Schema({vol.Required("enterprise"): self._enterprise_select(registry)}),
        )

    async def async_step_enterprise_edit_form(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit every field of the chosen enterprise; an emptied field is cleared."""
        registry = self._registry()
        if registry is None or self._enterprise_id not in registry.records:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        schema = self._enterprise_schema(registry, new=False)
        if user_input is not None:
            values = {
                "id": self._enterprise_id,
                **{key: user_input.get(key) for key in (*FORM_FIELDS, *EDIT_FIELDS)},
            }
            return await self._async_save_enterprise(registry, values, "edit", "enterprise_edit_form", schema)
        record = registry.records[self._enterprise_id].as_dict()
        current = {key: value for key, value in record.items() if value is not None}
        return self.async_show_form(
            step_id="enterprise_edit_form",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            description_placeholders={"issues": "", "id": self._enterprise_id},
        )

    async def async_step_enterprise_move_out(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Mark an enterprise as moved out on a date; its device and history stay."""
        if (registry := self._registry()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        if not any(record.status is EnterpriseStatus.ACTIVE for record in registry.records.values()):
            return self.async_abort(reason=ABORT_NO_ENTERPRISES)
        schema = vol.Schema(
            {
                vol.Required("enterprise"): self._enterprise_select(registry, active_only=True),
                vol.Required("move_out_date"): DateSelector(),
            }
        )
        if user_input is not None:
            values = {
                "id": user_input["enterprise"],
                "status": EnterpriseStatus.MOVED_OUT.value,
                "move_out_date": user_input["move_out_date"],
            }
            return await self._async_save_enterprise(
                registry, values, "move_out", "enterprise_move_out", schema
            )
        return self.async_show_form(
            step_id="enterprise_move_out",
            data_schema=self.add_suggested_values_to_schema(
                schema, {"move_out_date": dt_util.now().date().isoformat()}
            ),
            description_placeholders={"issues": ""},
        )

    async def async_step_enterprise_export(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Export the registry to a CSV file in the config dir (UTF-8 with BOM, for Excel)."""
        if (registry := self._registry()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await async_export(
                    self.hass, registry, user_input[CONF_EXPORT_PATH], personal=user_input[CONF_PERSONAL_DATA]
                )
            except HomeAssistantError as err:
                errors["base"] = err.translation_key or "file_not_writable"
            else:
                return self.async_abort(
                    reason="enterprises_exported",
                    description_placeholders={
                        "path": user_input[CONF_EXPORT_PATH],
                        "count": str(len(registry.records)),
                    },
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_EXPORT_PATH, default=DEFAULT_EXPORT_PATH): TextSelector(),
                vol.Required(CONF_PERSONAL_DATA, default=True): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="enterprise_export",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )
