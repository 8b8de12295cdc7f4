"""A fire-inspection to-do item: what to inspect, by when, and who ticked it off when.

No Home Assistant here: :class:`InspectionItem` is a frozen value kept by
:class:`~.manager.InspectionLists` and shown as an HA ``TodoItem`` by the ``todo`` platform. A due date
(no time) is due at the end of that day in HA's time zone; a due time is due at that instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final

from ..const import DOMAIN

EVENT_INSPECTION_OVERDUE: Final = f"{DOMAIN}_inspection_overdue"


class ItemStatus(StrEnum):
    """HA's to-do statuses (``homeassistant.components.todo.TodoItemStatus`` values)."""

    NEEDS_ACTION = "needs_action"
    COMPLETED = "completed"


def _due_to_json(due: date | datetime | None) -> str | None:
    return due.isoformat() if due is not None else None


def _due_from_json(value: str | None) -> date | datetime | None:
    if not value:
        return None
    # A date has no "T"; a due time is stored with its offset.
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectionItem:
    """One item of a building's fire-inspection list."""

    uid: str
    summary: str
    status: ItemStatus = ItemStatus.NEEDS_ACTION
    due: date | datetime | None = None
    description: str | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    # The due value ``smart_park_inspection_overdue`` was fired for: once per item and due, across restarts.
    overdue_fired_for: str | None = None

    @property
    def done(self) -> bool:
        """Ticked off."""
        return self.status is ItemStatus.COMPLETED

    def deadline(self, zone: tzinfo) -> datetime | None:
        """The instant the item becomes overdue (the end of a due date in ``zone``)."""
        if self.due is None:
            return None
        if isinstance(self.due, datetime):
            return self.due
        return datetime.combine(self.due + timedelta(days=1), time.min, tzinfo=zone)

    def overdue_unannounced(self, now: datetime, zone: tzinfo) -> bool:
        """Past its due, not done, and its overdue event not fired for this due yet."""
        deadline = self.deadline(zone)
        return (
            not self.done
            and deadline is not None
            and now >= deadline
            and self.overdue_fired_for != _due_to_json(self.due)
        )

    @property
    def due_key(self) -> str | None:
        """The due as stored (what ``overdue_fired_for`` is compared with)."""
        return _due_to_json(self.due)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store, events and the audit log."""
        return {
            "uid": self.uid,
            "summary": self.summary,
            "status": self.status.value,
            "due": _due_to_json(self.due),
            "description": self.description,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "completed_by": self.completed_by,
            "overdue_fired_for": self.overdue_fired_for,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InspectionItem:
        """Read back a stored item."""
        return cls(
            uid=data["uid"],
            summary=data["summary"],
            status=ItemStatus(data.get("status", ItemStatus.NEEDS_ACTION)),
            due=_due_from_json(data.get("due")),
            description=data.get("description"),
            completed_at=_parse(data.get("completed_at")),
            completed_by=data.get("completed_by"),
            overdue_fired_for=data.get("overdue_fired_for"),
        )
