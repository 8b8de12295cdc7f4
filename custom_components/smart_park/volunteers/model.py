"""What the volunteers capability talks about: the roster, an incident's roll-call, and their stored form.

No Home Assistant here. A volunteer *is* an HA user (the id is the user id), so answers from the companion app
are matched by the event's ``context.user_id``; a roll-call is a plain value saved in the Store after every
step, with the deadlines of its escalation, so a restart re-arms the timers instead of forgetting them (what
automations' ``delay``/``wait_for_trigger`` do, HA core issue 128797).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

from ..const import DOMAIN

EVENT_DISPATCHED: Final = f"{DOMAIN}_rollcall_dispatched"
EVENT_RESPONDED: Final = f"{DOMAIN}_volunteer_responded"
EVENT_ESCALATED: Final = f"{DOMAIN}_rollcall_escalated"
EVENT_ENDED: Final = f"{DOMAIN}_rollcall_ended"
# Every notification action id the integration mints starts with this, then the recipient's token.
ACTION_PREFIX: Final = "SMART_PARK_"
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LANGUAGES: Final = ("en", "zh-Hans")


class Role(StrEnum):
    """A volunteer's part in the team (seeds: volunteers, building leaders 楼道长, duty officers, captain)."""

    VOLUNTEER = "volunteer"
    BUILDING_LEADER = "building_leader"
    DUTY_OFFICER = "duty_officer"
    CAPTAIN = "captain"


class Response(StrEnum):
    """What a volunteer answered."""

    ON_MY_WAY = "on_my_way"
    CANNOT_COME = "cannot_come"
    ARRIVED = "arrived"


class Delivery(StrEnum):
    """What is known of a notification's delivery: only local push is confirmed by the phone itself."""

    CONFIRMED = "confirmed"  # the phone confirmed it on the local push channel
    SENT = "sent"  # handed to the relay or to a channel without confirmations: not proof of delivery
    PENDING = "pending"  # sent on the local push channel, its confirmation not in yet
    FAILED = "failed"  # no path, or every path failed
    NONE = "none"  # never notified


