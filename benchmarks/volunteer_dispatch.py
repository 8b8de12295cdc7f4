"""Volunteer dispatch latency: a call point pressed at the simulator -> the call-out's push at each phone.

smart_park in a real ``hass`` with HA's real ``mobile_app``, against a simulator of the reference park and N
fake companion-app phones (``simulator.phone.FakePhone``), all in this process's event loop, so every stamp is
``time.monotonic`` of this process:

* Set-up: hass started by ``start_smart_park`` (default options) through ``demo/hass.py`` (which lets
  mobile_app load) with ``config:`` and ``mobile_app:``. Per volunteer: an HA user (websocket
  ``config/auth/create`` + ``config/auth_provider/homeassistant/create`` as the admin), the app's login flow
  for a token, a FakePhone registered with a relay ``push_url`` on loopback and the local push channel
  announced, then ``smart_park.set_volunteer`` over REST as the admin (always on duty).
* Trials, in two phases over the same hass and phones: *relay* (no local push channel open, so HA posts to
  each phone's push_url), then *local* (every phone's websocket channel open, confirming each push). Per
  trial: ``time.monotonic_ns()`` right before ``ParkSimulator.press_call_point`` of a random call point; the
  end on each phone is the receive time of its first call-out (a notification with actions) after the press.
  Baseline in the same trial: the linkage's press -> write that turns the building's last bell on (stamped at
  the simulator, as ``linkage_latency.py`` does), and the first read of the pressed call point splits both.
* Between trials: release, ``smart_park.reset_alarm`` (retried while refused), bells off,
  ``smart_park.close_incident`` for the call-out's incident (checked against ``smart_park/incidents/list``),
  every phone's ``clear_notification`` for its tag, then the trial's random 0-1 s pause. One warm-up per phase
  is not counted. Figures are printed, not asserted.
* ``--preload-audit N``: the park starts with an audit log of N entries (the default cap, 10,000, is a full
  log): the steps of past alarms as these trials record them (:func:`audit_history`, from the seed). hass is
  then launched through a script written to the working directory that runs ``demo/hass.py`` with one change:
  the first time the park asks HA's Store for its audit log and ``.storage/smart_park.<entry_id>.audit`` does
  not exist, that file is written (the entry id exists only once the config flow has made the entry) and the
  Store reads it from disk. The run checks over the websocket that the park holds the log's newest entry.

Run: ``.venv/bin/python benchmarks/volunteer_dispatch.py [--trials N] [--volunteers N] [--path relay|local]
[--preload-audit N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import Hass, HassError, process_cpu, start_smart_park  # noqa: E402
from benchmarks.linkage_latency import (  # noqa: E402
    TRIAL_TIMEOUT,
    BellWatch,
    Group,
    LoopLag,
    Ours,
    Summary,
    Trial,
    park_document,
    park_groups,
    percentile,
    plan_trials,
    summarize,
)
from custom_components.smart_park.audit import STORAGE_VERSION as AUDIT_VERSION  # noqa: E402
from custom_components.smart_park.audit import AuditEntry, Category, Source  # noqa: E402
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.phone import FakePhone, Notification  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402

PATHS = ("relay", "local")
TAG_PREFIX = "smart_park_"  # volunteers/messages.py: the call-out's tag is this + the incident id
CLEAR = "clear_notification"
PUSH_TIMEOUT = 15.0  # above mobile_app's 10 s fallback from an unconfirmed local push to the relay
CLEAR_TIMEOUT = 15.0
DEMO_HASS = ROOT / "demo" / "hass.py"
LANGUAGES = ("zh-Hans", "en")


# --- pure helpers ------------------------------------------------------------------------------------------


def incident_of(notification: Notification) -> str | None:
    """The incident id a call-out is for, from its tag; None for anything else."""
    tag = notification.data.get("tag")
    if not notification.actions or not isinstance(tag, str) or not tag.startswith(TAG_PREFIX):
        return None
    return tag.removeprefix(TAG_PREFIX) or None


def first_callout(notifications: Sequence[Notification], start: int) -> Notification | None:
    """The first call-out (a notification with actions for an incident) from index ``start`` on."""
    return next((n for n in notifications[start:] if incident_of(n) is not None), None)


def cleared(notifications: Sequence[Notification], start: int, tag: str) -> bool:
    """Whether a ``clear_notification`` of ``tag`` was received at index ``start`` or later."""
    return any(n.message == CLEAR and n.data.get("tag") == tag for n in notifications[start:])


@dataclass(frozen=True, slots=True)
class TrialResult:
    """One press: stamps relative to it, in ms (None: did not happen within the timeout)."""

    trial: Trial
    detect_ms: float | None  # press -> first read of the pressed call point at the simulator
    bells_ms: float | None  # press -> write that turns the building's last bell on
    phones_ms: tuple[float | None, ...]  # press -> each phone's first call-out
    paths: tuple[str, ...] = ()  # the path each phone's call-out came by
    confirmed: int = 0  # local push call-outs the phones confirmed and HA accepted

    @property
    def first_ms(self) -> float | None:
        """The first phone to get it."""
        done = [v for v in self.phones_ms if v is not None]
        return min(done) if done else None

    @property
    def last_ms(self) -> float | None:
        """The last phone to get it (None if any phone did not)."""
        if not self.phones_ms or any(v is None for v in self.phones_ms):
            return None
        return max(v for v in self.phones_ms if v is not None)

    def after_bells(self, end: float | None) -> float | None:
        """How long after the bells a push arrived (negative: before)."""
        return None if end is None or self.bells_ms is None else end - self.bells_ms

    def after_read(self, end: float | None) -> float | None:
        """From the first read of the call point to ``end``."""
        return None if end is None or self.detect_ms is None else end - self.detect_ms


@dataclass
class PhaseResult:
    """One path's trials and what was seen around them."""

    path: str
    trials: list[TrialResult] = field(default_factory=list)
    wall_s: float = 0.0
    hass_cpu: float = 0.0
    sim_lag_ms: list[float] = field(default_factory=list)

    def series(self) -> dict[str, list[float | None]]:
        """Each row of the report: label -> per-trial ms."""
        t = self.trials
        return {
            "bells (linkage baseline)": [r.bells_ms for r in t],
            "push, first phone": [r.first_ms for r in t],
            "push, last phone": [r.last_ms for r in t],
            "first phone - bells": [r.after_bells(r.first_ms) for r in t],
            "last phone - bells": [r.after_bells(r.last_ms) for r in t],
        }

    def write_csv(self, path: Path) -> None:
        """One row per trial, for a closer look (--keep)."""
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["building", "device_id", "channel", "detect_ms", "bells_ms", "phones_ms", "paths"]
            )
            for r in self.trials:
                phones = " ".join("" if v is None else f"{v:.3f}" for v in r.phones_ms)
                cells = ("" if v is None else f"{v:.3f}" for v in (r.detect_ms, r.bells_ms))
                writer.writerow(
                    [r.trial.building, r.trial.device_id, r.trial.channel, *cells, phones, " ".join(r.paths)]
                )

    def split(self) -> dict[str, list[float | None]]:
        """Press -> first read of the call point, and that read -> bells / first / last phone."""
        t = self.trials
        return {
            "press -> first read of it": [r.detect_ms for r in t],
            "read -> bells on": [r.after_read(r.bells_ms) for r in t],
            "read -> first phone": [r.after_read(r.first_ms) for r in t],
            "read -> last phone": [r.after_read(r.last_ms) for r in t],
        }


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else str(round(value))  # round(): no "-0"


