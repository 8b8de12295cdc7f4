"""The linkage's actions: ``silence_alarm``, ``reset_alarm`` and ``test_bells`` (schemas and handlers).

Each acts on one park (``config_entry_id``, optional with one park loaded) and on one group or all of them;
the PIN, when given, authorises a caller who is not an HA admin.
"""

from __future__ import annotations

from typing import Final

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import config_validation as cv

from ..const import DOMAIN
from ..entry import ENTRY_FIELD, call_entry
from .manager import FireLinkage

ATTR_GROUP: Final = "group"
ATTR_PIN: Final = "pin"
ATTR_DURATION: Final = "duration"

GROUP_FIELDS = {**ENTRY_FIELD, vol.Optional(ATTR_GROUP): cv.string, vol.Optional(ATTR_PIN): cv.string}
TEST_SCHEMA = vol.Schema(
    {**GROUP_FIELDS, vol.Optional(ATTR_DURATION): vol.All(vol.Coerce(float), vol.Range(min=1, max=600))}
)


def _linkage(call: ServiceCall) -> FireLinkage:
    return call_entry(call).runtime_data.linkage


async def _async_silence(call: ServiceCall) -> None:
    await _linkage(call).async_silence(call.data.get(ATTR_GROUP), call.context, call.data.get(ATTR_PIN))


async def _async_reset(call: ServiceCall) -> None:
    await _linkage(call).async_reset(call.data.get(ATTR_GROUP), call.context, call.data.get(ATTR_PIN))


async def _async_test(call: ServiceCall) -> None:
    await _linkage(call).async_test(
        call.data.get(ATTR_GROUP), call.data.get(ATTR_DURATION), call.context, call.data.get(ATTR_PIN)
    )


def async_register_services(hass: HomeAssistant) -> None:
    """Register silence_alarm, reset_alarm and test_bells."""
    hass.services.async_register(DOMAIN, "silence_alarm", _async_silence, schema=vol.Schema(GROUP_FIELDS))
    hass.services.async_register(DOMAIN, "reset_alarm", _async_reset, schema=vol.Schema(GROUP_FIELDS))
    hass.services.async_register(DOMAIN, "test_bells", _async_test, schema=TEST_SCHEMA)
