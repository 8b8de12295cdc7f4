"""Emergency broadcast: the zones of the park's broadcast controllers, priorities, preset messages and TTS.

A broadcast controller plays one programme at a time in any set of its zones; the integration drives it over
Modbus and hands it audio URLs over its HTTP API (``docs/broadcast-protocol.md``). Fire evacuation > other
emergencies > drills > notices: a higher priority preempts, a lower or equal one is refused or queued, and
every broadcast is audited. The modules, from the bottom up:

- :mod:`.model`: zones, controllers, messages, broadcasts, priorities, the action field names;
- :mod:`.arbitration`: the pure rules (who blocks, who is preempted, queue order, when one has finished);
- :mod:`.controller`: the controller's protocol (register writes, status reads, ``PUT /audio``);
- :mod:`.messages` and :mod:`.targets`: a call's message and zones, checked, with translated errors;
- :mod:`.scheduler`: starting, queueing, refusing, stopping and ending broadcasts, serialised and audited;
- :mod:`.manager`: :class:`BroadcastManager`, the scheduler wired to the park (polls, repairs, held zones);
- :mod:`.alternation`: bells and the evacuation message in turn during a fire alarm;
- :mod:`.actions`: ``smart_park.broadcast`` and ``smart_park.stop_broadcast``.

Other modules import from here, not from the submodules.
"""

from __future__ import annotations

from .actions import async_register_services
from .manager import BroadcastManager, async_setup_broadcast
from .messages import async_preset_titles, preset_title
from .model import (
    ATTR_PIN,
    ATTR_PRIORITY,
    ATTR_REPEAT,
    Broadcast,
    BroadcastBlocked,
    BroadcastController,
    BroadcastStatus,
    EndReason,
    Message,
    MessageKind,
    Priority,
    Zone,
)

__all__ = [
    "ATTR_PIN",
    "ATTR_PRIORITY",
    "ATTR_REPEAT",
    "Broadcast",
    "BroadcastBlocked",
    "BroadcastController",
    "BroadcastManager",
    "BroadcastStatus",
    "EndReason",
    "Message",
    "MessageKind",
    "Priority",
    "Zone",
    "async_preset_titles",
    "async_register_services",
    "async_setup_broadcast",
    "preset_title",
]
