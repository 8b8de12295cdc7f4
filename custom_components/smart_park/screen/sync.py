"""The sync link to the central as the screen shows it: heartbeats from the park_sync add-on.

park_sync calls ``smart_park/sync/heartbeat`` after uploads the central acknowledged, saying how long it may
stay quiet while the link is up (``interval``). The screen shows ``ok`` while the last heartbeat is at most
:data:`LATE_INTERVALS` intervals old, ``late`` after that, ``unknown`` before the first one (also after a
restart of Home Assistant: heartbeats are kept in memory only, so the screen never vouches for a link it has
not heard from since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from ..listeners import Listeners

LATE_INTERVALS: Final = 3


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The last heartbeat of one park's add-on."""

    at: datetime
    interval: float


class SyncLinks:
    """The last heartbeat of each park (by park id), and who wants to hear of a new one."""

    def __init__(self) -> None:
        self._beats: dict[str, Heartbeat] = {}
        self.listeners: Listeners[[str]] = Listeners()

    def beat(self, park_id: str, interval: float, now: datetime) -> None:
        """A heartbeat of the add-on syncing ``park_id``."""
        self._beats[park_id] = Heartbeat(now, interval)
        self.listeners.notify(park_id)

    def state(self, park_id: str, now: datetime) -> dict[str, Any]:
        """``{"state": ok|late|unknown, "last_seen": iso|None, "interval": s|None}``."""
        beat = self._beats.get(park_id)
        if beat is None:
            return {"state": "unknown", "last_seen": None, "interval": None}
        late = now - beat.at > timedelta(seconds=beat.interval * LATE_INTERVALS)
        shown = "late" if late else "ok"
        return {"state": shown, "last_seen": beat.at.isoformat(), "interval": beat.interval}
