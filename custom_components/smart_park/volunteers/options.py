"""The roll-call's options (options flow page "Volunteers"), with the defaults the issue and seeds set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

CONF_DISPATCH_KINDS: Final = "volunteer_dispatch_kinds"
CONF_QUORUM: Final = "volunteer_quorum"
CONF_REPEAT_AFTER: Final = "volunteer_repeat_after"
CONF_ESCALATE_AFTER: Final = "volunteer_escalate_after"
CONF_HELP_BROADCAST: Final = "volunteer_help_broadcast"
CONF_NOTIFY_SERVICE: Final = "volunteer_notify_service"
CONF_RELAY_REACHABLE: Final = "volunteer_relay_reachable"

DISPATCH_KINDS: Final = ["fire", "one_key", "gas"]
DEFAULT_QUORUM: Final = 3
DEFAULT_REPEAT_AFTER: Final = 60.0  # no one on the way after a minute: ask the whole roster
DEFAULT_ESCALATE_AFTER: Final = 180.0  # the seeds' three minutes: below quorum, call for help


@dataclass(frozen=True, slots=True)
class RollCallOptions:
    """Which incidents dispatch, the quorum and the escalation's times and extras."""

    kinds: frozenset[str]
    quorum: int
    repeat_after: timedelta  # zero: no repeat step
    escalate_after: timedelta  # zero: no call for help
    help_broadcast: bool
    notify_service: str | None  # e.g. "notify.sms_gateway", called at the call for help
    # Whether a relay URL counts as a path to a phone. Off in mainland China, where the relay (Firebase) is
    # generally unreachable: only a connected local push channel then makes a volunteer reachable.
    relay_reachable: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RollCallOptions:
        """Read the entry's options."""
        service = str(options.get(CONF_NOTIFY_SERVICE) or "").strip()
        return cls(
            kinds=frozenset(options.get(CONF_DISPATCH_KINDS, DISPATCH_KINDS)),
            quorum=int(options.get(CONF_QUORUM, DEFAULT_QUORUM)),
            repeat_after=timedelta(seconds=float(options.get(CONF_REPEAT_AFTER, DEFAULT_REPEAT_AFTER))),
            escalate_after=timedelta(seconds=float(options.get(CONF_ESCALATE_AFTER, DEFAULT_ESCALATE_AFTER))),
            help_broadcast=bool(options.get(CONF_HELP_BROADCAST, True)),
            notify_service=service or None,
            relay_reachable=bool(options.get(CONF_RELAY_REACHABLE, True)),
        )
