"""Options flow: the menu and its polling (with the park profile), fire-bell linkage and broadcast pages.

The enterprise and volunteer pages live in :mod:`.enterprises.options_flow` and
:mod:`.volunteers.options_flow` (mixed in); the entry flows in
:mod:`.config_flow`, which returns this flow from ``async_get_options_flow``.
"""

from __future__ import annotations

import re
from typing import Any

import probatio as vol
import yaml
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_AUDIT_SIZE,
    CONF_BROADCAST_ALTERNATION,
    CONF_BROADCAST_BELL_SECONDS,
    CONF_BROADCAST_EVACUATION_SLOT,
    CONF_BROADCAST_MESSAGE_REPEATS,
    CONF_INTERVAL,
    CONF_LINKAGE_CONFIRMATION,
    CONF_LINKAGE_PIN_HASH,
    CONF_LINKAGE_SCOPE,
    CONF_LINKAGE_TEST_DURATION,
    CONF_LINKAGE_TRIGGERS,
    CONF_MAX_GAP,
    CONF_OFFLINE_RETRY,
    CONF_OFFLINE_THRESHOLD,
    CONF_PROFILE,
    CONF_PROFILE_YAML,
    DEFAULT_AUDIT_SIZE,
    DEFAULT_BROADCAST_BELL_SECONDS,
    DEFAULT_BROADCAST_EVACUATION_SLOT,
    DEFAULT_BROADCAST_MESSAGE_REPEATS,
    DEFAULT_INTERVAL,
    DEFAULT_LINKAGE_CONFIRMATION,
    DEFAULT_LINKAGE_SCOPE,
    DEFAULT_LINKAGE_TEST_DURATION,
    DEFAULT_MAX_GAP,
    DEFAULT_OFFLINE_RETRY,
    DEFAULT_OFFLINE_THRESHOLD,
    MAX_MAX_GAP,
    MIN_INTERVAL,
)
from .engine.catalogue import Tier
from .enterprises.options_flow import EnterpriseOptionsFlow
from .linkage import hash_pin
from .profile_form import InvalidProfile, ProfileFormMixin
from .selectors import choice, seconds
from .volunteers.options_flow import VolunteerOptionsFlow

CONF_NEW_PIN = "new_pin"
CONF_CLEAR_PIN = "clear_pin"
PIN_PATTERN = re.compile(r"\d{4,12}")


