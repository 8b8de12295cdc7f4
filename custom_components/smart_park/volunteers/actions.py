"""The volunteers' actions: the roster (admin only), dispatch, answers recorded by the duty room, notices.

``set_volunteer`` and ``remove_volunteer`` write personal data (a phone), so a user calling them must be an
HA administrator (automations, which only administrators write, may). ``dispatch_volunteers``,
``record_response`` and ``notify_volunteers`` are the duty room's and the blueprints', audited with
the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv

from ..const import DOMAIN
from ..entry import ATTR_CONFIG_ENTRY_ID, ENTRY_FIELD, call_entry, loaded_entries
from ..errors import invalid
from .model import LANGUAGES, WEEKDAYS, Response, Role, Shift, Volunteer
from .rollcall import RollCalls

SERVICE_SET: Final = "set_volunteer"
SERVICE_REMOVE: Final = "remove_volunteer"
SERVICE_DISPATCH: Final = "dispatch_volunteers"
SERVICE_RECORD: Final = "record_response"
SERVICE_NOTIFY: Final = "notify_volunteers"

_SHIFT = vol.Schema(
    {
        vol.Optional("days", default=list(WEEKDAYS)): vol.All(cv.ensure_list, [vol.In(WEEKDAYS)]),
        vol.Required("start"): cv.time,
        vol.Required("end"): cv.time,
    }
)
# Every field but the user is optional and leaves the volunteer's current value when left out ("" or an
# empty list clears it), so changing a role does not lose a phone number.
_CLEARABLE = vol.Any(None, cv.string)
SET_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        vol.Required("user_id"): cv.string,
        vol.Optional("name"): cv.string,
        vol.Optional("role"): vol.In([r.value for r in Role]),
        vol.Optional("building"): _CLEARABLE,
        vol.Optional("enterprise"): _CLEARABLE,
        vol.Optional("phone"): _CLEARABLE,
        vol.Optional("language"): vol.Any(None, "", vol.In(LANGUAGES)),
        vol.Optional("devices"): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("shifts"): vol.All(cv.ensure_list, [_SHIFT]),
    }
)
REMOVE_SCHEMA: Final = vol.Schema({**ENTRY_FIELD, vol.Required("user_id"): cv.string})
DISPATCH_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        vol.Required("incident_id"): cv.string,
        vol.Optional("everyone", default=False): cv.boolean,
    }
)
RECORD_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        vol.Required("incident_id"): cv.string,
        vol.Required("user_id"): cv.string,
        vol.Required("response"): vol.In([r.value for r in Response]),
    }
)
NOTIFY_SCHEMA: Final = vol.Schema(
    {
        **ENTRY_FIELD,
        vol.Required("title"): cv.string,
        vol.Required("message"): cv.string,
        vol.Optional("users", default=list): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("roles", default=list): vol.All(cv.ensure_list, [vol.In([r.value for r in Role])]),
        vol.Optional("buildings", default=list): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("enterprises", default=list): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("on_duty_only", default=True): cv.boolean,
        vol.Optional("critical", default=False): cv.boolean,
        vol.Optional("tag"): cv.string,
    }
)


async def _async_require_admin(call: ServiceCall) -> None:
    """A user calling must be an administrator (personal data); automations carry no user and may."""
    if call.context.user_id is None:
        return
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None or not user.is_admin:
        raise invalid("volunteer_admin_required")


def _merged(
    user_id: str, default_name: str, data: Mapping[str, Any], existing: Volunteer | None
) -> Volunteer:
    """The volunteer after the call: given fields replace, absent ones keep their value, "" clears."""
    base = existing or Volunteer(user_id=user_id, name=default_name)

    def text(key: str, current: str | None) -> str | None:
        return (data[key] or None) if key in data else current

    shifts = base.shifts
    if "shifts" in data:
        shifts = tuple(Shift(days=tuple(s["days"]), start=s["start"], end=s["end"]) for s in data["shifts"])
    return replace(
        base,
        name=data.get("name") or base.name,
        role=Role(data["role"]) if "role" in data else base.role,
        building=text("building", base.building),
        enterprise=text("enterprise", base.enterprise),
        phone=text("phone", base.phone),
        language=text("language", base.language),
        devices=tuple(data["devices"]) if "devices" in data else base.devices,
        shifts=shifts,
    )


async def _async_set(call: ServiceCall) -> ServiceResponse:
    await _async_require_admin(call)
    runtime = call_entry(call).runtime_data
    user = await call.hass.auth.async_get_user(call.data["user_id"])
    if user is None:
        raise invalid("volunteer_unknown_user", field="user_id", value=call.data["user_id"])
    roster = runtime.volunteers.roster
    volunteer = _merged(user.id, user.name or user.id, call.data, roster.get(user.id))
    roster.set(volunteer, call.context)
    return {"user_id": volunteer.user_id, "name": volunteer.name}


async def _async_remove(call: ServiceCall) -> None:
    await _async_require_admin(call)
    call_entry(call).runtime_data.volunteers.roster.remove(call.data["user_id"], call.context)


def _rollcalls(call: ServiceCall) -> RollCalls:
    """The park of the incident: named by config_entry_id, found by incident id, or the only park."""
    incident_id = call.data["incident_id"]
    if ATTR_CONFIG_ENTRY_ID not in call.data:
        loaded = loaded_entries(call.hass)
        for entry in loaded:
            if entry.runtime_data.incidents.get(incident_id) is not None:
                return entry.runtime_data.volunteers.rollcalls
        if len(loaded) > 1:
            raise invalid("incident_not_found", incident_id=incident_id)
    return call_entry(call).runtime_data.volunteers.rollcalls


async def _async_dispatch(call: ServiceCall) -> ServiceResponse:
    rollcalls = _rollcalls(call)
    rollcall = await rollcalls.async_dispatch(
        call.data["incident_id"], context=call.context, everyone=call.data["everyone"]
    )
    return rollcall.public_dict()


async def _async_record(call: ServiceCall) -> ServiceResponse:
    rollcalls = _rollcalls(call)
    rollcall = await rollcalls.async_respond(
        call.data["incident_id"],
        call.data["user_id"],
        Response(call.data["response"]),
        via="radio",
        context=call.context,
    )
    return rollcall.public_dict()


async def _async_notify(call: ServiceCall) -> ServiceResponse:
    data: dict[str, Any] = call.data
    volunteers = call_entry(call).runtime_data.volunteers
    for building in data["buildings"]:
        if building not in volunteers.roster.profile.buildings:
            raise invalid("volunteer_unknown_building", field="buildings", value=building)
    for enterprise in data["enterprises"]:
        if enterprise not in volunteers.roster.profile.enterprises:
            raise invalid("volunteer_unknown_enterprise", field="enterprises", value=enterprise)
    result = await volunteers.escalation.async_notify(
        title=data["title"],
        message=data["message"],
        users=data["users"],
        roles=data["roles"],
        buildings=data["buildings"],
        enterprises=data["enterprises"],
        on_duty_only=data["on_duty_only"],
        critical=data["critical"],
        tag=data.get("tag"),
        context=call.context,
    )
    return {"sent": list(result["sent"]), "unreachable": list(result["unreachable"])}


def async_register_services(hass: HomeAssistant) -> None:
    """Register the volunteers' actions."""
    optional = SupportsResponse.OPTIONAL
    hass.services.async_register(
        DOMAIN, SERVICE_SET, _async_set, schema=SET_SCHEMA, supports_response=optional
    )
    hass.services.async_register(DOMAIN, SERVICE_REMOVE, _async_remove, schema=REMOVE_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_DISPATCH, _async_dispatch, schema=DISPATCH_SCHEMA, supports_response=optional
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RECORD, _async_record, schema=RECORD_SCHEMA, supports_response=optional
    )
    hass.services.async_register(
        DOMAIN, SERVICE_NOTIFY, _async_notify, schema=NOTIFY_SCHEMA, supports_response=optional
    )
