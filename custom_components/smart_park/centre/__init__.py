"""The link to the fire remote monitoring centre (GB/T 26875.3, #14), the duty room's side of it.

park_sync is the park's user information transmission device; it asks here where each point is
(:mod:`.layout`), hands over what the centre did (:mod:`.websocket`) and reads the answers from the audit log.
:mod:`.desk` prompts the duty room for the centre's roll-call; :mod:`.actions` is the answer.
"""

from __future__ import annotations

from .actions import SERVICE_ANSWER, async_register_services
from .desk import EVENT_ROLLCALL, EVENT_ROLLCALL_ANSWERED, CentreDesk, desk, notification_id
from .layout import park_layout

__all__ = [
    "EVENT_ROLLCALL",
    "EVENT_ROLLCALL_ANSWERED",
    "SERVICE_ANSWER",
    "CentreDesk",
    "async_register_services",
    "desk",
    "notification_id",
    "park_layout",
]