# The linkage page's fields (its PIN fields are write-only: never filled from the options).
_LINKAGE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_LINKAGE_SCOPE): choice(["building", "park"], CONF_LINKAGE_SCOPE),
        vol.Required(CONF_LINKAGE_CONFIRMATION): choice(["single", "two_signal"], CONF_LINKAGE_CONFIRMATION),
        vol.Optional(CONF_LINKAGE_TRIGGERS): choice(["smoke", "gas"], CONF_LINKAGE_TRIGGERS, multiple=True),
        vol.Required(CONF_LINKAGE_TEST_DURATION): seconds(1, 600, 1),
        vol.Optional(CONF_NEW_PIN): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
        vol.Optional(CONF_CLEAR_PIN, default=False): BooleanSelector(),
    }
)
# The polling page's fields; built once, as it depends on nothing but the constants.
_POLLING_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_INTERVAL[Tier.SAFETY]): seconds(MIN_INTERVAL, 3600, 0.05),
        vol.Required(CONF_INTERVAL[Tier.FAST]): seconds(MIN_INTERVAL, 3600, 0.05),
        vol.Required(CONF_INTERVAL[Tier.NORMAL]): seconds(MIN_INTERVAL, 86400, 0.05),
        vol.Required(CONF_INTERVAL[Tier.SLOW]): seconds(MIN_INTERVAL, 86400, 0.05),
        vol.Required(CONF_MAX_GAP): NumberSelector(
            NumberSelectorConfig(min=0, max=MAX_MAX_GAP, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Required(CONF_OFFLINE_THRESHOLD): seconds(0, 86400, 1),
        vol.Required(CONF_OFFLINE_RETRY): seconds(1, 3600, 1),
        vol.Required(CONF_AUDIT_SIZE): NumberSelector(
            NumberSelectorConfig(min=100, max=1_000_000, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Required(CONF_PROFILE_YAML): TextSelector(TextSelectorConfig(multiline=True)),
    }
)


class SmartParkOptionsFlow(ProfileFormMixin, EnterpriseOptionsFlow, VolunteerOptionsFlow):
    """A menu of option pages: polling and the park profile, the fire-bell linkage, ...

    Each page applies its own options and keeps the others'; an invalid page changes nothing.
    """

    MENU: tuple[str, ...] = ("polling", "linkage", "enterprises", "broadcast", "volunteers")

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose an option page."""
        return self.async_show_menu(step_id="init", menu_options=list(self.MENU))

    def _save_and_reload(self, options: dict[str, Any]) -> ConfigFlowResult:
        """Store a page's options (the others' kept by the caller); a reload applies them."""
        self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        return self.async_create_entry(data=options)

    async def async_step_broadcast(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Emergency broadcast: bells and the evacuation message in turn during a fire alarm."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            slot = int(user_input[CONF_BROADCAST_EVACUATION_SLOT])
            # The slot must be a preset of every controller with a preset table (vendor maps may lack one).
            if entry.state is ConfigEntryState.LOADED and any(
                controller.presets and slot not in controller.presets
                for controller in entry.runtime_data.broadcast.controllers.values()
            ):
                errors[CONF_BROADCAST_EVACUATION_SLOT] = "unknown_preset"
            else:
                options = {
                    **entry.options,
                    **user_input,
                    CONF_BROADCAST_MESSAGE_REPEATS: int(user_input[CONF_BROADCAST_MESSAGE_REPEATS]),
                    CONF_BROADCAST_EVACUATION_SLOT: slot,
                }
                return self._save_and_reload(options)
        current = {
            CONF_BROADCAST_ALTERNATION: False,
            CONF_BROADCAST_BELL_SECONDS: DEFAULT_BROADCAST_BELL_SECONDS,
            CONF_BROADCAST_MESSAGE_REPEATS: DEFAULT_BROADCAST_MESSAGE_REPEATS,
            CONF_BROADCAST_EVACUATION_SLOT: DEFAULT_BROADCAST_EVACUATION_SLOT,
            **entry.options,
            **(user_input or {}),
        }
        schema = vol.Schema(
            {
                vol.Required(CONF_BROADCAST_ALTERNATION): BooleanSelector(),
                # GB 50116-2013 §4.8.6/§4.8.9: bells 8-20 s, then the message once or twice.
                vol.Required(CONF_BROADCAST_BELL_SECONDS): seconds(8, 20, 1),
                vol.Required(CONF_BROADCAST_MESSAGE_REPEATS): NumberSelector(
                    NumberSelectorConfig(min=1, max=2, step=1, mode=NumberSelectorMode.SLIDER)
                ),
                vol.Required(CONF_BROADCAST_EVACUATION_SLOT): NumberSelector(
                    NumberSelectorConfig(min=1, max=0xFFFF, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="broadcast",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
        )

    async def async_step_linkage(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Fire-bell linkage: scope, confirmation rule, triggers, test duration and the operator PIN."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            new_pin = user_input.pop(CONF_NEW_PIN, "") or ""
            clear_pin = user_input.pop(CONF_CLEAR_PIN, False)
            if new_pin and not PIN_PATTERN.fullmatch(new_pin):
                errors[CONF_NEW_PIN] = "pin_format"
            else:
                options = {**entry.options, **user_input}
                if clear_pin:
                    options.pop(CONF_LINKAGE_PIN_HASH, None)
                elif new_pin:
                    # Only the salted hash is stored; the PIN itself is never kept.
                    options[CONF_LINKAGE_PIN_HASH] = await self.hass.async_add_executor_job(hash_pin, new_pin)
                return self._save_and_reload(options)
        current = {
            CONF_LINKAGE_SCOPE: DEFAULT_LINKAGE_SCOPE,
            CONF_LINKAGE_CONFIRMATION: DEFAULT_LINKAGE_CONFIRMATION,
            CONF_LINKAGE_TRIGGERS: [],
            CONF_LINKAGE_TEST_DURATION: DEFAULT_LINKAGE_TEST_DURATION,
            **entry.options,
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="linkage",
            data_schema=self.add_suggested_values_to_schema(_LINKAGE_SCHEMA, current),
            errors=errors,
            description_placeholders={"pin_set": "yes" if CONF_LINKAGE_PIN_HASH in entry.options else "no"},
        )

    async def async_step_polling(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll intervals, read planning, offline handling and the park profile."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"issues": ""}
        if user_input is not None:
            result = await self._async_apply_polling(user_input, errors, placeholders)
            if result is not None:
                return result
        current: dict[str, Any] = {
            **{CONF_INTERVAL[tier]: DEFAULT_INTERVAL[tier] for tier in Tier},
            CONF_MAX_GAP: DEFAULT_MAX_GAP,
            CONF_OFFLINE_THRESHOLD: DEFAULT_OFFLINE_THRESHOLD,
            CONF_OFFLINE_RETRY: DEFAULT_OFFLINE_RETRY,
            CONF_AUDIT_SIZE: DEFAULT_AUDIT_SIZE,
            **entry.options,
            CONF_PROFILE_YAML: yaml.safe_dump(
                dict(entry.data[CONF_PROFILE]), allow_unicode=True, sort_keys=False
            ),
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="polling",
            data_schema=self.add_suggested_values_to_schema(_POLLING_SCHEMA, current),
            errors=errors,
            description_placeholders={"expected": "", "found": "", **placeholders},
        )

    async def _async_apply_polling(
        self, user_input: dict[str, Any], errors: dict[str, str], placeholders: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Save the polling page if its profile is valid and of this park; else fill the form's errors."""
        entry = self.config_entry
        try:
            data, profile = await self._async_load_profile(
                {CONF_PROFILE_YAML: user_input.get(CONF_PROFILE_YAML)},
                entry.data[CONF_HOST],
                entry.data[CONF_PORT],
            )
        except InvalidProfile as err:
            await self._async_profile_errors(err, errors, placeholders)
            return None
        if profile.id != entry.unique_id:
            errors["base"] = "park_mismatch"
            placeholders.update(expected=str(entry.unique_id), found=profile.id)
            return None
        options = {
            **entry.options,
            **{k: v for k, v in user_input.items() if k != CONF_PROFILE_YAML},
        }
        options[CONF_MAX_GAP] = int(options[CONF_MAX_GAP])
        options[CONF_AUDIT_SIZE] = int(options[CONF_AUDIT_SIZE])
        # Profile (data) and options change in one update, then one reload applies both.
        self.hass.config_entries.async_update_entry(
            entry, title=profile.name, data={**entry.data, CONF_PROFILE: data}, options=options
        )
        return self._save_and_reload(options)
