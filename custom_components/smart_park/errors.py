"""Translated errors: the one way the integration tells a user what went wrong.

Every user-facing exception names a key of strings.json's ``exceptions`` and fills its placeholders; the
message is then shown in the user's language (en, zh-Hans). Placeholders never carry personal data.
"""

from __future__ import annotations

from typing import Any

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN


def _placeholders(values: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


def invalid(key: str, **placeholders: Any) -> ServiceValidationError:
    """The user's input (an action call, a websocket command) is refused: nothing changed."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=_placeholders(placeholders)
    )


def failed(key: str, **placeholders: Any) -> HomeAssistantError:
    """The input was fine but the park could not do it (a device did not answer, a write was lost)."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=_placeholders(placeholders)
    )
