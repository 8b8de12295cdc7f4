"""The action answering the fire monitoring centre's roll-call: ``smart_park.answer_centre_rollcall``.

Any user may answer (the duty room's operators need not be administrators); the answer is audited with the
caller, and park_sync sends it to the centre.
"""

from __future__ import annotations

from typing import Final

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse

from ..const import DOMAIN
from ..entry import ENTRY_FIELD, call_entry
from .desk import desk

SERVICE_ANSWER: Final = "answer_centre_rollcall"
ANSWER_SCHEMA: Final = vol.Schema({**ENTRY_FIELD})


async def _async_answer(call: ServiceCall) -> ServiceResponse:
    return desk(call.hass).answer(call_entry(call), call.context)


def async_register_services(hass: HomeAssistant) -> None:
    """Register the centre link's action."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_ANSWER,
        _async_answer,
        schema=ANSWER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
