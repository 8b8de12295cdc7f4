"""The options flow's volunteer pages: the roll-call's settings, and adding, editing and removing volunteers.

The settings are entry options (saved, then the park reloads; roll-calls resume from the Store). The roster
lives in the park's runtime data, so its pages need the park loaded and end with an abort saying what was
done, like the enterprise pages. Options flows are admin-only in HA, which the roster's personal data needs.
"""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING, Any, Final

import probatio as vol
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)

from ..selectors import choice, seconds
from .model import LANGUAGES, WEEKDAYS, Role, Shift, Volunteer
from .options import (
    CONF_DISPATCH_KINDS,
    CONF_ESCALATE_AFTER,
    CONF_HELP_BROADCAST,
    CONF_NOTIFY_SERVICE,
    CONF_QUORUM,
    CONF_RELAY_REACHABLE,
    CONF_REPEAT_AFTER,
    DEFAULT_ESCALATE_AFTER,
    DEFAULT_QUORUM,
    DEFAULT_REPEAT_AFTER,
    DISPATCH_KINDS,
)

if TYPE_CHECKING:
    from .roster import Roster

VOLUNTEER_MENU: Final = ("volunteer_settings", "volunteer_add", "volunteer_remove")
ABORT_NOT_LOADED: Final = "volunteers_park_not_loaded"
FORM_FIELDS: Final = ("name", "role", "building", "enterprise", "phone", "language")
SHIFT_FIELDS: Final = ("shift_days", "shift_start", "shift_end")


def dropdown(
    options: list[SelectOptionDict] | list[str], key: str | None = None, *, multiple: bool = False
) -> SelectSelector:
    """A drop-down: the roster's lists (users, buildings, enterprises) can be long."""
    return choice(options, key, multiple=multiple, mode=SelectSelectorMode.DROPDOWN)


SETTINGS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_DISPATCH_KINDS): dropdown(
            DISPATCH_KINDS, "volunteer_dispatch_kinds", multiple=True
        ),
        vol.Required(CONF_QUORUM): NumberSelector(
            NumberSelectorConfig(min=1, max=50, step=1, mode=NumberSelectorMode.BOX)
        ),
        # Zero turns a step off.
        vol.Required(CONF_REPEAT_AFTER): seconds(0, 3600),
        vol.Required(CONF_ESCALATE_AFTER): seconds(0, 3600),
        vol.Required(CONF_HELP_BROADCAST): BooleanSelector(),
        vol.Required(CONF_RELAY_REACHABLE): BooleanSelector(),
        vol.Optional(CONF_NOTIFY_SERVICE): TextSelector(),
    }
)


