"""The incident record: kinds, states, the stored form and the names of the events announcing changes.

No Home Assistant here: :class:`Incident` is a frozen value read from and written to the Store by
:class:`~.manager.IncidentManager`, and the event names and ``change`` values are the contract with
blueprints, the logbook and the central platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from ..const import DOMAIN

EVENT_INCIDENT_OPENED: Final = f"{DOMAIN}_incident_opened"
# An open incident's alarm came again or reached a new place; the data carries ``change``.
EVENT_INCIDENT_UPDATED: Final = f"{DOMAIN}_incident_updated"
CHANGE_REPEAT: Final = "repeat"  # the same source alarmed again
CHANGE_NEW_INPUT: Final = "new_input"  # another input of the same alarm (e.g. a call point on another floor)
EVENT_INCIDENT_ACKNOWLEDGED: Final = f"{DOMAIN}_incident_acknowledged"
EVENT_INCIDENT_CLOSED: Final = f"{DOMAIN}_incident_closed"


class IncidentKind(StrEnum):
    """What happened."""

    FIRE = "fire"
    ONE_KEY = "one_key"
    GAS = "gas"


class IncidentState(StrEnum):
    """Where an incident is in its life (derived from its timestamps)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One incident; ``id`` is stable and unique per park, so the central platform can deduplicate."""

    id: str
    kind: IncidentKind
    # Deduplication key: "linkage:b1", a terminal's device id, "io1:3" for a channel, a detector's device id.
    source: str
    opened_at: datetime
    updated_at: datetime
    building: str | None = None
    floor: int | None = None
    enterprise: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    # How often the same source alarmed again while the incident was open.
    repeats: int = 0
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Not closed yet (acknowledged incidents are still open)."""
        return self.closed_at is None

    @property
    def state(self) -> IncidentState:
        """Open, acknowledged or closed."""
        if self.closed_at is not None:
            return IncidentState.CLOSED
        return IncidentState.ACKNOWLEDGED if self.acknowledged_at is not None else IncidentState.OPEN

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "source": self.source,
            "building": self.building,
            "floor": self.floor,
            "enterprise": self.enterprise,
            "opened_at": self.opened_at.isoformat(),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": _iso(self.acknowledged_at),
            "closed_by": self.closed_by,
            "closed_at": _iso(self.closed_at),
            "updated_at": self.updated_at.isoformat(),
            "repeats": self.repeats,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        """Read back a stored incident."""
        opened_at = datetime.fromisoformat(data["opened_at"])
        return cls(
            id=data["id"],
            kind=IncidentKind(data["kind"]),
            source=data["source"],
            building=data.get("building"),
            floor=data.get("floor"),
            enterprise=data.get("enterprise"),
            opened_at=opened_at,
            acknowledged_by=data.get("acknowledged_by"),
            acknowledged_at=_parse(data.get("acknowledged_at")),
            closed_by=data.get("closed_by"),
            closed_at=_parse(data.get("closed_at")),
            updated_at=_parse(data.get("updated_at")) or opened_at,
            repeats=int(data.get("repeats", 0)),
            detail=dict(data.get("detail") or {}),
        )
