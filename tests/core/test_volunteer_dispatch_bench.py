"""The volunteer-dispatch benchmark's pure parts: call-outs and clears, per-trial figures, the report, the
preloaded audit log and the launcher that puts it in place."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.linkage_latency import Trial
from benchmarks.volunteer_dispatch import (
    ALARM_INTERVAL,
    PhaseResult,
    TrialResult,
    alarm_steps,
    audit_history,
    cleared,
    first_callout,
    incident_of,
    launcher_script,
    report_lines,
)
from custom_components.smart_park.audit import AuditEntry, Category, Source
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


# --- the preloaded audit log ----------------------------------------------------------------------------

POINTS = [("b1", "b1_fire_bells", 3), ("b2", "b2_fire_bells", 7)]
END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
VOLUNTEERS = ("v1", "v2", "v3")


def test_an_alarm_records_what_a_trial_records_by_its_path() -> None:
    relay = alarm_steps("park-i1", POINTS[1], VOLUNTEERS, local=False)
    local = alarm_steps("park-i2", POINTS[1], VOLUNTEERS, local=True)
    assert [s.action for s in relay] == [
        "input", "open_incident", *["notification_sent"] * 3, "rollcall_dispatched",
        "reset", "close_incident", "rollcall_ended",
    ]  # fmt: skip
    assert [s.action for s in local] == [
        "input", "open_incident", *["notification_pending"] * 3, "rollcall_dispatched",
        *["notification_confirmed"] * 3, "reset", "close_incident", "rollcall_ended",
    ]  # fmt: skip
    assert relay[0].target == "b2"
    assert relay[0].data["inputs"] == ["b2_fire_bells.call_point_7"]
    assert relay[1].data == {
        "kind": "fire", "origin": "linkage:b2", "building": "b2", "floor": 7, "enterprise": None,
    }  # fmt: skip
    assert {s.data["volunteer"] for s in local if s.action == "notification_confirmed"} == set(VOLUNTEERS)
    assert relay[-1].data["confirmed"] == 0
    assert local[-1].data["confirmed"] == 3
    assert [s.after_s for s in local] == sorted(s.after_s for s in local)


def test_audit_history_is_a_full_log_numbered_as_the_park_numbers_it() -> None:
    history = audit_history(1000, "park", POINTS, seed=1, end=END)
    entries = history["entries"]
    assert len(entries) == 1000
    assert history["seq"] == entries[-1]["seq"]
    assert [e["seq"] for e in entries] == list(range(history["pruned"] + 1, history["seq"] + 1))
    assert 0 < history["pruned"] < 12  # only the oldest alarm's first steps are cut off
    assert all(e["id"] == f"park-a{e['seq']}" for e in entries)
    parsed = [AuditEntry.from_dict(e) for e in entries]  # the stored form the park reads back
    assert [e.as_dict() for e in parsed] == entries
    times = [e.at for e in parsed]
    assert times == sorted(times)
    assert END - ALARM_INTERVAL < times[-1] < END
    actions = Counter(e.action for e in parsed)
    assert actions["open_incident"] == actions["close_incident"] == actions["input"]
    assert actions["notification_sent"] == 3 * (actions["open_incident"] // 2)  # half the alarms by relay
    assert {e.category for e in parsed} == {Category.LINKAGE, Category.INCIDENT, Category.VOLUNTEER}
    assert {e.target for e in parsed if e.category is Category.LINKAGE} == {"b1", "b2"}
    by_user = [e for e in parsed if e.source is Source.USER]
    assert {e.action for e in by_user} == {"reset", "close_incident"}
    assert len({e.user_id for e in by_user}) == 1
    assert all(e.context_id is not None and len(e.context_id) == 26 for e in by_user)
    assert all(e.user_id is None and e.context_id is None for e in parsed if e.source is not Source.USER)


def test_audit_history_is_reproducible_from_its_seed() -> None:
    assert audit_history(300, "park", POINTS, 1, END) == audit_history(300, "park", POINTS, 1, END)
    assert audit_history(300, "park", POINTS, 1, END) != audit_history(300, "park", POINTS, 2, END)
    later = audit_history(300, "park", POINTS, 1, END + timedelta(days=1))["entries"]
    assert [e["data"] for e in later] == [
        e["data"] for e in audit_history(300, "park", POINTS, 1, END)["entries"]
    ]
    assert audit_history(0, "park", POINTS, 1, END) == {"seq": 0, "pruned": 0, "entries": []}


def test_launcher_writes_the_history_as_a_missing_audit_file_for_has_store(tmp_path: Path) -> None:
    """The launcher's hook on HA's real Store, in a child process: only a missing audit file is written."""
    history = tmp_path / "history.json"
    data = audit_history(20, "park", POINTS, 1, END)
    history.write_text(json.dumps({"version": 1, "minor_version": 1, "data": data}), encoding="utf-8")
    config = tmp_path / "config"
    (config / ".storage").mkdir(parents=True)
    kept = {"seq": 1, "pruned": 0, "entries": []}
    stored = {"version": 1, "minor_version": 1, "key": "smart_park.e2.audit", "data": kept}
    (config / ".storage" / "smart_park.e2.audit").write_text(json.dumps(stored), encoding="utf-8")
    demo = (
        tmp_path / "demo.py"
    )  # stands in for demo/hass.py: loads some stores with HA's Store and prints them
    demo.write_text(
        "import asyncio, json, sys\n"
        "from homeassistant.core import HomeAssistant\n"
        "from homeassistant.helpers.storage import Store\n"
        "async def main():\n"
        "    hass = HomeAssistant(sys.argv[1])\n"
        "    print(json.dumps({k: await Store(hass, 1, k).async_load() for k in sys.argv[2:]}))\n"
        "asyncio.run(main())\n",
        encoding="utf-8",
    )
    launcher = tmp_path / "launcher.py"
    launcher.write_text(launcher_script(history, demo), encoding="utf-8")
    keys = ["smart_park.e1.audit", "smart_park.e2.audit", "smart_park.e1.incidents"]
    done = subprocess.run(
        [sys.executable, str(launcher), str(config), *keys],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded == {
        "smart_park.e1.audit": data,
        "smart_park.e2.audit": kept,
        "smart_park.e1.incidents": None,
    }
    written = json.loads((config / ".storage" / "smart_park.e1.audit").read_text(encoding="utf-8"))
    assert written == {"version": 1, "minor_version": 1, "key": "smart_park.e1.audit", "data": data}
    assert not (config / ".storage" / "smart_park.e1.incidents").exists()
