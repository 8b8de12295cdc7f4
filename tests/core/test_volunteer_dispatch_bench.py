"""The volunteer-dispatch benchmark's pure parts: call-outs and clears, per-trial figures, the report."""

from __future__ import annotations

from benchmarks.linkage_latency import Trial
from benchmarks.volunteer_dispatch import (
    PhaseResult,
    TrialResult,
    cleared,
    first_callout,
    incident_of,
    report_lines,
)
from simulator.phone import Notification

TRIAL = Trial("b1", "b1_fire_bells", 1, 0.5)


def note(message: str, received: float, tag: str | None = None, actions: bool = False) -> Notification:
    data: dict[str, object] = {} if tag is None else {"tag": tag}
    if actions:
        data["actions"] = [{"action": "SMART_PARK_abc_ON_MY_WAY", "title": "On my way"}]
    return Notification("relay", {"message": message, "data": data}, received, received)


def test_a_callout_is_a_notification_with_actions_for_an_incident() -> None:
    assert incident_of(note("fire", 1.0, "smart_park_inc-7", actions=True)) == "inc-7"
    assert incident_of(note("fire", 1.0, "smart_park_inc-7")) is None  # no buttons: a notice or a clear
    assert incident_of(note("fire", 1.0, "other_inc-7", actions=True)) is None
    assert incident_of(note("fire", 1.0, "smart_park_", actions=True)) is None
    assert incident_of(note("fire", 1.0, actions=True)) is None


def test_first_callout_and_clear_only_count_what_arrived_after_the_press() -> None:
    received = [
        note("old fire", 1.0, "smart_park_a", actions=True),  # the last trial's
        note("clear_notification", 2.0, "smart_park_a"),
        note("notice", 3.0, "smart_park_notice"),
        note("fire", 4.0, "smart_park_b", actions=True),
        note("fire again", 5.0, "smart_park_b", actions=True),
    ]
    assert first_callout(received, 0) is received[0]
    assert first_callout(received, 2) is received[3]
    assert first_callout(received, 5) is None
    assert cleared(received, 0, "smart_park_a")
    assert not cleared(received, 2, "smart_park_a")
    assert not cleared(received, 0, "smart_park_b")


def test_trial_figures_first_last_phone_and_after_the_bells() -> None:
    result = TrialResult(TRIAL, detect_ms=40.0, bells_ms=50.0, phones_ms=(52.0, 48.0, 61.0))
    assert result.first_ms == 48.0
    assert result.last_ms == 61.0
    assert result.after_bells(result.first_ms) == -2.0  # the push can beat the bells
    assert result.after_bells(result.last_ms) == 11.0
    assert result.after_read(result.last_ms) == 21.0
    missing = TrialResult(TRIAL, detect_ms=None, bells_ms=None, phones_ms=(52.0, None))
    assert missing.first_ms == 52.0
    assert missing.last_ms is None  # a phone that never got it fails the trial's last-phone figure
    assert missing.after_bells(52.0) is None
    assert missing.after_read(52.0) is None
    assert TrialResult(TRIAL, 1.0, 2.0, phones_ms=()).last_ms is None


def test_report_divides_push_by_bells_per_percentile_and_counts_failures() -> None:
    phase = PhaseResult("relay")
    phase.trials = [
        TrialResult(TRIAL, detect_ms=10.0, bells_ms=20.0, phones_ms=(30.0, 40.0)),
        TrialResult(TRIAL, detect_ms=10.0, bells_ms=20.0, phones_ms=(30.0, 40.0)),
        TrialResult(TRIAL, detect_ms=10.0, bells_ms=20.0, phones_ms=(30.0, None)),
    ]
    lines = report_lines(phase)
    rows = {line[:28].strip(): line[28:].split() for line in lines}
    assert rows["bells (linkage baseline)"] == ["3", "0", "20", "20", "20", "20", "20"]
    assert rows["push, last phone"] == ["3", "1", "40", "40", "40", "40", "40"]
    assert rows["last phone - bells"][2:] == ["20", "20", "20", "20", "20"]
    ratios = next(line for line in lines if line.startswith("first phone ÷ bells")).split()[-4:]
    assert ratios == ["1.50x"] * 4
    split = next(line for line in lines if "read -> last phone" in line)
    assert split.split()[-7:] == ["30", "/", "30", "/", "30", "/", "30"]


def test_report_shows_a_dash_when_nothing_completed() -> None:
    phase = PhaseResult("local")
    phase.trials = [TrialResult(TRIAL, detect_ms=None, bells_ms=None, phones_ms=(None,))]
    row = next(line for line in report_lines(phase) if line.startswith("push, first phone"))
    assert row.split()[-5:] == ["-"] * 5
