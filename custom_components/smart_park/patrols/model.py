"""The patrol round: its checkpoints (NFC tags), scans, deadline and outcome, and the names of its events.

No Home Assistant here: :class:`PatrolRound` is a frozen value read from and written to the Store by
:class:`~.manager.PatrolManager`; the event names and the described form are the contract with blueprints
and the central platform (through the audit log).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from ..const import DOMAIN

EVENT_PATROL_STARTED: Final = f"{DOMAIN}_patrol_started"
EVENT_PATROL_SCANNED: Final = f"{DOMAIN}_patrol_scanned"
EVENT_PATROL_ENDED: Final = f"{DOMAIN}_patrol_ended"


class PatrolState(StrEnum):
    """The park's patrol sensor: no round yet, a round open, the last one complete or with misses."""

    IDLE = "idle"
    ON_PATROL = "on_patrol"
    COMPLETED = "completed"
    MISSED = "missed"


class EndReason(StrEnum):
    """Why a round closed."""

    ALL_SCANNED = "all_scanned"  # every checkpoint scanned before the deadline
    DEADLINE = "deadline"  # the window ended (also when HA was down at the deadline)
    ENDED_EARLY = "ended_early"  # smart_park.end_patrol


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A place on the route: an HA tag id and the name the patrol sees."""

    tag_id: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"tag_id": self.tag_id, "name": self.name}


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """The first scan of a checkpoint in a round: when, by whom (HA user), with which phone or reader."""

    tag_id: str
    at: datetime
    user_id: str | None = None
    device_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "tag_id": self.tag_id,
            "at": self.at.isoformat(),
            "user_id": self.user_id,
            "device_id": self.device_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scan:
        """Read back a stored scan."""
        return cls(
            tag_id=data["tag_id"],
            at=datetime.fromisoformat(data["at"]),
            user_id=data.get("user_id"),
            device_id=data.get("device_id"),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatrolRound:
    """One round of a route; ``id`` is stable and unique per park."""

    id: str
    route: str
    checkpoints: tuple[Checkpoint, ...]
    started_at: datetime
    ends_at: datetime
    captain: str | None = None
    started_by: str | None = None
    scans: tuple[Scan, ...] = ()
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: EndReason | None = None

    @property
    def is_open(self) -> bool:
        """Still collecting scans."""
        return self.ended_at is None

    @property
    def missed(self) -> list[Checkpoint]:
        """Checkpoints not scanned (yet, while the round is open), in route order."""
        scanned = {scan.tag_id for scan in self.scans}
        return [checkpoint for checkpoint in self.checkpoints if checkpoint.tag_id not in scanned]

    @property
    def state(self) -> PatrolState:
        """On patrol while open; afterwards completed or missed."""
        if self.is_open:
            return PatrolState.ON_PATROL
        return PatrolState.MISSED if self.missed else PatrolState.COMPLETED

    @property
    def patrollers(self) -> list[str]:
        """Users who scanned, in the order of their first scan."""
        return list(dict.fromkeys(scan.user_id for scan in self.scans if scan.user_id))

    def checkpoint(self, tag_id: str) -> Checkpoint | None:
        """The route's checkpoint of a tag."""
        return next((c for c in self.checkpoints if c.tag_id == tag_id), None)

    def with_scan(self, scan: Scan) -> PatrolRound:
        """The round with a checkpoint's first scan added."""
        return replace(self, scans=(*self.scans, scan))

    def closed(self, at: datetime, reason: EndReason, by: str | None) -> PatrolRound:
        """The round closed."""
        return replace(self, ended_at=at, end_reason=reason, ended_by=by)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {
            "id": self.id,
            "route": self.route,
            "checkpoints": [checkpoint.as_dict() for checkpoint in self.checkpoints],
            "started_at": self.started_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "captain": self.captain,
            "started_by": self.started_by,
            "scans": [scan.as_dict() for scan in self.scans],
            "ended_at": _iso(self.ended_at),
            "ended_by": self.ended_by,
            "end_reason": self.end_reason.value if self.end_reason else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatrolRound:
        """Read back a stored round."""
        ended_at = data.get("ended_at")
        reason = data.get("end_reason")
        return cls(
            id=data["id"],
            route=data["route"],
            checkpoints=tuple(Checkpoint(tag_id=c["tag_id"], name=c["name"]) for c in data["checkpoints"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            captain=data.get("captain"),
            started_by=data.get("started_by"),
            scans=tuple(Scan.from_dict(scan) for scan in data.get("scans", [])),
            ended_at=datetime.fromisoformat(ended_at) if ended_at else None,
            ended_by=data.get("ended_by"),
            end_reason=EndReason(reason) if reason else None,
        )

    def describe(self, park_id: str) -> dict[str, Any]:
        """The round as events and the actions' responses carry it: stored fields, names, outcome.

        ``scanned`` lists each checkpoint's first scan (with its name and user), ``missed`` the checkpoints
        not scanned, ``patrollers`` the users who scanned.
        """
        names = {checkpoint.tag_id: checkpoint.name for checkpoint in self.checkpoints}
        missed = self.missed
        described = self.as_dict()
        del described["scans"]
        return {
            **described,
            "park_id": park_id,
            "state": self.state.value,
            "scanned": [
                {**scan.as_dict(), "name": names.get(scan.tag_id, scan.tag_id)} for scan in self.scans
            ],
            "scanned_count": len(self.scans),
            "total": len(self.checkpoints),
            "missed": [checkpoint.as_dict() for checkpoint in missed],
            "missed_names": [checkpoint.name for checkpoint in missed],
            "patrollers": self.patrollers,
        }