def _row(label: str, s: Summary) -> str:
    return f"{label:<28}{s.trials:>7}{s.failures:>6}" + "".join(
        f"{_ms(v):>8}" for v in (*s.percentiles, s.mean)
    )


def report_lines(result: PhaseResult) -> list[str]:
    """The table of one path: latencies, push ÷ bells per percentile, and where the time goes."""
    head = f"{'ms':<28}{'trials':>7}{'fail':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'mean':>8}"
    lines = [f"{result.path}:", head, "-" * len(head)]
    summaries = {label: summarize(values) for label, values in result.series().items()}
    lines += [_row(label, s) for label, s in summaries.items()]
    bells = summaries["bells (linkage baseline)"]
    for which in ("first", "last"):
        push = summaries[f"push, {which} phone"]
        ratios = [p / b if b else math.nan for p, b in zip(push.percentiles, bells.percentiles, strict=True)]
        lines.append(f"{f'{which} phone ÷ bells':<41}" + "".join(f"{r:>7.2f}x" for r in ratios))
    lines.append("-" * len(head))
    lines.append("Where the time goes (p50 / p95 / p99 / max):")
    for label, values in result.split().items():
        s = summarize(values)
        lines.append(f"  {label:<28}" + " / ".join(_ms(v) for v in s.percentiles))
    return lines


