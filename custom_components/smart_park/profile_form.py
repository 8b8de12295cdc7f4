"""The park profile form both flows share: read the YAML text or file, validate it, and list its issues.

The config flow (:mod:`.config_flow`) and the options flow's polling page (:mod:`.options_flow`) use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import CONF_PROFILE_PATH, CONF_PROFILE_YAML, DOMAIN
from .engine.profile import (
    ENGLISH,
    MAX_PROFILE_BYTES,
    ParkProfile,
    ProfileError,
    ProfileIssue,
    load_yaml,
    parse_profile,
)

# Issues listed in the form; the rest are counted.
MAX_LISTED_ISSUES = 20


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
