"""Config flow: connection test, zeroconf discovery, park profile (text, file or fetched) and reconfigure.

The options flow (menu, polling, linkage and broadcast pages) is in :mod:`.options_flow`, its enterprise pages
in :mod:`.enterprises.options_flow`; the profile form both share is in :mod:`.profile_form`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import probatio as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .const import (
    CONF_PROFILE,
    CONF_PROFILE_PATH,
    CONF_PROFILE_YAML,
    DEFAULT_GATEWAY_ID,
    DEFAULT_PORT,
    DOMAIN,
    TXT_GATEWAY,
    TXT_PARK_ID,
    TXT_PARK_NAME,
    TXT_PROFILE_URL,
)
from .coordinator import SmartParkConfigEntry
from .engine.modbus import GatewayOfflineError, async_test_connection
from .engine.profile import MAX_PROFILE_BYTES
from .options_flow import SmartParkOptionsFlow
from .profile_form import (
    MAX_LISTED_ISSUES,
    InvalidProfile,
    ProfileFormMixin,
    async_render_issues,
)

# The profile form's names stay importable from here (tests use async_render_issues and MAX_LISTED_ISSUES).
__all__ = [
    "MAX_LISTED_ISSUES",
    "InvalidProfile",
    "ProfileFormMixin",
    "SmartParkConfigFlow",
    "SmartParkOptionsFlow",
    "async_render_issues",
]

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
