"""Blind window of a reload: how long the fire-bell linkage cannot act while the park's entry reloads.

A reload (an options *Save*, a profile edit, the ⋮ → Reload menu) unloads the entry, which stops its poll
loops and closes its connections, and sets it up again. Between the two, a pressed call point rings nothing.

* smart_park in a real ``hass`` (set up as ``linkage_latency.py`` does: onboarding, config flow with the
  reference park, default options, safety tier every 0.1 s) against the simulator in this process.
* Per trial, after a random 0-1 s pause (random phase of the polls): stamp ``t0`` and send
  ``POST /api/config/config_entries/entry/<id>/reload`` (its unload starts a few ms later). Until the old
  entry's polls have stopped (its connection to the pressed controller's gateway closes at the simulator)
  its linkage still acts, so the call point is pressed at that moment: the worst case. End = the
  simulator's write after which every bell of that building is on.
  **Blind window = end - t0**: unload start -> linkage active again (bells driven for a call point pressed
  while nothing watched it). The part from the press to the bells is printed too.
* Also printed: when the old polls stopped, the reload round trip (request sent -> answer: unload + set-up)
  and, for comparison, the same presses without a reload.
* ``--slow-reply S`` holds every read of one energy meter per gateway for S seconds, so each reload lands
  on requests in flight (the case of issue #11).
* Between trials: release, ``smart_park.reset_alarm`` (retried until the linkage has seen the release),
  bells off.

Figures are printed, not asserted.
Run: ``.venv/bin/python benchmarks/reload_blind_window.py [--trials N] [--enterprises N] [--slow-reply S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))


from benchmarks._hass_runner import start_smart_park  # noqa: E402
from benchmarks.linkage_latency import (  # noqa: E402
    TRIAL_TIMEOUT,
    BellWatch,
    Group,
    Ours,
    Trial,
    park_document,
    park_groups,
    percentile,
    plan_trials,
)
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402


@dataclass(slots=True)
class Result:
    """One press, with or without a reload, in ms (None: the bells did not all ring within the timeout)."""

    latency_ms: float | None  # unload start (reload request sent) -> bells on; no reload: press -> bells on
    reload_ms: float | None = None  # reload request sent -> answered
    stop_ms: float | None = None  # reload request sent -> the old entry's connection closed (polls stopped)
    pressed_ms: float | None = None  # press (when the old polls stopped) -> bells on


async def _start(ours: Ours, sim: ParkSimulator, raw: dict[str, Any], workdir: Path) -> None:
    """hass with smart_park added through its config flow."""
    first = next(iter(sim.profile.gateways.values()))
    ours.hass, ours.setup_s = await start_smart_park(
        workdir / "ours", "smart_park reload benchmark", raw, first.host, first.port
    )


async def _entry_id(ours: Ours) -> str:
    assert ours.hass is not None
    hass = ours.hass
    async with hass.session.get(
        f"{hass.url}/api/config/config_entries/entry",
        params={"domain": "smart_park"},
        headers={"Authorization": f"Bearer {hass.token}"},
    ) as resp:
        resp.raise_for_status()
        entries = await resp.json()
    return str(entries[0]["entry_id"])


async def _reload(ours: Ours, entry_id: str) -> int:
    """Reload the entry over REST; the monotonic ns at which the answer came (the reload is done)."""
    assert ours.hass is not None
    hass = ours.hass
    async with hass.session.post(
        f"{hass.url}/api/config/config_entries/entry/{entry_id}/reload",
        headers={"Authorization": f"Bearer {hass.token}"},
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"reload refused: {resp.status} {await resp.text()}")
    return time.monotonic_ns()


async def trial_run(
    sim: ParkSimulator, watch: BellWatch, ours: Ours, trial: Trial, group: Group, entry_id: str | None
) -> Result:
    """Pause, (reload +) press, time the last bell on, settle; ``entry_id`` None: no reload."""
    if not watch.all_bells(group, False):
        raise RuntimeError(f"{group.building}: bells not all off before the press")
    await asyncio.sleep(trial.pause)
    gateway = sim.device(trial.device_id).gateway
    old = sim.connection_ids(gateway)
    done = watch.arm(group, trial)
    t0 = time.monotonic_ns()
    stopped: int | None = None
    reload = asyncio.create_task(_reload(ours, entry_id)) if entry_id is not None else None
    if reload is not None:
        # Until the old entry's polls have stopped and closed its connection, its linkage still acts on a
        # press: press at that moment, the start of the window in which nothing reads the call points.
        for _ in range(int(TRIAL_TIMEOUT * 1000)):
            if not old & sim.connection_ids(gateway) or reload.done():
                break
            await asyncio.sleep(0.001)
        stopped = time.monotonic_ns()
    sim.press_call_point(trial.device_id, trial.channel)
    try:
        end: int | None = await asyncio.wait_for(done, TRIAL_TIMEOUT)
    except TimeoutError:
        end = None
    finally:
        watch.disarm()
    returned = await reload if reload is not None else None
    sim.release_call_point(trial.device_id, trial.channel)
    await ours.settle(trial, group, watch)
    return Result(
        latency_ms=None if end is None else (end - t0) / 1e6,
        reload_ms=None if returned is None else (returned - t0) / 1e6,
        stop_ms=None if stopped is None else (stopped - t0) / 1e6,
        pressed_ms=None if end is None else (end - (stopped or t0)) / 1e6,
    )


def _figures(values: list[float]) -> str:
    if not values:
        return "n/a"
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return f"p50 {p50:7.0f}  p95 {p95:7.0f}  max {max(values):7.0f}  (n={len(values)})"


async def run(args: argparse.Namespace, workdir: Path) -> int:
    raw = park_document(args.enterprises)
    profile = parse_profile(raw)
    groups = park_groups(profile)
    rng = random.Random(args.seed)
    sim = ParkSimulator(profile)
    await sim.start()
    ours = Ours()
    try:
        watch = BellWatch(sim)
        print(f"starting hass ({args.enterprises}-enterprise reference park) ...", flush=True)
        await _start(ours, sim, raw, workdir)
        entry_id = await _entry_id(ours)
        if args.slow_reply:
            slowed = {}
            for device in profile.devices.values():
                if device.device_type.type == "energy_meter" and device.gateway not in slowed:
                    slowed[device.gateway] = device.id
                    sim.delay_replies(device.id, args.slow_reply)
            print(f"reads of {', '.join(slowed.values())} held {args.slow_reply} s", flush=True)
        trials = plan_trials(groups, args.trials + 1, rng.randrange(1 << 30))
        baseline = plan_trials(groups, args.baseline, rng.randrange(1 << 30))
        print(
            f"ready after {ours.setup_s:.0f} s; warm-up + {args.trials} reloads, {args.baseline} presses",
            flush=True,
        )
        await trial_run(sim, watch, ours, trials[0], groups[trials[0].building], entry_id)  # warm-up
        reloads = []
        for n, trial in enumerate(trials[1:], 1):
            result = await trial_run(sim, watch, ours, trial, groups[trial.building], entry_id)
            reloads.append(result)
            print(
                f"  reload {n:3d}: unload start -> bells on {result.latency_ms or math.nan:6.0f} ms "
                f"(old polls stopped at {result.stop_ms or math.nan:5.0f} ms), "
                f"reload answered at {result.reload_ms or math.nan:6.0f} ms",
                flush=True,
            )
        plain = [await trial_run(sim, watch, ours, trial, groups[trial.building], None) for trial in baseline]
    finally:
        if ours.hass is not None:
            await ours.hass.stop()
        await sim.stop()

    def column(values: list[float | None]) -> str:
        return _figures([v for v in values if v is not None])

    failed = sum(r.latency_ms is None for r in (*reloads, *plain))
    print()
    print(
        f"Reload blind window, ms; {args.enterprises}-enterprise reference park, default options, "
        f"slow reply {args.slow_reply} s, {len(reloads)} reloads:"
    )
    print(f"  blind window (unload start -> bells on)  {column([r.latency_ms for r in reloads])}")
    print(f"    unload start -> old polls stopped       {column([r.stop_ms for r in reloads])}")
    print(f"    press at polls stopped -> bells on      {column([r.pressed_ms for r in reloads])}")
    print(f"  reload request -> answer                 {column([r.reload_ms for r in reloads])}")
    print(f"  no reload: press -> bells on             {column([r.latency_ms for r in plain])}")
    print(f"  bells not on within {TRIAL_TIMEOUT:.0f} s: {failed}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print."""
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20, help="reloads measured (default 20)")
    parser.add_argument("--baseline", type=int, default=10, help="presses without a reload (default 10)")
    parser.add_argument("--enterprises", type=int, default=40, help="reference park size (default 40)")
    parser.add_argument(
        "--slow-reply", type=float, default=0.2, help="hold one meter's reads per gateway (s)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (hass config and log)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="reload_blind_"))
    try:
        return asyncio.run(run(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