# --- a preloaded audit log ---------------------------------------------------------------------------------

ALARM_INTERVAL = timedelta(hours=2)  # between the past alarms of the history
ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # an HA context id is a ULID


# What each step of an alarm is: its category and source (a user's: the duty officer's, with a context id).
STEP_KINDS: dict[str, tuple[Category, Source]] = {
    "input": (Category.LINKAGE, Source.FIELD),
    "open_incident": (Category.INCIDENT, Source.FIELD),
    "notification_sent": (Category.VOLUNTEER, Source.SYSTEM),
    "notification_pending": (Category.VOLUNTEER, Source.SYSTEM),
    "rollcall_dispatched": (Category.VOLUNTEER, Source.SYSTEM),
    "notification_confirmed": (Category.VOLUNTEER, Source.SYSTEM),
    "reset": (Category.LINKAGE, Source.USER),
    "close_incident": (Category.INCIDENT, Source.USER),
    "rollcall_ended": (Category.VOLUNTEER, Source.SYSTEM),
}


class Step(NamedTuple):
    """One audit entry of a past alarm, before it has a number and a time."""

    after_s: float  # after the press
    action: str  # a key of STEP_KINDS
    target: str
    data: dict[str, Any]


def alarm_steps(
    incident: str, point: tuple[str, str, int], volunteers: Sequence[str], local: bool
) -> list[Step]:
    """What one trial records: the linkage's input, the incident, the call-out by one path, reset and close.

    The stored forms are those of a real run of this benchmark (its --keep working directory); the duty
    officer resets and closes minutes later.
    """
    building, device_id, channel = point
    path = "local" if local else "relay"

    def each_phone(after_s: float, action: str) -> list[Step]:
        return [Step(after_s, action, incident, {"volunteer": v, "path": path}) for v in volunteers]

    opened = {"kind": "fire", "origin": f"linkage:{building}", "building": building, "floor": channel}
    asked = len(volunteers)
    ended: dict[str, Any] = {"asked": asked, "confirmed": asked if local else 0, "on_my_way": 0}
    ended |= {"cannot_come": 0, "arrived": 0, "quorum": asked, "quorum_reached": False, "steps": []}
    return [
        Step(
            0.0,
            "input",
            building,
            {"old": "normal", "new": "alarm", "inputs": [f"{device_id}.call_point_{channel}"]},
        ),
        Step(0.001, "open_incident", incident, {**opened, "enterprise": None}),
        *each_phone(0.010, "notification_pending" if local else "notification_sent"),
        Step(0.012, "rollcall_dispatched", incident, {"asked": list(volunteers), "everyone": False}),
        *(each_phone(0.020, "notification_confirmed") if local else []),
        Step(180.0, "reset", building, {"old": "alarm", "new": "normal", "inputs": []}),
        Step(240.0, "close_incident", incident, {"kind": "fire"}),
        Step(
            240.005, "rollcall_ended", incident, {**ended, "first_on_my_way_s": None, "first_arrival_s": None}
        ),
    ]


