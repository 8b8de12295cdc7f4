"""Night patrols: rounds of NFC checkpoints (HA tags) scanned by the volunteers' phones before a deadline.

- :mod:`.model`: the round, its checkpoints, scans and outcome, the names of the patrol events;
- :mod:`.manager`: :class:`PatrolManager`, the rounds of one park (Store, tag scans, deadline, audit, events);
- :mod:`.actions`: the ``start_patrol`` and ``end_patrol`` actions.

What the rest of the integration uses is re-exported here.
"""

from __future__ import annotations

from .actions import async_register_services
from .manager import SERVICE_END, SERVICE_START, PatrolManager, async_setup_patrols
from .model import (
    EVENT_PATROL_ENDED,
    EVENT_PATROL_SCANNED,
    EVENT_PATROL_STARTED,
    Checkpoint,
    EndReason,
    PatrolRound,
    PatrolState,
    Scan,
)

__all__ = [
    "EVENT_PATROL_ENDED",
    "EVENT_PATROL_SCANNED",
    "EVENT_PATROL_STARTED",
    "SERVICE_END",
    "SERVICE_START",
    "Checkpoint",
    "EndReason",
    "PatrolManager",
    "PatrolRound",
    "PatrolState",
    "Scan",
    "async_register_services",
    "async_setup_patrols",
]
