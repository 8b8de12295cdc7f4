"""The park as the screen's snapshot has it, and its key figures, from what :class:`.park.ParkScreen` keeps.

Reads only the screen's own caches and the capabilities' cheap queries: building a snapshot of the
200-enterprise reference park does not poll, recompute states or look up names.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from homeassistant.util import dt as dt_util

from .model import State
from .values import air_figures, tank_figures

if TYPE_CHECKING:
    from .park import ParkScreen


def _buildings(screen: ParkScreen, only: Collection[str] | None) -> list[dict[str, Any]]:
    layout, state = screen.layout, screen.state
    floor_devices: dict[tuple[str, int | None], list[str]] = {}
    for plan in layout.devices.values():
        if plan.place is not None and (only is None or plan.building in only):
            floor_devices.setdefault(plan.place, []).append(plan.id)
    out = []
    for building_id, (name, floors, basements) in layout.buildings.items():
        if only is not None and building_id not in only:
            continue
        out.append(
            {
                "id": building_id,
                "name": name,
                "floors": floors,
                "basements": basements,
                "floor_places": [
                    {
                        "floor": floor,
                        "state": state.place_states.get((building_id, floor), State.NORMAL).value,
                        "enterprises": sorted(layout.place_enterprises.get((building_id, floor), ())),
                        "devices": floor_devices.get((building_id, floor), []),
                    }
                    for floor in layout.floors(building_id)
                ],
                "state": state.building_states.get(building_id, State.NORMAL).value,
            }
        )
    return out


def build_park(screen: ParkScreen, *, only_buildings: Collection[str] | None = None) -> dict[str, Any]:
    """The park: map, enterprises, devices, special places, incidents, figures, linkage."""
    layout, state = screen.layout, screen.state
    if only_buildings is not None:
        return {"buildings": _buildings(screen, only_buildings)}
    devices = {}
    for plan in layout.devices.values():
        view = state.device_views.get(plan.id, {"state": State.NORMAL.value, "available": True})
        devices[plan.id] = {
            "id": plan.id,
            "name": plan.name,
            "type": plan.type,
            "building": plan.building,
            "floor": plan.floor,
            "enterprise": plan.enterprise,
            **view,
        }
    incidents = sorted(screen.incident_items.values(), key=lambda item: str(item["opened_at"]))
    return {
        "config_entry_id": screen.entry.entry_id,
        "park_id": layout.park_id,
        "name": layout.name,
        "buildings": _buildings(screen, None),
        "enterprises": screen.enterprise_rows,
        "devices": devices,
        "special_places": screen.special,
        "incidents": incidents,
        "figures": screen.figures,
        "linkage": screen.linkage,
    }


def special_places(screen: ParkScreen) -> list[dict[str, Any]]:
    """Tanks, air stations (their device's state) and the duty room (its floor's)."""
    state = screen.state
    special = []
    for place in screen.layout.special:
        if place.device is not None:
            shown = state.device_states.get(place.device, State.NORMAL)
        elif place.building is not None:
            shown = state.place_states.get((place.building, place.floor), State.NORMAL)
        else:
            shown = State.NORMAL
        special.append(
            {
                "id": place.id,
                "kind": place.kind,
                "device": place.device,
                "name": place.name,
                "building": place.building,
                "floor": place.floor,
                "state": shown.value,
            }
        )
    return special


def build_figures(screen: ParkScreen) -> dict[str, Any]:
    """Alarms today, open incidents, devices offline, tanks, air, volunteers on duty, the sync link."""
    runtime = screen.runtime
    now = dt_util.utcnow()
    # Compared as instants: no time-zone conversion per kept incident (up to a thousand, every delta).
    today = dt_util.start_of_local_day()
    incidents = runtime.incidents.incidents()
    roster = runtime.volunteers.roster
    return {
        "alarms_today": sum(1 for i in incidents if i.opened_at >= today),
        "open_incidents": sum(1 for i in incidents if i.is_open),
        "devices_offline": len(screen.state.offline),
        "devices_total": len(screen.layout.devices),
        "tanks": tank_figures(screen.layout, screen.state),
        "air": air_figures(screen.layout, screen.state),
        "volunteers_on_duty": len(roster.on_duty()),
        "volunteers_total": len(roster.volunteers()),
        "sync": screen.sync.state(screen.park_id, now),
    }