class VolunteerOptionsFlow(OptionsFlow):
    """The options flow's volunteer pages (mixed into the park's options flow)."""

    _volunteer_user: str | None = None

    def _roster(self) -> Roster | None:
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return None
        roster: Roster = self.config_entry.runtime_data.volunteers.roster
        return roster

    async def async_step_volunteers(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose a volunteer page."""
        return self.async_show_menu(step_id="volunteers", menu_options=list(VOLUNTEER_MENU))

    async def async_step_volunteer_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which incidents dispatch, the quorum, the escalation's times, the broadcast, an extra service."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            service = str(user_input.get(CONF_NOTIFY_SERVICE) or "").strip()
            if service and (
                service.count(".") != 1 or not self.hass.services.has_service(*service.split(".", 1))
            ):
                errors[CONF_NOTIFY_SERVICE] = "unknown_service"
            else:
                options = {
                    **entry.options,
                    **user_input,
                    CONF_DISPATCH_KINDS: list(user_input.get(CONF_DISPATCH_KINDS, [])),
                    CONF_QUORUM: int(user_input[CONF_QUORUM]),
                    CONF_NOTIFY_SERVICE: service,
                }
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_create_entry(data=options)
        current = {
            CONF_DISPATCH_KINDS: DISPATCH_KINDS,
            CONF_QUORUM: DEFAULT_QUORUM,
            CONF_REPEAT_AFTER: DEFAULT_REPEAT_AFTER,
            CONF_ESCALATE_AFTER: DEFAULT_ESCALATE_AFTER,
            CONF_HELP_BROADCAST: True,
            CONF_RELAY_REACHABLE: True,
            **entry.options,
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="volunteer_settings",
            data_schema=self.add_suggested_values_to_schema(SETTINGS_SCHEMA, current),
            errors=errors,
        )

    async def _user_options(self) -> list[SelectOptionDict]:
        users = await self.hass.auth.async_get_users()
        return [
            SelectOptionDict(value=user.id, label=user.name or user.id)
            for user in sorted(users, key=lambda u: u.name or "")
            if not user.system_generated and user.is_active
        ]

    def _volunteer_schema(self, roster: Roster) -> vol.Schema:
        profile = roster.profile
        buildings = [SelectOptionDict(value=b.id, label=b.name) for b in profile.buildings.values()]
        enterprises = [SelectOptionDict(value=e.id, label=e.name) for e in profile.enterprises.values()]
        return vol.Schema(
            {
                vol.Optional("name"): TextSelector(),
                vol.Required("role"): dropdown([r.value for r in Role], "volunteer_role"),
                vol.Optional("building"): dropdown(buildings),
                vol.Optional("enterprise"): dropdown(enterprises),
                vol.Optional("phone"): TextSelector(TextSelectorConfig(type=TextSelectorType.TEL)),
                vol.Optional("language"): dropdown(list(LANGUAGES)),
                vol.Optional("shift_days"): dropdown(list(WEEKDAYS), "weekday", multiple=True),
                vol.Optional("shift_start"): TimeSelector(),
                vol.Optional("shift_end"): TimeSelector(),
            }
        )

    async def async_step_volunteer_add(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the HA user to add, or to edit when already on the roster."""
        if self._roster() is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        if user_input is not None:
            self._volunteer_user = user_input["user_id"]
            return await self.async_step_volunteer_form()
        schema = vol.Schema({vol.Required("user_id"): dropdown(await self._user_options())})
        return self.async_show_form(step_id="volunteer_add", data_schema=schema)

    async def async_step_volunteer_form(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The volunteer's role, building, enterprise, phone, language and one weekly shift."""
        if (roster := self._roster()) is None or self._volunteer_user is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        user = await self.hass.auth.async_get_user(self._volunteer_user)
        existing = roster.get(self._volunteer_user)
        errors: dict[str, str] = {}
        if user_input is not None and user is not None:
            try:
                volunteer = _volunteer_from_form(user.id, user.name or user.id, user_input, existing)
                roster.set(volunteer, None)
            except ServiceValidationError as err:
                # The same refusal as the action's, on the field it names.
                field = (err.translation_placeholders or {}).get("field", "base")
                errors[field if field in FORM_FIELDS else "base"] = err.translation_key or "volunteer_invalid"
            except ValueError:
                errors["base"] = "shift_invalid"
            else:
                return self.async_abort(
                    reason="volunteer_saved", description_placeholders={"name": volunteer.name}
                )
        current: dict[str, Any] = {"role": Role.VOLUNTEER.value}
        if existing is not None:
            current |= {k: v for k, v in existing.as_dict().items() if k in FORM_FIELDS and v is not None}
            if existing.shifts:
                shift = existing.shifts[0]
                current |= {
                    "shift_days": list(shift.days),
                    "shift_start": shift.start.isoformat(),
                    "shift_end": shift.end.isoformat(),
                }
        current |= user_input or {}
        return self.async_show_form(
            step_id="volunteer_form",
            data_schema=self.add_suggested_values_to_schema(self._volunteer_schema(roster), current),
            errors=errors,
        )

    async def async_step_volunteer_remove(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Take a volunteer off the roster."""
        if (roster := self._roster()) is None:
            return self.async_abort(reason=ABORT_NOT_LOADED)
        volunteers = roster.volunteers()
        if not volunteers:
            return self.async_abort(reason="no_volunteers")
        if user_input is not None:
            removed = roster.remove(user_input["user_id"], None)
            return self.async_abort(
                reason="volunteer_removed", description_placeholders={"name": removed.name}
            )
        options = [SelectOptionDict(value=v.user_id, label=v.name) for v in volunteers]
        return self.async_show_form(
            step_id="volunteer_remove", data_schema=vol.Schema({vol.Required("user_id"): dropdown(options)})
        )


def _volunteer_from_form(
    user_id: str, user_name: str, form: dict[str, Any], existing: Volunteer | None
) -> Volunteer:
    """The volunteer a form describes; one shift from the form (more through the action), others kept."""
    shifts = existing.shifts[1:] if existing else ()
    if form.get("shift_start") and form.get("shift_end"):
        shift = Shift(
            days=tuple(form.get("shift_days") or WEEKDAYS),
            start=time.fromisoformat(form["shift_start"]),
            end=time.fromisoformat(form["shift_end"]),
        )
        shifts = (shift, *shifts)
    elif form.get("shift_start") or form.get("shift_end"):
        raise ValueError("a shift needs a start and an end")
    return Volunteer(
        user_id=user_id,
        name=form.get("name") or (existing.name if existing else user_name),
        role=Role(form["role"]),
        building=form.get("building"),
        enterprise=form.get("enterprise"),
        phone=form.get("phone"),
        language=form.get("language"),
        devices=existing.devices if existing else (),
        shifts=shifts,
    )
