"""The patrol actions: ``smart_park.start_patrol`` and ``smart_park.end_patrol``.

``start_patrol`` takes the route's name, its checkpoints (HA tag ids, or ``{tag_id, name}``), the window's end
(``ends_at``, or ``duration`` from now) and an optional captain (HA user id); both actions take an optional
``config_entry_id`` and answer with the round (events carry the same form).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..entry import ENTRY_FIELD, call_entry
from ..errors import invalid
from .manager import SERVICE_END, SERVICE_START
from .model import Checkpoint

ATTR_ROUTE: Final = "route"
ATTR_CHECKPOINTS: Final = "checkpoints"
ATTR_ENDS_AT: Final = "ends_at"
ATTR_DURATION: Final = "duration"
ATTR_CAPTAIN: Final = "captain"
# A night's window at most: a longer "round" is a mistake in the automation, not a patrol.
MAX_DURATION: Final = timedelta(hours=24)
MAX_CHECKPOINTS: Final = 200

CHECKPOINT_SCHEMA = vol.Any(
    cv.string,
    vol.Schema({vol.Required("tag_id"): cv.string, vol.Optional("name"): cv.string}),
)
START_SCHEMA = vol.Schema(ENTRY_FIELD).extend(
    {
        vol.Required(ATTR_ROUTE): vol.All(cv.string, vol.Length(min=1, max=100)),
        vol.Required(ATTR_CHECKPOINTS): vol.All(
            cv.ensure_list, vol.Length(min=1, max=MAX_CHECKPOINTS), [CHECKPOINT_SCHEMA]
        ),
        vol.Exclusive(ATTR_ENDS_AT, "window"): cv.datetime,
        vol.Exclusive(ATTR_DURATION, "window"): cv.positive_time_period,
        vol.Optional(ATTR_CAPTAIN): cv.string,
    }
)
END_SCHEMA = vol.Schema(ENTRY_FIELD)


def _checkpoint(value: str | dict[str, str]) -> str | Checkpoint:
    if isinstance(value, str):
        return value
    return Checkpoint(tag_id=value["tag_id"], name=value.get("name") or value["tag_id"])


def _ends_at(data: dict[str, Any]) -> datetime:
    """The window's end, in UTC; naive times are HA's local time."""
    now = dt_util.utcnow()
    if (duration := data.get(ATTR_DURATION)) is not None:
        ends_at: datetime = now + duration
    elif (given := data.get(ATTR_ENDS_AT)) is not None:
        ends_at = dt_util.as_utc(
            given if given.tzinfo else given.replace(tzinfo=dt_util.get_default_time_zone())
        )
    else:
        raise invalid("patrol_window_required")
    if ends_at - now > MAX_DURATION:
        raise invalid("patrol_window_too_long", hours=int(MAX_DURATION.total_seconds() // 3600))
    return ends_at


async def _async_start(call: ServiceCall) -> ServiceResponse:
    manager = call_entry(call).runtime_data.patrols
    patrol = manager.start(
        call.data[ATTR_ROUTE],
        [_checkpoint(value) for value in call.data[ATTR_CHECKPOINTS]],
        _ends_at(dict(call.data)),
        captain=call.data.get(ATTR_CAPTAIN),
        context=call.context,
    )
    return manager.describe(patrol)


async def _async_end(call: ServiceCall) -> ServiceResponse:
    manager = call_entry(call).runtime_data.patrols
    return manager.describe(manager.end(context=call.context))


def async_register_services(hass: HomeAssistant) -> None:
    """Register ``smart_park.start_patrol`` and ``smart_park.end_patrol``."""
    hass.services.async_register(
        DOMAIN, SERVICE_START, _async_start, schema=START_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN, SERVICE_END, _async_end, schema=END_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
