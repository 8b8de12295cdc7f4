"""Config flow: connection test, zeroconf discovery, park profile, options and reconfigure.

The options flow's enterprise pages live in :mod:`.enterprises.options_flow`; its other pages are here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import probatio as vol
import yaml
from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.helpers.translation import async_get_translations

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
    CONF_PROFILE_PATH,
    CONF_PROFILE_YAML,
    DEFAULT_AUDIT_SIZE,
    DEFAULT_BROADCAST_BELL_SECONDS,
    DEFAULT_BROADCAST_EVACUATION_SLOT,
    DEFAULT_BROADCAST_MESSAGE_REPEATS,
    DEFAULT_GATEWAY_ID,
    DEFAULT_INTERVAL,
    DEFAULT_LINKAGE_CONFIRMATION,
    DEFAULT_LINKAGE_SCOPE,
    DEFAULT_LINKAGE_TEST_DURATION,
    DEFAULT_MAX_GAP,
    DEFAULT_OFFLINE_RETRY,
    DEFAULT_OFFLINE_THRESHOLD,
    DEFAULT_PORT,
    DOMAIN,
    MAX_MAX_GAP,
    MIN_INTERVAL,
    TXT_GATEWAY,
    TXT_PARK_ID,
    TXT_PARK_NAME,
    TXT_PROFILE_URL,
)
from .coordinator import SmartParkConfigEntry
from .engine.catalogue import Tier
from .engine.modbus import GatewayOfflineError, async_test_connection
from .engine.profile import (
    ENGLISH,
    MAX_PROFILE_BYTES,
    ParkProfile,
    ProfileError,
    ProfileIssue,
    load_yaml,
    parse_profile,
)
from .enterprises.options_flow import EnterpriseOptionsFlow
from .linkage import hash_pin

CONF_NEW_PIN = "new_pin"
CONF_CLEAR_PIN = "clear_pin"
PIN_PATTERN = re.compile(r"\d{4,12}")
# Issues listed in the form; the rest are counted.
MAX_LISTED_ISSUES = 20
FETCH_TIMEOUT = 10


def _connection_schema(host: str | None = None, port: int = DEFAULT_PORT) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=host or vol.UNDEFINED): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            vol.Required(CONF_PORT, default=port): cv.port,
        }
    )


def _profile_schema(yaml_text: str = "", path: str = "") -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(CONF_PROFILE_YAML, description={"suggested_value": yaml_text}): TextSelector(
                TextSelectorConfig(multiline=True)
            ),
            vol.Optional(CONF_PROFILE_PATH, description={"suggested_value": path}): TextSelector(),
        }
    )


def _discovery_updates(
    data: Mapping[str, Any], gateway_id: str, host: str, port: int
) -> dict[str, Any] | None:
    """Entry data changes for a park gateway seen at a (new) address, or None when it is not one we use.

    Each gateway of a park advertises itself: only the advertised gateway's own address may change, either the
    entry's default gateway (profiles without gateways) or that gateway in the profile.
    """
    profile = dict(data.get(CONF_PROFILE) or {})
    gateways = profile.get("gateways") or []
    if not gateways:
        return {CONF_HOST: host, CONF_PORT: port} if gateway_id == DEFAULT_GATEWAY_ID else None
    if not any(isinstance(gw, Mapping) and gw.get("id") == gateway_id for gw in gateways):
        return None
    updated = [
        {**gw, "host": host, "port": port} if isinstance(gw, Mapping) and gw.get("id") == gateway_id else gw
        for gw in gateways
    ]
    return {CONF_PROFILE: {**profile, "gateways": updated}}


class InvalidProfile(Exception):
    """The profile could not be used; ``error`` is the form error key, ``issues`` its details."""

    def __init__(self, error: str, issues: list[ProfileIssue] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.issues = issues or []


def _read_profile_file(config_dir: str, path: str) -> Any:
    """Read a profile file; only files inside the HA config directory may be read."""
    root = Path(config_dir).resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root):
        raise InvalidProfile("path_outside_config")
    try:
        with file.open("rb") as handle:
            # One byte over the cap is enough for load_yaml to refuse the file as too large.
            raw = handle.read(MAX_PROFILE_BYTES + 1)
        text = raw.decode("utf-8", errors="replace" if len(raw) > MAX_PROFILE_BYTES else "strict")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidProfile("path_not_readable") from err
    return load_yaml(text)


def _parse(data: Any, host: str, port: int) -> ParkProfile:
    """Validate a profile document with the tested connection as its default gateway."""
    try:
        return parse_profile(data, default_gateway={"host": host, "port": port})
    except ProfileError as err:
        raise InvalidProfile("invalid_profile", err.issues) from err


async def async_render_issues(hass: HomeAssistant, issues: list[ProfileIssue]) -> str:
    """Profile issues as a Markdown list in the configured language, each with its path."""
    translations = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
    lines = []
    for issue in issues[:MAX_LISTED_ISSUES]:
        key = f"component.{DOMAIN}.exceptions.profile_{issue.code}.message"
        # Missing keys fall back to English in HA; ENGLISH covers a broken translation cache.
        message = translations.get(key, ENGLISH[issue.code]).format(**issue.placeholders)
        lines.append(f"- `{issue.path}`: {message}")
    if len(issues) > MAX_LISTED_ISSUES:
        lines.append(f"- … (+{len(issues) - MAX_LISTED_ISSUES})")
    return "\n".join(lines)


class ProfileFormMixin:
    """Reads, validates and reports a profile the same way in the config and the options flow."""

    hass: HomeAssistant

    async def _async_load_profile(
        self, user_input: dict[str, Any], host: str, port: int
    ) -> tuple[dict[str, Any], ParkProfile]:
        """Profile document and parsed park from the form (YAML text or a file in the config dir)."""
        text = (user_input.get(CONF_PROFILE_YAML) or "").strip()
        path = (user_input.get(CONF_PROFILE_PATH) or "").strip()
        if bool(text) == bool(path):
            raise InvalidProfile("profile_source")
        try:
            if path:
                data = await self.hass.async_add_executor_job(
                    _read_profile_file, self.hass.config.config_dir, path
                )
            else:
                # Parsing a large paste takes seconds of CPU: never on the event loop.
                data = await self.hass.async_add_executor_job(load_yaml, text)
        except ProfileError as err:
            raise InvalidProfile("invalid_profile", err.issues) from err
        profile = await self.hass.async_add_executor_job(_parse, data, host, port)
        # Only a mapping parses; keep the document as the user gave it.
        return dict(data), profile

    async def _async_profile_errors(
        self, err: InvalidProfile, errors: dict[str, str], placeholders: dict[str, str]
    ) -> None:
        errors["base"] = err.error
        placeholders["issues"] = await async_render_issues(self.hass, err.issues)


class SmartParkConfigFlow(ProfileFormMixin, ConfigFlow, domain=DOMAIN):
    """Set up a park: gateway connection, then the park profile."""

    VERSION = 1

    def __init__(self) -> None:
        """Initialise the flow."""
        self._host = ""
        self._port = DEFAULT_PORT
        self._profile_url: str | None = None
        self._park_name = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: SmartParkConfigEntry) -> SmartParkOptionsFlow:
        """Options: poll intervals, read planning, repair threshold and the profile."""
        return SmartParkOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the gateway and test the connection."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await async_test_connection(user_input[CONF_HOST], user_input[CONF_PORT])
            except GatewayOfflineError:
                errors["base"] = "cannot_connect"
            else:
                self._host, self._port = user_input[CONF_HOST], user_input[CONF_PORT]
                return await self.async_step_profile()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_connection_schema(), user_input or {}),
            errors=errors,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A park gateway advertised itself."""
        park_id = discovery_info.properties.get(TXT_PARK_ID)
        if not park_id:
            return self.async_abort(reason="no_park_id")
        await self.async_set_unique_id(park_id)
        self._host, self._port = discovery_info.host, discovery_info.port or DEFAULT_PORT
        if entry := self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, park_id):
            gateway_id = discovery_info.properties.get(TXT_GATEWAY) or DEFAULT_GATEWAY_ID
            self._abort_if_unique_id_configured(
                updates=_discovery_updates(entry.data, gateway_id, self._host, self._port)
            )
        self._park_name = discovery_info.properties.get(TXT_PARK_NAME) or park_id
        self._profile_url = discovery_info.properties.get(TXT_PROFILE_URL) or None
        self.context["title_placeholders"] = {"name": self._park_name}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the discovered park, test the gateway, then choose where the profile comes from."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await async_test_connection(self._host, self._port)
            except GatewayOfflineError:
                errors["base"] = "cannot_connect"
            else:
                if self._profile_url:
                    return await self.async_step_profile_source()
                return await self.async_step_profile()
        return self.async_show_form(
            step_id="zeroconf_confirm",
            description_placeholders={"name": self._park_name, "host": self._host, "port": str(self._port)},
            errors=errors,
        )

    async def async_step_profile_source(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The gateway offers the profile: download it or enter it."""
        return self.async_show_menu(step_id="profile_source", menu_options=["profile_fetch", "profile"])

    async def async_step_profile_fetch(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Fetch the profile the gateway advertises."""
        assert self._profile_url is not None
        try:
            text = await self._async_fetch(self._profile_url)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return self._show_profile_form({"base": "fetch_failed"}, {"url": self._profile_url})
        return await self.async_step_profile({CONF_PROFILE_YAML: text})

    async def _async_fetch(self, url: str) -> str:
        session = async_get_clientsession(self.hass)
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)) as response:
            response.raise_for_status()
            body = await response.content.read(MAX_PROFILE_BYTES + 1)
        if len(body) > MAX_PROFILE_BYTES:
            raise ValueError("profile too large")
        return body.decode("utf-8")

    async def async_step_profile(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Read and validate the park profile; nothing is stored unless all of it is valid."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            try:
                data, profile = await self._async_load_profile(user_input, self._host, self._port)
            except InvalidProfile as err:
                await self._async_profile_errors(err, errors, placeholders)
            else:
                if self.unique_id is not None and profile.id != self.unique_id:
                    # Discovery set the id: the profile must describe the park that advertised itself.
                    errors["base"] = "park_mismatch"
                    placeholders.update(expected=self.unique_id, found=profile.id)
                else:
                    await self.async_set_unique_id(profile.id, raise_on_progress=False)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=profile.name,
                        data={CONF_HOST: self._host, CONF_PORT: self._port, CONF_PROFILE: data},
                    )
        return self._show_profile_form(errors, placeholders, user_input)

    def _show_profile_form(
        self, errors: dict[str, str], placeholders: dict[str, str], user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        user_input = user_input or {}
        return self.async_show_form(
            step_id="profile",
            data_schema=_profile_schema(
                user_input.get(CONF_PROFILE_YAML, ""), user_input.get(CONF_PROFILE_PATH, "")
            ),
            errors=errors,
            description_placeholders={"issues": "", "url": "", "expected": "", "found": "", **placeholders},
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the default gateway's host and port (connection tested)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await async_test_connection(user_input[CONF_HOST], user_input[CONF_PORT])
            except GatewayOfflineError:
                errors["base"] = "cannot_connect"
            else:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_HOST: user_input[CONF_HOST], CONF_PORT: user_input[CONF_PORT]}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _connection_schema(),
                user_input or {CONF_HOST: entry.data[CONF_HOST], CONF_PORT: entry.data[CONF_PORT]},
            ),
            errors=errors,
        )


