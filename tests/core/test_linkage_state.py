"""The fire-bell linkage state machine, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.smart_park.linkage import Confirmation, LinkageGroup, LinkageRefused, LinkageState

T0 = datetime(2026, 5, 13, 21, 0, tzinfo=UTC)
CP1, CP3, SMOKE = "b1_bells.call_point_1", "b1_bells.call_point_3", "e003_smoke.smoke_alarm"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_normal_alarm_silence_reset_normal() -> None:
    group = LinkageGroup("b1")
    assert group.state is LinkageState.NORMAL
    assert not group.bells_on(at(0))
    [t] = group.update_inputs([CP3], at(1))
    assert (t.old, t.new, t.inputs) == (LinkageState.NORMAL, LinkageState.ALARM, (CP3,))
    assert group.bells_on(at(1))
    # The call point is released: the alarm stays latched and the bells keep sounding.
    assert group.update_inputs([], at(2)) == []
    assert group.state is LinkageState.ALARM
    assert group.bells_on(at(2))
    [t] = group.silence(at(3), "user-1")
    assert (t.new, t.user_id, t.cause) == (LinkageState.SILENCED, "user-1", "silence")
    assert not group.bells_on(at(3))
    [t] = group.reset(at(4), "user-1")
    assert t.new is LinkageState.NORMAL
    assert not group.seen


def test_new_input_after_silence_resounds_but_the_same_one_does_not() -> None:
    group = LinkageGroup("b1")
    group.update_inputs([CP3], at(0))
    group.silence(at(1), "u")
    # The same call point chattering does not re-sound.
    group.update_inputs([], at(2))
    assert group.update_inputs([CP3], at(3)) == []
    assert not group.bells_on(at(3))
    [t] = group.update_inputs([CP3, CP1], at(4))
    assert (t.new, t.cause, t.inputs) == (LinkageState.ALARM, "resound", (CP1,))
    assert group.bells_on(at(4))


def test_reset_refused_while_an_input_is_active() -> None:
    group = LinkageGroup("b1")
    group.update_inputs([CP3], at(0))
    group.silence(at(1), "u")
    with pytest.raises(LinkageRefused) as info:
        group.reset(at(2), "u")
    assert info.value.reason == "inputs_active"
    assert info.value.placeholders == {"inputs": CP3}
    assert group.state is LinkageState.SILENCED
    group.update_inputs([], at(3))
    group.reset(at(4), "u")
    assert group.state is LinkageState.NORMAL


def test_reset_without_alarm_and_silence_without_bells_are_refused() -> None:
    group = LinkageGroup("b1")
    with pytest.raises(LinkageRefused, match="nothing_to_reset"):
        group.reset(at(0), "u")
    with pytest.raises(LinkageRefused, match="not_sounding"):
        group.silence(at(0), "u")


def test_two_signal_confirmation() -> None:
    group = LinkageGroup("b1", confirmation=Confirmation.TWO_SIGNAL)
    [t] = group.update_inputs([SMOKE], at(0))
    assert t.new is LinkageState.PRE_ALARM
    assert not group.bells_on(at(0))
    group.update_inputs([], at(1))
    assert group.state is LinkageState.PRE_ALARM  # still remembered
    [t] = group.update_inputs([CP1], at(2))
    assert t.new is LinkageState.ALARM
    assert group.bells_on(at(2))
    # A pre-alarm alone can be reset once the input is clear.
    other = LinkageGroup("b2", confirmation=Confirmation.TWO_SIGNAL)
    other.update_inputs([SMOKE], at(0))
    other.update_inputs([], at(1))
    other.reset(at(2), "u")
    assert other.state is LinkageState.NORMAL


def test_disabled_group_never_sounds_and_enabling_sounds_a_confirmed_fire() -> None:
    group = LinkageGroup("b1")
    group.set_disabled(True, at(0), "admin")
    assert group.update_inputs([CP1], at(1)) == []
    assert group.state is LinkageState.DISABLED
    assert not group.bells_on(at(1))
    [t] = group.set_disabled(False, at(2), "admin")
    assert t.new is LinkageState.ALARM
    assert group.bells_on(at(2))


def test_fault_is_shown_but_alarm_outranks_it() -> None:
    group = LinkageGroup("park")
    [t] = group.update_faults(["b2_bells.offline"], at(0))
    assert t.new is LinkageState.FAULT
    group.update_inputs([CP1], at(1))
    assert group.state is LinkageState.ALARM
    assert group.bells_on(at(1))
    assert group.faults == {"b2_bells.offline"}


def test_test_sounds_for_a_while_and_is_refused_during_alarm() -> None:
    group = LinkageGroup("b1")
    group.start_test(at(10), at(0), "u")
    assert group.bells_on(at(5))
    assert not group.bells_on(at(10))
    group.update_inputs([CP1], at(11))
    with pytest.raises(LinkageRefused, match="alarm_latched"):
        group.start_test(at(20), at(12), "u")


def test_state_survives_a_restart() -> None:
    group = LinkageGroup("b1")
    group.update_inputs([CP3], at(0))
    group.silence(at(1), "u")
    restored = LinkageGroup("b1")
    restored.restore(group.as_dict())
    assert restored.state is LinkageState.SILENCED
    assert restored.alarm_since == at(0)
    # After the restart the still-pressed call point is known, so it does not re-sound; a new one does.
    assert restored.update_inputs([CP3], at(5)) == []
    assert restored.update_inputs([CP3, CP1], at(6))[0].cause == "resound"


def test_reset_refused_while_an_input_cannot_be_read() -> None:
    """An input never read (after a restart) or whose read failed may be pressed: reset must wait for it."""
    group = LinkageGroup("b1")
    group.declare_inputs([CP1, CP3])
    assert group.unreadable == {CP1, CP3}  # nothing read yet
    group.update_readable([])
    group.update_inputs([CP3], at(0))
    group.update_inputs([], at(1))
    group.update_readable([CP1])  # CP1's controller stopped answering
    with pytest.raises(LinkageRefused) as info:
        group.reset(at(2), "admin")
    assert info.value.reason == "inputs_unreadable"
    assert info.value.placeholders == {"inputs": CP1}
    assert group.state is LinkageState.ALARM
    assert group.bells_on(at(2))
    group.update_readable([])
    group.reset(at(3), "admin")
    assert group.state is LinkageState.NORMAL


def test_restored_alarm_cannot_be_reset_before_its_inputs_are_read() -> None:
    """After a restart mid-alarm every input is unknown until read, even with none active."""
    group = LinkageGroup("b2")
    group.update_inputs([CP1], at(0))
    group.update_inputs([], at(1))
    restored = LinkageGroup("b2")
    restored.declare_inputs([CP1, CP3])
    restored.restore(group.as_dict())
    assert not restored.active
    with pytest.raises(LinkageRefused) as info:
        restored.reset(at(2), "admin")
    assert (info.value.reason, info.value.placeholders) == ("inputs_unreadable", {"inputs": f"{CP1}, {CP3}"})
    assert restored.state is LinkageState.ALARM


def test_new_input_while_latched_is_reported_without_a_change_of_state() -> None:
    """The alarm's incident follows the fire: a new place while sounding is a transition to the same state."""
    group = LinkageGroup("b1")
    group.update_inputs([CP3], at(0))
    [t] = group.update_inputs([CP3, CP1], at(1))
    assert (t.old, t.new, t.cause, t.inputs) == (LinkageState.ALARM, LinkageState.ALARM, "input", (CP1,))
    # Released and pressed again: not a new place.
    group.update_inputs([], at(2))
    assert group.update_inputs([CP1], at(3)) == []
    # After a reset the same call point starts a new episode.
    group.update_inputs([], at(4))
    group.update_readable([])
    group.reset(at(5), "u")
    [t] = group.update_inputs([CP3], at(6))
    assert (t.old, t.new, t.cause) == (LinkageState.NORMAL, LinkageState.ALARM, "input")
