"""hass CPU polling the whole reference park at default tiers: ours (smart_park) against core ``modbus``.

One simulator subprocess serves the reference park (default 200 enterprises) on loopback. Then, ``--rounds``
times, alternately:

* ours: a fresh ``hass`` with smart_park added through its config flow (default options: tiers 0.1 / 0.25 /
  5 / 60 s, every point an entity);
* core: a fresh ``hass`` with HA core's ``modbus`` configured from generated YAML, one hub per gateway and one
  sensor / binary_sensor per point (as a user would write it) at the fastest intervals core offers for each
  tier: 1 / 1 / 5 / 60 s (whole seconds; core cannot poll at 0.1 or 0.25 s).

Both hass instances have the same configuration besides (http, api, onboarding, no recorder, no
default_config). After a settle time the hass process's utime+stime (``/proc/PID/stat``) is read over
``--window`` seconds: CPU % of one core = CPU seconds / wall seconds. Requests/s come from the simulator's
counters over the same window. The 2-core host is shared: compare ours and core of the same round.

``--profile`` runs ours' hass under benchmarks/_profiled_hass.py and prints where its CPU went during the
windows (cProfile timed by thread CPU time); the dumps stay in the working directory.

Run: ``.venv/bin/python benchmarks/hass_cpu.py [--enterprises N] [--window S] [--rounds N] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import (  # noqa: E402
    Hass,
    child,
    free_ports,
    hass_configuration,
    process_cpu,
    start_smart_park,
)
from benchmarks.polling import CORE_INTERVAL, TIERS, Control, core_configuration  # noqa: E402
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402

PROFILED_HASS = ROOT / "benchmarks" / "_profiled_hass.py"
PROFILE_ENV = "SMART_PARK_PROFILE_OUT"
SETTLE_S = 15.0  # after the entry loaded (or core's hass answered): set-up work is not the window's


@dataclass(slots=True)
class Sample:
    """One side's figures in one round."""

    cpu: float = math.nan  # CPU seconds per wall second
    requests_per_s: float = math.nan
    entities: int = 0
    setup_s: float = 0.0


@dataclass(slots=True)
class Round:
    """Ours and core, measured back to back."""

    ours: Sample = field(default_factory=Sample)
    core: Sample = field(default_factory=Sample)
    before: Sample | None = None  # --before: another copy of smart_park, same park and settings


def core_park_configuration(raw: dict[str, Any], http_port: int) -> tuple[dict[str, Any], int]:
    """configuration.yaml for core modbus polling every point of the park; also the entity count."""
    profile = parse_profile(raw)
    hubs: dict[str, dict[str, Any]] = {}
    entities = 0
    for tier in TIERS:
        config, count = core_configuration(profile, tier, CORE_INTERVAL[tier])
        entities += count
        for hub in config["modbus"]:
            merged = hubs.setdefault(hub["name"], {k: hub[k] for k in ("name", "type", "host", "port")})
            for key in ("sensors", "binary_sensors"):
                merged.setdefault(key, []).extend(hub.get(key, []))
    return hass_configuration("core modbus hass CPU", http_port, {"modbus": list(hubs.values())}), entities


def profile_lines(paths: list[Path], top: int = 35) -> list[str]:
    """The profiled windows' functions by own and by cumulative CPU time (pstats' report)."""
    stream = io.StringIO()
    stats = pstats.Stats(*(str(p) for p in paths), stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top + 25)
    return stream.getvalue().splitlines()


async def _window(
    hass: Hass, control: Control, window: float, profile: Path | None = None
) -> tuple[float, float]:
    """(CPU s per wall s, requests/s) of ``hass`` over ``window`` seconds; ``profile``: its cProfile dump."""
    if profile is not None:
        os.kill(hass.pid, signal.SIGUSR1)
    control.reset()
    started, cpu0 = time.monotonic(), process_cpu(hass.pid)
    await asyncio.sleep(window)
    hass.check_alive()
    wall = time.monotonic() - started
    cpu, requests = process_cpu(hass.pid) - cpu0, control.total()
    if profile is not None:
        os.kill(hass.pid, signal.SIGUSR2)
        for _ in range(100):  # the dump is written by the signal handler
            if profile.exists():
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # let the dump finish
    return cpu / wall, requests / wall


async def measure_ours(
    raw: dict[str, Any],
    control: Control,
    window: float,
    workdir: Path,
    profile: Path | None = None,
    component: Path | None = None,
) -> Sample:
    """smart_park (``component``: another copy) in a fresh hass, added by its config flow, default options."""
    sample = Sample(entities=sum(len(d.points) for d in parse_profile(raw).devices.values()))
    first = raw["gateways"][0]
    if profile is not None:
        os.environ[PROFILE_ENV] = str(profile)  # where the launcher dumps when SIGUSR2 comes
    hass, sample.setup_s = await start_smart_park(
        workdir,
        "smart_park hass CPU",
        raw,
        first["host"],
        int(first["port"]),
        launcher=PROFILED_HASS if profile is not None else None,
        component=component,
    )
    try:
        await asyncio.sleep(SETTLE_S)
        sample.cpu, sample.requests_per_s = await _window(hass, control, window, profile)
    finally:
        await hass.stop()
    return sample


async def measure_core(raw: dict[str, Any], control: Control, window: float, workdir: Path) -> Sample:
    """Core modbus in a fresh hass polling every point of the park."""
    (http_port,) = free_ports(1)
    configuration, entities = core_park_configuration(raw, http_port)
    hass = Hass(workdir, configuration, core_modbus_shim=True)
    sample = Sample(entities=entities)
    try:
        sample.setup_s = await hass.start()
        await asyncio.sleep(SETTLE_S)
        sample.cpu, sample.requests_per_s = await _window(hass, control, window)
    finally:
        await hass.stop()
    return sample


