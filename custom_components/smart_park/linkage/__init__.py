"""Fire-bell linkage: a call point pressed on any floor rings every bell of its building (or of the park).

- :mod:`.state`: :class:`LinkageGroup`, the pure state machine of one group (latch, silence, reset rules);
- :mod:`.groups`: the groups built from the park profile (controllers, bells, inputs);
- :mod:`.drive`: controllers' read-backs and bell writes (verified, retried with backoff);
- :mod:`.auth`: the operator PIN (hash, check, lockout);
- :mod:`.episodes`: each alarm episode's fire incident;
- :mod:`.repairs`: the fault repair issue of each group;
- :mod:`.core`: :class:`LinkageCore`, the groups fed from the polls, audited and persisted;
- :mod:`.manager`: :class:`FireLinkage` (the core plus operator commands) and its setup;
- :mod:`.actions`: the ``silence_alarm``, ``reset_alarm`` and ``test_bells`` actions.

What the rest of the integration uses is re-exported here.
"""

from __future__ import annotations

from .actions import async_register_services
from .auth import hash_pin, verify_pin
from .groups import PARK_GROUP, BellController, ControllerRef, GroupRuntime, InputRef, build_groups
from .manager import FireLinkage, async_setup_linkage
from .state import Confirmation, InputKind, LinkageGroup, LinkageRefused, LinkageState, Transition

__all__ = [
    "PARK_GROUP",
    "BellController",
    "Confirmation",
    "ControllerRef",
    "FireLinkage",
    "GroupRuntime",
    "InputKind",
    "InputRef",
    "LinkageGroup",
    "LinkageRefused",
    "LinkageState",
    "Transition",
    "async_register_services",
    "async_setup_linkage",
    "build_groups",
    "hash_pin",
    "verify_pin",
]
