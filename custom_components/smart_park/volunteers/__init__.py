"""Volunteers: the emergency team's roster, roll-calls from incidents to phones and back, escalation, notices.

- :mod:`.model`: volunteers, roles, shifts, roll-calls and their stored form (no HA);
- :mod:`.roster`: :class:`Roster`, the team of one park, its phones and reachability (Store, repairs);
- :mod:`.push`: the one adapter to HA's ``mobile_app`` (local push with confirmations, relay);
- :mod:`.messages`: notification texts (en, zh-Hans) and the companion app's fields;
- :mod:`.rollcall`: :class:`RollCalls`, dispatch, answers and persisted deadlines;
- :mod:`.escalation`: the escalation's steps and notices to volunteers by role and place;
- :mod:`.options` and :mod:`.options_flow`: the roll-call's options and the volunteer pages;
- :mod:`.actions`, :mod:`.websocket`, :mod:`.entities`: actions, websocket commands and entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..audit import AuditLog, Category
from .actions import async_register_services
from .escalation import Escalation
from .model import (
    EVENT_DISPATCHED,
    EVENT_ENDED,
    EVENT_ESCALATED,
    EVENT_RESPONDED,
    Delivery,
    Response,
    Role,
    RollCall,
    Volunteer,
    month_median,
)
from .options import RollCallOptions
from .rollcall import RollCalls
from .roster import Roster

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from ..broadcast import BroadcastManager
    from ..data import ParkPolls, SmartParkConfigEntry
    from ..incidents import IncidentManager
    from ..repairs import RepairIssues

__all__ = [
    "EVENT_DISPATCHED",
    "EVENT_ENDED",
    "EVENT_ESCALATED",
    "EVENT_RESPONDED",
    "Delivery",
    "Response",
    "Role",
    "RollCall",
    "RollCalls",
    "Roster",
    "Volunteer",
    "VolunteerTeam",
    "async_register_services",
    "async_setup_volunteers",
    "diagnostics",
    "month_median",
]


DIAGNOSTICS_ROLLCALLS: Final = 20


@dataclass(frozen=True, slots=True)
class VolunteerTeam:
    """The volunteers capability of one park."""

    roster: Roster
    rollcalls: RollCalls
    escalation: Escalation


def diagnostics(team: VolunteerTeam) -> dict[str, Any]:
    """Roster and roll-calls for a bug report: roles, places, reachability, figures; no names or phones."""
    roster = team.roster
    on_duty = {v.user_id for v in roster.on_duty()}
    return {
        "options": {
            "kinds": sorted(team.rollcalls.options.kinds),
            "quorum": team.rollcalls.options.quorum,
            "repeat_after": team.rollcalls.options.repeat_after.total_seconds(),
            "escalate_after": team.rollcalls.options.escalate_after.total_seconds(),
        },
        "volunteers": [
            {
                "role": v.role.value,
                "building": v.building,
                "shifts": len(v.shifts),
                "on_duty": v.user_id in on_duty,
                "phones": [{"local_push": p.local, "relay_push": p.relay} for p in roster.phones(v.user_id)],
                "last_delivery": roster.last_delivery[v.user_id][0].value
                if v.user_id in roster.last_delivery
                else None,
            }
            for v in roster.volunteers()
        ],
        "rollcalls": [
            {"incident_id": r.incident_id, "active": r.active, **r.summary()}
            for r in team.rollcalls.rollcalls()[-DIAGNOSTICS_ROLLCALLS:]
        ],
    }


async def async_setup_volunteers(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    polls: ParkPolls,
    *,
    incidents: IncidentManager,
    broadcast: BroadcastManager,
    audit: AuditLog,
    repairs: RepairIssues,
) -> VolunteerTeam:
    """Load the roster and the roll-calls, follow incidents and answers, re-arm the stored deadlines."""
    scoped = audit.scoped(Category.VOLUNTEER)
    options = RollCallOptions.from_options(entry.options)
    roster = Roster(
        hass, entry.entry_id, polls.profile, scoped, repairs, relay_reachable=options.relay_reachable
    )
    await roster.async_load()
    entry.async_on_unload(roster.async_flush)
    rollcalls = RollCalls(hass, entry.entry_id, roster, incidents, scoped, options)
    await rollcalls.async_load()
    entry.async_on_unload(rollcalls.async_flush)
    escalation = Escalation(rollcalls, broadcast, scoped)
    team = VolunteerTeam(roster=roster, rollcalls=rollcalls, escalation=escalation)
    rollcalls.team = team
    entry.async_on_unload(roster.async_start())
    entry.async_on_unload(rollcalls.async_start())
    return team