def report(rounds: list[Round], raw: dict[str, Any], window: float) -> list[str]:
    """One line per round, ours ÷ core."""
    profile = parse_profile(raw)
    points = sum(len(d.points) for d in profile.devices.values())
    lines = [
        f"Park: {len(profile.enterprises)} enterprises, {len(profile.gateways)} gateways, "
        f"{len(profile.devices)} devices, {points} points; window {window:g} s per side",
        "",
        f"{'round':<7}{'ours CPU %':>11}{'core CPU %':>11}{'ours ÷ core':>12}"
        f"{'ours req/s':>12}{'core req/s':>12}{'ours setup s':>13}{'core setup s':>13}",
    ]
    for index, r in enumerate(rounds, 1):
        lines.append(
            f"{index:<7}{100 * r.ours.cpu:>11.1f}{100 * r.core.cpu:>11.1f}"
            f"{_ratio(r.ours.cpu, r.core.cpu):>12}"
            f"{r.ours.requests_per_s:>12.0f}{r.core.requests_per_s:>12.0f}"
            f"{r.ours.setup_s:>13.0f}{r.core.setup_s:>13.0f}"
        )
    if any(r.before is not None for r in rounds):
        lines += [
            "",
            f"{'round':<7}{'before CPU %':>13}{'ours CPU %':>11}{'ours ÷ before':>14}{'before req/s':>13}",
        ]
        for index, r in enumerate(rounds, 1):
            if (before := r.before) is not None:
                lines.append(
                    f"{index:<7}{100 * before.cpu:>13.1f}{100 * r.ours.cpu:>11.1f}"
                    f"{_ratio(r.ours.cpu, before.cpu):>14}{before.requests_per_s:>13.0f}"
                )
    lines += [
        "",
        "  * CPU % = the hass process's utime+stime over the window / the window (100 % = one core).",
        "  * ours: default tiers 0.1 / 0.25 / 5 / 60 s; core: 1 / 1 / 5 / 60 s (whole seconds, its fastest),",
        f"    {rounds[0].core.entities if rounds else 0} entities, one read per entity per scan interval.",
        "  * both: a fresh hass (http, api, onboarding; no recorder), measured after a settle time; the",
        "    simulator is another process. The host is shared: compare within a round.",
    ]
    return lines


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and math.isfinite(value) and math.isfinite(base) else "-"


async def run_rounds(args: argparse.Namespace, raw: dict[str, Any], control: Control, workdir: Path) -> int:
    """Measure, print the table (and the profile)."""
    profiles: list[Path] = []
    rounds: list[Round] = []
    for index in range(1, args.rounds + 1):
        result = Round()
        print(f"round {index}: ours ...", flush=True)
        profile = workdir / f"ours_{index}.prof" if args.profile else None
        result.ours = await measure_ours(raw, control, args.window, workdir / f"ours_{index}", profile)
        profiles += [profile] if profile is not None else []
        if args.before is not None:
            print(f"round {index}: ours before ({args.before}) ...", flush=True)
            result.before = await measure_ours(
                raw, control, args.window, workdir / f"before_{index}", component=args.before
            )
        if not args.no_core:
            print(f"round {index}: core modbus ...", flush=True)
            result.core = await measure_core(raw, control, args.window, workdir / f"core_{index}")
        rounds.append(result)
    print()
    print("\n".join(report(rounds, raw, args.window)))
    if profiles:
        print()
        print("ours' CPU under cProfile (CPU time; its overhead inflates ours' CPU % above):")
        print("\n".join(profile_lines(profiles)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, help="reference park size (default 200; --quick 40)")
    parser.add_argument("--window", type=float, help="seconds measured per side (default 60; --quick 15)")
    parser.add_argument("--rounds", type=int, default=2, help="ours + core pairs (default 2)")
    parser.add_argument("--quick", action="store_true", help="small park, short window, one round")
    parser.add_argument("--no-core", action="store_true", help="ours only")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="also measure this smart_park package (e.g. an older commit's from git worktree) each round",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile ours' hass during its windows")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (configs, logs)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the simulator, measure the rounds, print the report."""
    if args.quick:
        args.rounds = 1
    enterprises = args.enterprises or (40 if args.quick else 200)
    args.window = args.window or (15.0 if args.quick else 60.0)
    raw = reference_profile(enterprises)
    control_port, *ports = free_ports(len(raw["gateways"]) + 1)
    for gateway, port in zip(raw["gateways"], ports, strict=True):
        gateway["port"] = port
    workdir = Path(tempfile.mkdtemp(prefix="smart_park_hass_cpu_"))
    profile_file = workdir / "profile.yaml"
    profile_file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    sim_args = [sys.executable, "-m", "simulator", "--profile", str(profile_file)]
    sim_args += ["--control-port", str(control_port), "--no-zeroconf"]
    print(f"hass CPU benchmark: {enterprises} enterprises, {args.rounds} round(s)", flush=True)
    # A SIGTERM (timeout, a CI runner) unwinds like Ctrl-C: the hass processes and the simulator are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with child(sim_args, workdir / "simulator.out", ROOT) as sim:
            control = Control(f"http://127.0.0.1:{control_port}", sim.pid)
            control.wait_ready()
            return asyncio.run(run_rounds(args, raw, control, workdir))
    finally:
        if args.keep or args.profile:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