class Step(StrEnum):
    """Escalation steps of a roll-call."""

    REPEAT_ALL = "repeat_all"  # nobody on the way yet: ask everyone on the roster
    CALL_FOR_HELP = "call_for_help"  # below quorum: broadcast, duty officers, park manager, extra service


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly duty window; one ending before it starts runs past midnight (a night shift)."""

    days: tuple[str, ...]
    start: time
    end: time

    def covers(self, moment: datetime) -> bool:
        """Whether ``moment`` (local time) falls in the shift; a start equal to its end is the whole day."""
        day = WEEKDAYS[moment.weekday()]
        now = moment.time()
        if self.start == self.end:
            return day in self.days
        if self.start <= self.end:
            return day in self.days and self.start <= now < self.end
        yesterday = WEEKDAYS[(moment.weekday() - 1) % 7]
        return (day in self.days and now >= self.start) or (yesterday in self.days and now < self.end)

    def as_dict(self) -> dict[str, Any]:
        """Stored and action form."""
        return {
            "days": list(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Shift:
        """Read a stored or validated shift."""
        return cls(
            days=tuple(data.get("days") or WEEKDAYS),
            start=time.fromisoformat(str(data["start"])),
            end=time.fromisoformat(str(data["end"])),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Volunteer:
    """One member of the emergency team. ``phone`` is personal data: admin-only, redacted everywhere."""

    user_id: str
    name: str
    role: Role = Role.VOLUNTEER
    building: str | None = None  # home building; the building led, for a building leader
    enterprise: str | None = None  # the enterprise the volunteer works at (owners are the team's core)
    phone: str | None = None
    language: str | None = None  # en | zh-Hans; None: the park's language
    devices: tuple[str, ...] = ()  # mobile_app device registry ids; empty: every device the user registered
    shifts: tuple[Shift, ...] = ()  # empty: always on duty

    def on_duty(self, moment: datetime) -> bool:
        """On duty at ``moment`` (local time): always without shifts, else within one."""
        return not self.shifts or any(shift.covers(moment) for shift in self.shifts)

    def as_dict(self) -> dict[str, Any]:
        """Stored form (with the phone: the Store is admin-only, like the rest of .storage)."""
        return {
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role.value,
            "building": self.building,
            "enterprise": self.enterprise,
            "phone": self.phone,
            "language": self.language,
            "devices": list(self.devices),
            "shifts": [shift.as_dict() for shift in self.shifts],
        }

    def public_dict(self) -> dict[str, Any]:
        """What non-admins, diagnostics and events may see: no phone."""
        data = self.as_dict()
        del data["phone"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Volunteer:
        """Read a stored volunteer."""
        return cls(
            user_id=data["user_id"],
            name=data["name"],
            role=Role(data.get("role", Role.VOLUNTEER)),
            building=data.get("building"),
            enterprise=data.get("enterprise"),
            phone=data.get("phone"),
            language=data.get("language"),
            devices=tuple(data.get("devices") or ()),
            shifts=tuple(Shift.from_dict(item) for item in data.get("shifts") or ()),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One volunteer asked in a roll-call: how they were reached and what they answered."""

    user_id: str
    name: str
    token: str  # minted per roll-call and recipient; the notification's action ids carry it
    asked_at: tuple[datetime, ...] = ()
    path: str = "none"  # local | relay | none: the path of the newest notification
    delivery: Delivery = Delivery.NONE
    delivered_at: datetime | None = None
    response: Response | None = None  # on_my_way or cannot_come (arrival is kept apart)
    responded_at: datetime | None = None
    via: str | None = None  # app | radio
    recorded_by: str | None = None  # the operator who recorded a radio answer
    arrived_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Stored and API form."""
        return {
            "user_id": self.user_id,
            "name": self.name,
            "token": self.token,
            "asked_at": [moment.isoformat() for moment in self.asked_at],
            "path": self.path,
            "delivery": self.delivery.value,
            "delivered_at": _iso(self.delivered_at),
            "response": self.response.value if self.response else None,
            "responded_at": _iso(self.responded_at),
            "via": self.via,
            "recorded_by": self.recorded_by,
            "arrived_at": _iso(self.arrived_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipient:
        """Read a stored recipient."""
        return cls(
            user_id=data["user_id"],
            name=data["name"],
            token=data["token"],
            asked_at=tuple(datetime.fromisoformat(item) for item in data.get("asked_at") or ()),
            path=data.get("path", "none"),
            delivery=Delivery(data.get("delivery", Delivery.NONE)),
            delivered_at=_parse(data.get("delivered_at")),
            response=Response(data["response"]) if data.get("response") else None,
            responded_at=_parse(data.get("responded_at")),
            via=data.get("via"),
            recorded_by=data.get("recorded_by"),
            arrived_at=_parse(data.get("arrived_at")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RollCall:
    """The roll-call of one incident, with the deadlines of its escalation (stored, so restarts keep them)."""

    incident_id: str
    kind: str
    building: str | None
    floor: int | None
    enterprise: str | None
    opened_at: datetime  # when the incident opened: response times count from the alarm, not the dispatch
    dispatched_at: datetime
    quorum: int
    repeat_at: datetime | None  # step 1 deadline; None once done or not wanted
    escalate_at: datetime | None  # step 2 deadline
    recipients: Mapping[str, Recipient] = field(default_factory=dict)
    steps: tuple[tuple[str, datetime], ...] = ()
    quorum_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not ended (its incident is still open)."""
        return self.ended_at is None

    def count(self, response: Response) -> int:
        """How many answered ``response`` (arrivals: how many arrived)."""
        if response is Response.ARRIVED:
            return sum(1 for r in self.recipients.values() if r.arrived_at is not None)
        return sum(1 for r in self.recipients.values() if r.response is response)

    def first(self, response: Response) -> float | None:
        """Seconds from the alarm to the first "on my way" (or arrival); None when nobody yet."""
        moments = [
            r.arrived_at if response is Response.ARRIVED else r.responded_at
            for r in self.recipients.values()
            if (r.arrived_at if response is Response.ARRIVED else r.response is response and r.responded_at)
        ]
        found = [m for m in moments if m is not None]
        return round((min(found) - self.opened_at).total_seconds(), 1) if found else None

    def next_deadline(self) -> datetime | None:
        """The earliest escalation still due."""
        due = [moment for moment in (self.repeat_at, self.escalate_at) if moment is not None]
        return min(due) if due and self.active else None

    def with_recipient(self, recipient: Recipient) -> RollCall:
        """A copy with ``recipient`` added or replaced."""
        return replace(self, recipients={**self.recipients, recipient.user_id: recipient})

    def summary(self) -> dict[str, Any]:
        """Counts and figures without names: what the incident carries to the dashboard and the central."""
        return {
            "asked": len(self.recipients),
            "confirmed": sum(1 for r in self.recipients.values() if r.delivery is Delivery.CONFIRMED),
            "on_my_way": self.count(Response.ON_MY_WAY),
            "cannot_come": self.count(Response.CANNOT_COME),
            "arrived": self.count(Response.ARRIVED),
            "quorum": self.quorum,
            "quorum_reached": self.quorum_at is not None,
            "steps": [step for step, _at in self.steps],
            "first_on_my_way_s": self.first(Response.ON_MY_WAY),
            "first_arrival_s": self.first(Response.ARRIVED),
        }

    def as_dict(self) -> dict[str, Any]:
        """Stored and API form."""
        return {
            "incident_id": self.incident_id,
            "kind": self.kind,
            "building": self.building,
            "floor": self.floor,
            "enterprise": self.enterprise,
            "opened_at": self.opened_at.isoformat(),
            "dispatched_at": self.dispatched_at.isoformat(),
            "quorum": self.quorum,
            "repeat_at": _iso(self.repeat_at),
            "escalate_at": _iso(self.escalate_at),
            "recipients": [r.as_dict() for r in self.recipients.values()],
            "steps": [[step, at.isoformat()] for step, at in self.steps],
            "quorum_at": _iso(self.quorum_at),
            "ended_at": _iso(self.ended_at),
        }

    def public_dict(self) -> dict[str, Any]:
        """The API form without the recipients' tokens (they answer for the volunteer)."""
        data = self.as_dict()
        data["recipients"] = [{k: v for k, v in r.items() if k != "token"} for r in data["recipients"]]
        return {**data, **self.summary()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RollCall:
        """Read a stored roll-call."""
        recipients = (Recipient.from_dict(item) for item in data.get("recipients") or ())
        return cls(
            incident_id=data["incident_id"],
            kind=data["kind"],
            building=data.get("building"),
            floor=data.get("floor"),
            enterprise=data.get("enterprise"),
            opened_at=datetime.fromisoformat(data["opened_at"]),
            dispatched_at=datetime.fromisoformat(data["dispatched_at"]),
            quorum=int(data["quorum"]),
            repeat_at=_parse(data.get("repeat_at")),
            escalate_at=_parse(data.get("escalate_at")),
            recipients={r.user_id: r for r in recipients},
            steps=tuple((step, datetime.fromisoformat(at)) for step, at in data.get("steps") or ()),
            quorum_at=_parse(data.get("quorum_at")),
            ended_at=_parse(data.get("ended_at")),
        )


def month_median(rollcalls: Iterable[RollCall], response: Response, month: tuple[int, int]) -> float | None:
    """The median of the first-answer (or first-arrival) times of the roll-calls opened in ``month``."""
    figures = [
        figure
        for rollcall in rollcalls
        if (rollcall.opened_at.year, rollcall.opened_at.month) == month
        and (figure := rollcall.first(response)) is not None
    ]
    return round(statistics.median(figures), 1) if figures else None


def choose_recipients(
    volunteers: Sequence[Volunteer], building: str | None, moment: datetime, *, everyone: bool
) -> list[Volunteer]:
    """Who a dispatch asks, the same building first: on-duty volunteers and the building's leaders.

    ``everyone``: the whole roster, on duty or not (the escalation's first step). Building leaders of the
    incident's building are asked whatever their shifts: they know their building.
    """
    if everyone:
        chosen = list(volunteers)
    else:
        chosen = [
            v
            for v in volunteers
            if v.on_duty(moment) or (v.role is Role.BUILDING_LEADER and building and v.building == building)
        ]
    return sorted(chosen, key=lambda v: (building is None or v.building != building, v.name))


def retime(rollcall: RollCall, after: timedelta) -> datetime:
    """A deadline ``after`` the dispatch."""
    return rollcall.dispatched_at + after
