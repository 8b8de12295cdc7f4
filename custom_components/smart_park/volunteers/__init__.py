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
from typing import TYPE_CHECKING

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
    "month_median",
]


@dataclass(frozen=True, slots=True)
class VolunteerTeam:
    """The volunteers capability of one park."""

    roster: Roster
    rollcalls: RollCalls
    escalation: Escalation


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
    roster = Roster(hass, entry.entry_id, polls.profile, scoped, repairs)
    await roster.async_load()
    entry.async_on_unload(roster.async_flush)
    rollcalls = RollCalls(
        hass, entry.entry_id, roster, incidents, scoped, RollCallOptions.from_options(entry.options)
    )
    await rollcalls.async_load()
    entry.async_on_unload(rollcalls.async_flush)
    escalation = Escalation(rollcalls, broadcast, scoped)
    team = VolunteerTeam(roster=roster, rollcalls=rollcalls, escalation=escalation)
    rollcalls.team = team
    entry.async_on_unload(roster.async_start())
    entry.async_on_unload(rollcalls.async_start())
    return team
