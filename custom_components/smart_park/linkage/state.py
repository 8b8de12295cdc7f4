"""Fire-bell linkage: the state machine of one linkage group (a building or the whole park).

Pure logic, no I/O: the integration feeds it input snapshots and operator commands in the task that polls the
call points, and drives the bell coils to :meth:`LinkageGroup.bells_on`. Free of HA, every rule is
testable on its own and the state persists as a plain dict.

Rules (GB 55036-2022 §12.0.5: all sounders of the affected scope start and stop together):
- an alarm latches: inputs going quiet do not stop the bells;
- silence stops the bells but keeps the alarm latched; an input not seen before re-sounds them;
- an input not seen before while latched is reported (a transition from the state to itself, cause ``input``)
  so the alarm's incident follows the fire to its new place;
- reset is refused while any input is still active or cannot be read (a dead gateway must not let an alarm be
  reset blind: every input starts unreadable until it is read), and returns the group to normal;
- a disabled group never sounds, but still records what it sees;
- faults (controller offline, mains or battery lost, bell circuit open) are shown beside the alarm state and
  never stop the healthy controllers from sounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class LinkageState(StrEnum):
    """What the group's enum sensor shows."""

    NORMAL = "normal"
    PRE_ALARM = "pre_alarm"  # two-signal rule: one input seen, waiting for a second
    ALARM = "alarm"
    SILENCED = "silenced"
    FAULT = "fault"
    DISABLED = "disabled"


class Confirmation(StrEnum):
    """How many independent inputs confirm a fire."""

    SINGLE = "single"
    TWO_SIGNAL = "two_signal"


class InputKind(StrEnum):
    """Kinds of inputs a group listens to."""

    CALL_POINT = "call_point"
    SMOKE = "smoke"
    GAS = "gas"