def _seconds(minimum: float, maximum: float, step: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement="s"
        )
    )


def _select(options: list[str], key: str, *, multiple: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options, translation_key=key, multiple=multiple, mode=SelectSelectorMode.LIST
        )
    )


# The linkage page's fields (its PIN fields are write-only: never filled from the options).
_LINKAGE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_LINKAGE_SCOPE): _select(["building", "park"], CONF_LINKAGE_SCOPE),
        vol.Required(CONF_LINKAGE_CONFIRMATION): _select(["single", "two_signal"], CONF_LINKAGE_CONFIRMATION),
        vol.Optional(CONF_LINKAGE_TRIGGERS): _select(["smoke", "gas"], CONF_LINKAGE_TRIGGERS, multiple=True),
        vol.Required(CONF_LINKAGE_TEST_DURATION): _seconds(1, 600, 1),
        vol.Optional(CONF_NEW_PIN): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
        vol.Optional(CONF_CLEAR_PIN, default=False): BooleanSelector(),
    }
)
# The polling page's fields; built once, as it depends on nothing but the constants.
_POLLING_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_INTERVAL[Tier.SAFETY]): _seconds(MIN_INTERVAL, 3600, 0.05),
        vol.Required(CONF_INTERVAL[Tier.FAST]): _seconds(MIN_INTERVAL, 3600, 0.05),
        vol.Required(CONF_INTERVAL[Tier.NORMAL]): _seconds(MIN_INTERVAL, 86400, 0.05),
        vol.Required(CONF_INTERVAL[Tier.SLOW]): _seconds(MIN_INTERVAL, 86400, 0.05),
        vol.Required(CONF_MAX_GAP): NumberSelector(
            NumberSelectorConfig(min=0, max=MAX_MAX_GAP, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Required(CONF_OFFLINE_THRESHOLD): _seconds(0, 86400, 1),
        vol.Required(CONF_OFFLINE_RETRY): _seconds(1, 3600, 1),
        vol.Required(CONF_AUDIT_SIZE): NumberSelector(
            NumberSelectorConfig(min=100, max=1_000_000, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Required(CONF_PROFILE_YAML): TextSelector(TextSelectorConfig(multiline=True)),
    }
)


class SmartParkOptionsFlow(ProfileFormMixin, EnterpriseOptionsFlow):
    """A menu of option pages: polling and the park profile, the fire-bell linkage, ...

    Each page applies its own options and keeps the others'; an invalid page changes nothing.
    """

    MENU: tuple[str, ...] = ("polling", "linkage", "enterprises", "broadcast")

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
                vol.Required(CONF_BROADCAST_BELL_SECONDS): _seconds(8, 20, 1),
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