def audit_history(
    count: int, park_id: str, points: Sequence[tuple[str, str, int]], seed: int, end: datetime
) -> dict[str, Any]:
    """The audit Store's data for a park that has logged past alarms (every ``ALARM_INTERVAL`` up to ``end``).

    The newest ``count`` entries are kept, numbered as the log numbers them; the older ones count as pruned.
    Alarms alternate between the relay and local push, at random ``points`` (building, device, channel),
    with three volunteers and one duty officer.
    """
    rng = random.Random(seed)
    volunteers = [rng.randbytes(16).hex() for _ in range(3)]
    operator = rng.randbytes(16).hex()
    alarms: list[list[Step]] = []
    steps = 0
    while steps < count:
        number = len(alarms) + 1
        alarms.append(alarm_steps(f"{park_id}-i{number}", rng.choice(points), volunteers, number % 2 == 0))
        steps += len(alarms[-1])
    timed = [
        (end - (len(alarms) - index) * ALARM_INTERVAL + timedelta(seconds=step.after_s), step)
        for index, alarm in enumerate(alarms)
        for step in alarm
    ]
    kept = timed[len(timed) - count :]
    pruned = len(timed) - len(kept)
    entries = []
    for seq, (at, step) in enumerate(kept, pruned + 1):
        category, source = STEP_KINDS[step.action]
        by_user = source is Source.USER
        entry = AuditEntry(
            id=f"{park_id}-a{seq}",
            seq=seq,
            at=at,
            category=category,
            action=step.action,
            source=source,
            user_id=operator if by_user else None,
            target=step.target,
            context_id="".join(rng.choices(ULID_CHARS, k=26)) if by_user else None,
            data=step.data,
        )
        entries.append(entry.as_dict())
    return {"seq": pruned + len(kept), "pruned": pruned, "entries": entries}


# Runs demo/hass.py (which lets mobile_app load) after one change to HA's Store: the first load of a park's
# audit log with no file writes HISTORY's there (and drops HA's start-up list of files, taken before it
# existed), so the Store reads it from disk. HISTORY and DEMO are assigned above this text.
LAUNCHER = """
import json
import re
import runpy
from pathlib import Path

from homeassistant.helpers import storage

AUDIT_KEY = re.compile(r"smart_park\\.[^.]+\\.audit")
_load = storage.Store.async_load


def _install(store):
    path = Path(store.path)
    if not path.exists():
        document = json.loads(Path(HISTORY).read_text(encoding="utf-8"))
        path.write_text(json.dumps({**document, "key": store.key}), encoding="utf-8")


async def _async_load(self):
    if AUDIT_KEY.fullmatch(self.key):
        await self.hass.async_add_executor_job(_install, self)
        storage.get_internal_store_manager(self.hass).async_invalidate(self.key)
    return await _load(self)


storage.Store.async_load = _async_load
runpy.run_path(DEMO, run_name="__main__")
"""


def launcher_script(history: Path, demo: Path) -> str:
    """The text of the hass launcher that preloads the audit log from ``history`` (a Store document)."""
    header = '"""hass with a preloaded audit log (volunteer_dispatch.py --preload-audit)."""\n\n'
    return f"{header}HISTORY = {str(history)!r}\nDEMO = {str(demo)!r}\n{LAUNCHER}"


def write_preload(
    workdir: Path, count: int, park_id: str, groups: dict[str, Group], seed: int
) -> tuple[Path, dict[str, Any]]:
    """The history document and its launcher in ``workdir``: the launcher's path and the newest entry."""
    points = [(g.building, d, ch) for g in groups.values() for d, ch in g.call_points]
    data = audit_history(count, park_id, points, seed, datetime.now(UTC))
    history = workdir / "audit_history.json"
    document = {"version": AUDIT_VERSION, "minor_version": 1, "data": data}
    history.write_text(json.dumps(document), encoding="utf-8")
    print(f"audit log preloaded: {count} entries, {history.stat().st_size / 1e6:.1f} MB as JSON", flush=True)
    launcher = workdir / "hass_preloaded.py"
    launcher.write_text(launcher_script(history, DEMO_HASS), encoding="utf-8")
    return launcher, data["entries"][-1]