class LinkageRefused(Exception):
    """An operator command is not allowed in the current state; ``reason`` is a translation key."""

    def __init__(self, reason: str, **placeholders: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of state, for the audit log."""

    at: datetime
    old: LinkageState
    new: LinkageState
    cause: str
    user_id: str | None = None
    inputs: tuple[str, ...] = ()


@dataclass(slots=True)
class LinkageGroup:
    """One linkage group. Input ids are strings such as ``"b1_bells.call_point_3"``."""

    group_id: str
    confirmation: Confirmation = Confirmation.SINGLE
    kinds: frozenset[InputKind] = frozenset({InputKind.CALL_POINT})
    disabled: bool = False
    latched: bool = False
    silenced: bool = False
    # Inputs seen since the last reset (the alarm's cause), and those acknowledged by the last silence.
    seen: set[str] = field(default_factory=set)
    silenced_inputs: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    faults: set[str] = field(default_factory=set)
    # Every input the group listens to, and those whose current value is not known (never read, or the last
    # read failed): a reset needs all of them read and clear.
    inputs: frozenset[str] = frozenset()
    unreadable: set[str] = field(default_factory=set)
    alarm_since: datetime | None = None
    testing_until: datetime | None = None

    @property
    def state(self) -> LinkageState:
        """The state shown to people; alarm outranks fault so a fault never hides a fire."""
        if self.disabled:
            return LinkageState.DISABLED
        if self.latched:
            return LinkageState.SILENCED if self.silenced else LinkageState.ALARM
        if self.seen:
            return LinkageState.PRE_ALARM
        if self.faults:
            return LinkageState.FAULT
        return LinkageState.NORMAL

    def bells_on(self, now: datetime | None = None) -> bool:
        """Whether every bell of the group must sound now."""
        if self.disabled:
            return False
        if self.latched and not self.silenced:
            return True
        return self.testing_until is not None and now is not None and now < self.testing_until

    def _confirmed(self) -> bool:
        needed = 1 if self.confirmation is Confirmation.SINGLE else 2
        return len(self.seen) >= needed

    def _move(
        self, old: LinkageState, at: datetime, cause: str, user_id: str | None, inputs: Iterable[str] = ()
    ) -> list[Transition]:
        new = self.state
        if new is old:
            return []
        return [Transition(at, old, new, cause, user_id, tuple(sorted(inputs)))]

    def update_inputs(self, active: Iterable[str], at: datetime) -> list[Transition]:
        """Feed the inputs that are active now (of the kinds this group listens to)."""
        old = self.state
        now_active = set(active)
        new_inputs = now_active - self.active
        self.active = now_active
        if not new_inputs:
            return []
        fresh = new_inputs - self.seen  # not seen in this alarm episode: a new place
        self.seen |= new_inputs
        if self.disabled:
            return []
        cause = "input"
        if self.latched and self.silenced and new_inputs - self.silenced_inputs:
            self.silenced = False  # a new input after silence re-sounds the bells
            cause = "resound"
        elif not self.latched and self._confirmed():
            self.latched = True
            self.alarm_since = at
            self.testing_until = None
        elif self.latched and fresh:
            return [Transition(at, old, old, cause, None, tuple(sorted(fresh)))]
        return self._move(old, at, cause, None, new_inputs)

    def declare_inputs(self, inputs: Iterable[str]) -> None:
        """Name the group's inputs; each counts as unreadable until :meth:`update_readable` says otherwise."""
        self.inputs = frozenset(inputs)
        self.unreadable = set(self.inputs)

    def update_readable(self, unreadable: Iterable[str]) -> None:
        """Feed the inputs whose value could not be read now (they keep their last value meanwhile)."""
        self.unreadable = set(unreadable)

    def update_faults(self, faults: Iterable[str], at: datetime) -> list[Transition]:
        """Feed the group's current faults (e.g. ``"b1_bells.offline"``)."""
        old = self.state
        self.faults = set(faults)
        return self._move(old, at, "fault", None, self.faults)

    def silence(self, at: datetime, user_id: str | None) -> list[Transition]:
        """Stop the bells; the alarm stays latched."""
        if not self.latched or self.silenced:
            raise LinkageRefused("not_sounding")
        old = self.state
        self.silenced = True
        self.silenced_inputs = set(self.seen)
        return self._move(old, at, "silence", user_id)

    def reset(self, at: datetime, user_id: str | None) -> list[Transition]:
        """Return to normal; refused while an input is still active or cannot be read."""
        if self.active:
            raise LinkageRefused("inputs_active", inputs=", ".join(sorted(self.active)))
        if not self.latched and not self.seen:
            raise LinkageRefused("nothing_to_reset")
        if self.unreadable:
            # An unreadable call point may be pressed right now: resetting would stop the bells of a fire.
            raise LinkageRefused("inputs_unreadable", inputs=", ".join(sorted(self.unreadable)))
        old = self.state
        self.latched = self.silenced = False
        self.seen.clear()
        self.silenced_inputs.clear()
        self.alarm_since = None
        return self._move(old, at, "reset", user_id)

    def set_disabled(self, disabled: bool, at: datetime, user_id: str | None) -> list[Transition]:
        """Disable (for maintenance) or enable the linkage; enabling with a latched alarm sounds it."""
        old = self.state
        self.disabled = disabled
        if not disabled and not self.latched and self._confirmed():
            self.latched = True
            self.alarm_since = at
        return self._move(old, at, "disable" if disabled else "enable", user_id)

    def start_test(self, until: datetime, at: datetime, user_id: str | None) -> list[Transition]:
        """Sound the bells until ``until`` (drill, check); refused during an alarm or when disabled."""
        if self.disabled:
            raise LinkageRefused("disabled")
        if self.latched:
            raise LinkageRefused("alarm_latched")
        self.testing_until = until
        return [Transition(at, self.state, self.state, "test", user_id)]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the HA Store."""
        return {
            "group_id": self.group_id,
            "disabled": self.disabled,
            "latched": self.latched,
            "silenced": self.silenced,
            "seen": sorted(self.seen),
            "silenced_inputs": sorted(self.silenced_inputs),
            "alarm_since": self.alarm_since.isoformat() if self.alarm_since else None,
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back a persisted state (after a restart the bells are re-asserted from it)."""
        self.disabled = bool(data.get("disabled", False))
        self.latched = bool(data.get("latched", False))
        self.silenced = bool(data.get("silenced", False))
        self.seen = set(data.get("seen", []))
        self.silenced_inputs = set(data.get("silenced_inputs", []))
        since = data.get("alarm_since")
        self.alarm_since = datetime.fromisoformat(since) if since else None
