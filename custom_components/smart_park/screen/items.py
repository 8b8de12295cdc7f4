"""What the screen sends of the capabilities: incidents with names and roll-calls, enterprise rows, linkage.

Read from the park's runtime data each time an item changes; the caller (:mod:`.park`) keeps the last item
sent and sends what differs. Nothing personal goes out: no phone, no USCC, no enterprise contact; the names
shown are those of HA users (who acknowledged, who answers a roll-call), which HA users see in HA anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..enterprises import MeterKind, month_of
from ..linkage import GroupRuntime, LinkageState
from .model import EnterprisePlace, State
from .state import GroupMark, IncidentMark

if TYPE_CHECKING:
    from ..data import SmartParkData
    from ..incidents import Incident

KIND_STATES = {"fire": State.FIRE, "one_key": State.ONE_KEY, "gas": State.GAS}


async def async_user_name(hass: HomeAssistant, user_id: str | None) -> str | None:
    """The name of the HA person with this user, else of the user; None when unknown."""
    if not user_id:
        return None
    for state in hass.states.async_all("person"):
        if state.attributes.get("user_id") == user_id:
            return state.name
    user = await hass.auth.async_get_user(user_id)
    return user.name if user is not None else None


def incident_mark(runtime: SmartParkData, incident: Incident) -> IncidentMark | None:
    """How an incident colours the map while it is open (None once closed)."""
    if not incident.is_open:
        return None
    source = incident.source.partition(":")[0]
    return IncidentMark(
        id=incident.id,
        state=KIND_STATES[incident.kind.value],
        place=(incident.building, incident.floor) if incident.building else None,
        enterprise=incident.enterprise,
        device=source if source in runtime.profile.devices else None,
    )


async def async_incident_item(
    hass: HomeAssistant, entry_id: str, runtime: SmartParkData, incident: Incident
) -> dict[str, Any]:
    """An incident as ``describe()`` has it, with names, its place and its roll-call's answers."""
    item = runtime.incidents.describe(incident)
    record = runtime.enterprises.records.get(incident.enterprise) if incident.enterprise else None
    rollcall = runtime.volunteers.rollcalls.get(incident.id)
    item.update(
        config_entry_id=entry_id,
        acknowledged_by_name=await async_user_name(hass, incident.acknowledged_by),
        closed_by_name=await async_user_name(hass, incident.closed_by),
        place={
            "building": incident.building,
            "building_name": item["building_name"],
            "floor": incident.floor,
            "enterprise": incident.enterprise,
            "enterprise_name": record.name if record is not None else item["enterprise_name"],
        },
        rollcall=rollcall.summary() if rollcall is not None else None,
        responders=[
            {
                # The user id (opaque) lets the duty room record an arrival reported by radio.
                "user_id": r.user_id,
                "name": r.name,
                "response": r.response.value if r.response is not None else None,
                "arrived": r.arrived_at is not None,
            }
            for r in rollcall.recipients.values()
            if r.response is not None or r.arrived_at is not None
        ]
        if rollcall is not None
        else [],
    )
    return item


def enterprise_places(runtime: SmartParkData) -> list[EnterprisePlace]:
    """Where the registry puts each enterprise."""
    return [
        EnterprisePlace(record.id, record.name, record.building, record.floor, record.unit)
        for record in runtime.enterprises.records.values()
    ]


def enterprise_row(runtime: SmartParkData, enterprise_id: str) -> dict[str, Any]:
    """An enterprise's row of the table, without its state: this month's use, latest figures, intensity."""
    registry = runtime.enterprises
    record = registry.records[enterprise_id]
    month = month_of(dt_util.utcnow())
    figures = registry.latest_figures(enterprise_id)
    intensity, intensity_month = registry.intensity(enterprise_id)
    return {
        "id": record.id,
        "name": record.name,
        "building": record.building,
        "floor": record.floor,
        "unit": record.unit,
        "status": record.status.value,
        "month": month,
        "electricity_kwh": registry.consumption(enterprise_id, MeterKind.ELECTRICITY, month),
        "water_m3": registry.consumption(enterprise_id, MeterKind.WATER, month),
        "figures_month": figures.period if figures is not None else None,
        "output_value": figures.output_value if figures is not None else None,
        "tax": figures.tax if figures is not None else None,
        "energy_intensity": intensity,
        "intensity_month": intensity_month,
    }


def _testing(group: GroupRuntime) -> bool:
    until = group.machine.testing_until
    return until is not None and dt_util.utcnow() < until and not group.machine.latched


def linkage_item(group: GroupRuntime) -> dict[str, Any]:
    """A linkage group's state as the screen lists it (``test`` while a bell test runs)."""
    state = group.machine.state
    shown = "test" if _testing(group) and state is LinkageState.NORMAL else state.value
    return {"group": group.id, "building": group.building, "name": group.name, "state": shown}


def group_marks(runtime: SmartParkData, group: GroupRuntime) -> dict[str, GroupMark]:
    """A group's colour on each building it covers (a park-wide group covers several), by building."""
    machine = group.machine
    state = {LinkageState.ALARM: State.FIRE, LinkageState.SILENCED: State.SILENCED}.get(machine.state)
    devices = runtime.profile.devices
    marks: dict[str, GroupMark] = {}
    if state is not None:
        floors: dict[str, set[int]] = {}
        for input_id in machine.seen:
            ref = group.inputs.get(input_id)
            if ref is None:
                continue
            building = group.building or devices[ref.device_id].building
            if building is not None:
                floors.setdefault(building, set()).update([ref.floor] if ref.floor is not None else [])
        if not floors and group.building is not None:
            floors[group.building] = set()
        return {b: GroupMark(b, state, frozenset(f)) for b, f in floors.items()}
    places: list[str | None] = (
        [group.building] if group.building else [c.device.building for c in group.controllers]
    )
    buildings = {b for b in places if b is not None}
    if machine.state is LinkageState.FAULT:
        marks = {b: GroupMark(b, State.FAULT) for b in buildings}
    elif _testing(group):
        marks = {b: GroupMark(b, State.TEST, every_floor=True) for b in buildings}
    return marks