async def check_preload(hass: Hass, newest: dict[str, Any]) -> None:
    """Fail unless the park loaded the preloaded log: it holds the history's newest entry."""
    command = {"type": "smart_park/audit/list", "after_seq": newest["seq"] - 1}
    held = (await ws_call(hass, hass.token, command))["entries"]
    if not held or held[0]["id"] != newest["id"]:
        raise HassError(f"the park did not load the preloaded audit log; see {hass.log}")


# --- set-up: users, phones, roster -------------------------------------------------------------------------


async def ws_call(hass: Hass, token: str, command: dict[str, Any]) -> Any:
    """One websocket command as ``token``'s user; its result."""
    async with hass.session.ws_connect(f"{hass.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise HassError("hass refused a websocket token")
        await ws.send_json({"id": 1, **command})
        reply = await ws.receive_json()
    if not reply.get("success"):
        raise HassError(f"websocket {command['type']}: {reply.get('error')}")
    return reply.get("result")


async def login(hass: Hass, username: str, password: str) -> str:
    """The app's login flow as that user, then a long-lived token (the run may outlast an access token)."""
    client_id = f"{hass.url}/"
    base = f"{hass.url}/auth/login_flow"
    flow_body = {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id}
    async with hass.session.post(base, json=flow_body) as resp:
        flow = await resp.json()
    credentials = {"client_id": client_id, "username": username, "password": password}
    async with hass.session.post(f"{base}/{flow['flow_id']}", json=credentials) as resp:
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise HassError(f"login of {username} refused: {result.get('errors')}")
    form = {"grant_type": "authorization_code", "code": result["result"], "client_id": client_id}
    async with hass.session.post(f"{hass.url}/auth/token", data=form) as resp:
        resp.raise_for_status()
        access: str = (await resp.json())["access_token"]
    command = {"type": "auth/long_lived_access_token", "client_name": "phone", "lifespan": 1}
    return str(await ws_call(hass, access, command))


async def add_volunteers(hass: Hass, count: int) -> list[FakePhone]:
    """``count`` HA users, each with a registered phone, on the roster (always on duty)."""
    phones: list[FakePhone] = []
    try:
        for index in range(1, count + 1):
            username, password = f"volunteer{index}", secrets.token_urlsafe(16)
            created = await ws_call(
                hass,
                hass.token,
                {"type": "config/auth/create", "name": f"Volunteer {index}", "group_ids": ["system-users"]},
            )
            user_id = created["user"]["id"]
            await ws_call(
                hass,
                hass.token,
                {
                    "type": "config/auth_provider/homeassistant/create",
                    "user_id": user_id,
                    "username": username,
                    "password": password,
                },
            )
            phone = FakePhone()
            phones.append(phone)
            await phone.register(
                hass.url, await login(hass, username, password), device_name=f"phone {index}"
            )
            volunteer = {"user_id": user_id, "name": f"Volunteer {index}", "role": "volunteer"}
            volunteer["language"] = LANGUAGES[index % len(LANGUAGES)]
            status, body = await hass.call_service("smart_park", "set_volunteer", volunteer)
            if status != 200:
                raise HassError(f"set_volunteer: {status} {body}")
    except BaseException:
        for phone in phones:
            await phone.close()
        raise
    return phones


# --- trials ------------------------------------------------------------------------------------------------


async def _callout(phone: FakePhone, start: int) -> Notification | None:
    try:
        return await phone.wait_until(lambda: first_callout(phone.notifications, start), PUSH_TIMEOUT)
    except TimeoutError:
        return None


async def _cleared(phone: FakePhone, start: int, tag: str) -> None:
    """Wait for the phone's ``clear_notification`` of ``tag`` (the roll-call ended)."""
    await phone.wait_until(lambda: cleared(phone.notifications, start, tag), CLEAR_TIMEOUT)


async def close_incident(hass: Hass, incident_id: str | None, trial: Trial) -> None:
    """Close the trial's fire incident (and any other open one, so the next press opens a new one)."""
    listed = await ws_call(hass, hass.token, {"type": "smart_park/incidents/list", "include_closed": False})
    open_ids = {str(i["id"]): i for i in listed["incidents"]}
    if incident_id is not None:
        mine = open_ids.get(incident_id)
        if mine is None or mine.get("kind") != "fire" or mine.get("building") != trial.building:
            raise HassError(f"the call-out's incident is not the open fire of {trial.building}: {mine}")
    for open_id in open_ids:
        status, body = await hass.call_service("smart_park", "close_incident", {"incident_id": open_id})
        if status != 200:
            raise HassError(f"close_incident: {status} {body}")


async def run_trial(
    sim: ParkSimulator, watch: BellWatch, ours: Ours, phones: Sequence[FakePhone], trial: Trial, group: Group
) -> TrialResult:
    """Pause, press, time the bells and every phone's call-out, then bring the park and phones to quiet."""
    assert ours.hass is not None
    await asyncio.sleep(trial.pause)
    starts = [len(p.notifications) for p in phones]
    done = watch.arm(group, trial)
    pressed = time.monotonic_ns()
    sim.press_call_point(trial.device_id, trial.channel)
    pushes = asyncio.gather(*(_callout(p, s) for p, s in zip(phones, starts, strict=True)))
    try:
        bells: int | None = await asyncio.wait_for(done, TRIAL_TIMEOUT)
    except TimeoutError:
        bells = None
    finally:
        seen = watch.seen_ns
        watch.disarm()
    callouts = await pushes
    sim.release_call_point(trial.device_id, trial.channel)
    await ours.settle(trial, group, watch)
    incidents = {incident_of(n) for n in callouts if n is not None}
    if len(incidents) > 1:
        raise HassError(f"the phones got call-outs of different incidents: {sorted(map(str, incidents))}")
    incident_id = next(iter(incidents), None)
    await close_incident(ours.hass, incident_id, trial)
    if incident_id is not None:
        for phone, start in zip(phones, starts, strict=True):
            await _cleared(phone, start, TAG_PREFIX + incident_id)
    return TrialResult(
        trial,
        detect_ms=None if seen is None else (seen - pressed) / 1e6,
        bells_ms=None if bells is None else (bells - pressed) / 1e6,
        phones_ms=tuple(None if n is None else (n.received * 1e9 - pressed) / 1e6 for n in callouts),
        paths=tuple("-" if n is None else n.path for n in callouts),
        confirmed=sum(1 for n in callouts if n is not None and n.confirmed),
    )


async def run_phase(
    path: str,
    sim: ParkSimulator,
    watch: BellWatch,
    ours: Ours,
    phones: Sequence[FakePhone],
    plan: tuple[Trial, Sequence[Trial]],
    groups: dict[str, Group],
) -> PhaseResult:
    """Open (local) or close (relay) every phone's local push channel, a warm-up, then the trials."""
    assert ours.hass is not None
    for phone in phones:
        if path == "local":
            await phone.connect_local_push(confirm=True)
        else:
            await phone.disconnect_local_push()
    warm_up, trials = plan
    result = PhaseResult(path)
    print(f"{path}: warm-up + {len(trials)} trials", flush=True)
    first = await run_trial(sim, watch, ours, phones, warm_up, groups[warm_up.building])
    if first.last_ms is None:
        raise HassError(f"warm-up: not every phone got the call-out ({first.paths}); see {ours.hass.log}")
    lag = LoopLag()
    lag.start()
    started, cpu0 = time.monotonic(), process_cpu(ours.hass.pid)
    for index, trial in enumerate(trials, 1):
        ours.hass.check_alive()
        result.trials.append(await run_trial(sim, watch, ours, phones, trial, groups[trial.building]))
        if index % 20 == 0 or index == len(trials):
            done = [r.last_ms for r in result.trials if r.last_ms is not None]
            print(
                f"  {index:>4}/{len(trials)}  last phone p50 so far {percentile(done, 50):.0f} ms", flush=True
            )
    result.wall_s = time.monotonic() - started
    result.hass_cpu = (process_cpu(ours.hass.pid) - cpu0) / result.wall_s
    await lag.stop()
    result.sim_lag_ms = lag.lags_ms
    return result


# --- main --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=60, help="measured presses per path (default 60)")
    parser.add_argument("--volunteers", type=int, default=3, help="volunteers, one phone each (default 3)")
    parser.add_argument(
        "--path", choices=(*PATHS, "both"), default="both", help="push path(s) (default both)"
    )
    parser.add_argument("--enterprises", type=int, default=200, help="reference park size (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the call points and pauses (default 1)")
    parser.add_argument(
        "--preload-audit",
        type=int,
        default=0,
        metavar="N",
        help="start the park with an audit log of N entries of past alarms (default 0; 10000 is full)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory (hass config and log, CSVs)"
    )
    return parser


def print_report(args: argparse.Namespace, results: Sequence[PhaseResult], refusals: int) -> None:
    """Everything a reader needs to interpret the tables."""
    print()
    print(
        f"Volunteer dispatch: {args.enterprises}-enterprise reference park, {args.volunteers} volunteers "
        "(one phone each, always on duty), smart_park default options, audit log preloaded with "
        f"{args.preload_audit} entries."
    )
    print(
        "ms from the call point pressed at the simulator to: the building's last bell on (the linkage, "
        "stamped at the simulator's write) and each phone's first call-out (stamped at the fake phone). "
        "'- bells' rows are per trial: how long after the bells the push arrived."
    )
    for result in results:
        print()
        for line in report_lines(result):
            print(line)
        paths = sorted({p for r in result.trials for p in r.paths})
        sent = sum(len(r.paths) for r in result.trials)
        lag = result.sim_lag_ms
        print(
            f"  call-outs came by {', '.join(paths)}; {sum(r.confirmed for r in result.trials)}/{sent} "
            f"confirmed over local push; hass used {result.hass_cpu:.0%} of a CPU over {result.wall_s:.0f} s;"
            " "
            f"this loop's (simulator + phones) lag p99 {_ms(percentile(lag, 99))} ms, "
            f"max {_ms(max(lag, default=math.nan))} ms"
        )
    print()
    print(
        f"Percentiles interpolate linearly between closest ranks; seed {args.seed}; one uncounted warm-up"
        f" per path; reset_alarm refused {refusals} times while the release was not yet polled (retried)."
    )


async def run(args: argparse.Namespace) -> int:
    """Start the park, hass and phones, measure each path, print the report."""
    raw = park_document(args.enterprises)
    profile = parse_profile(raw)
    groups = park_groups(profile)
    warm_up, *trials = plan_trials(groups, args.trials + 1, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="smart_park_volunteers_"))
    print(
        f"Smart Park Hub volunteer dispatch: {args.enterprises} enterprises, {args.volunteers} volunteers, "
        f"{args.trials} trials per path",
        flush=True,
    )
    launcher: Path = DEMO_HASS
    newest: dict[str, Any] | None = None
    if args.preload_audit > 0:
        launcher, newest = write_preload(workdir, args.preload_audit, profile.id, groups, args.seed)
    sim = ParkSimulator(profile)
    await sim.start()
    ours = Ours()
    phones: list[FakePhone] = []
    results: list[PhaseResult] = []
    try:
        watch = BellWatch(sim)
        gateway = next(iter(profile.gateways.values()))
        ours.hass, setup_s = await start_smart_park(
            workdir / "hass",
            "smart_park volunteer benchmark",
            raw,
            gateway.host,
            gateway.port,
            extra={"config": None, "mobile_app": None},
            launcher=launcher,
        )
        if newest is not None:
            await check_preload(ours.hass, newest)
        print(f"hass ready after {setup_s:.0f} s; adding {args.volunteers} volunteers", flush=True)
        phones = await add_volunteers(ours.hass, args.volunteers)
        for path in PATHS if args.path == "both" else (args.path,):
            results.append(await run_phase(path, sim, watch, ours, phones, (warm_up, trials), groups))
    finally:
        for phone in phones:
            await phone.close()
        if ours.hass is not None:
            await ours.hass.stop()
        await sim.stop()
        if args.keep:
            for result in results:
                result.write_csv(workdir / f"{result.path}_trials.csv")
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(args, results, ours.refusals)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.preload_audit < 0:
        parser.error("--preload-audit: 0 or more entries")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
