"""Polling benchmark: Modbus requests and CPU per poll cycle, ours against HA core's ``modbus``, in one run.

A reference park (default 200 enterprises) runs in a simulator subprocess that counts every request.

* Ours: one GatewayClient + GatewayPoller per gateway in this process (as the integration's coordinators use
  them); for each tier, N full cycles over all gateways (gateways concurrently), requests read back from the
  simulator's control API after each cycle; CPU is this process's ``time.process_time()`` around the polls.
* Theoretical minimum: per device, the blocks of one tier's points with unlimited gap; a request cannot span
  units or tables and carries at most 125 registers / 2000 bits.
* Baseline: HA core's ``modbus`` in a real ``hass`` subprocess, configured with generated YAML (one hub per
  gateway, one sensor / binary_sensor per point, as a user would write it). One hass session per tier,
  holding only that tier's entities, so every request the simulator counts is that tier's. After startup,
  counters are reset and requests are counted over a whole number of scan intervals; requests per cycle =
  count / cycles. CPU per cycle = the hass process's utime+stime over the window / cycles.

Run: ``.venv/bin/python benchmarks/polling.py [--enterprises N] [--window S] [--cycles N] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import child, free_ports, process_cpu  # noqa: E402
from custom_components.smart_park.engine.catalogue import Point, Table, Tier  # noqa: E402
from custom_components.smart_park.engine.modbus import (  # noqa: E402
    DEFAULT_MAX_GAP,
    GatewayClient,
    GatewayPoller,
    async_close_all,
    plan_blocks,
)
from custom_components.smart_park.engine.profile import Device, ParkProfile, parse_profile  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402

TIERS = (Tier.SAFETY, Tier.FAST, Tier.NORMAL, Tier.SLOW)
# Our integration's default poll intervals (const.DEFAULT_INTERVAL), for the requests-per-second note.
OUR_INTERVAL = {Tier.SAFETY: 0.1, Tier.FAST: 0.25, Tier.NORMAL: 5.0, Tier.SLOW: 60.0}
# Core modbus takes whole seconds (cv.positive_int) and warns below 5 s: 1 s is the fastest a user can set.
CORE_INTERVAL = {Tier.SAFETY: 1, Tier.FAST: 1, Tier.NORMAL: 5, Tier.SLOW: 60}
# --quick: a 60 s slow tier would dominate; core issues one read per entity per update whatever the interval.
CORE_INTERVAL_QUICK = {Tier.SAFETY: 1, Tier.FAST: 1, Tier.NORMAL: 5, Tier.SLOW: 5}
CORE_INPUT_TYPE = {
    Table.COIL: "coil",
    Table.DISCRETE_INPUT: "discrete_input",
    Table.HOLDING_REGISTER: "holding",
    Table.INPUT_REGISTER: "input",
}
HASS_START_TIMEOUT = 240.0
NOTES = (
    "  * minimum = per device and tier, blocks with unlimited gap: a request cannot span units or",
    "    tables and carries at most 125 registers / 2000 bits. Ours plans with max_gap 8 (the default).",
    "  * ours CPU = this process's process_time() around one cycle (pymodbus client, planning, decoding).",
    "    core CPU = the whole hass process (utime+stime) over the window / cycles: it also includes",
    "    writing the entities' states and HA's own background work, which ours here does not have.",
    "  * core modbus takes whole-second scan intervals and warns below 5 s: its fast tier runs at 1 s,",
    "    it cannot poll at our 250 ms. Core issues one read per entity per update, whatever the interval.",
    "  * core is HA 2025.4.4's own modbus on pymodbus 3.13, started by benchmarks/_core_modbus_hass.py,",
    "    whose only change passes slave= as device_id= (renamed in pymodbus 3.10); its requests are as is.",
    "  * simulator CPU includes its 1 s dynamics tick, so at long intervals (core slow) it is mostly that.",
    "    Wall ms is loopback against one simulator process on a shared 2-core host: it varies run to run.",
    "  * ours inside a real hass is not measured here: ours' CPU is the engine alone.",
)


# --- helpers --------------------------------------------------------------------------------------------


class Control:
    """The simulator's HTTP control API (blocking urllib: never called inside a measured interval)."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu(self) -> float:
        """The simulator process's CPU seconds so far: how hard the server side worked."""
        return process_cpu(self.pid)

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body: dict[str, Any] = json.loads(response.read())
        return body

    def reset(self) -> None:
        """Zero the request counters."""
        self._call("/api/counters/reset", "POST")

    def total(self) -> int:
        """Requests received since the last reset, all gateways."""
        return int(self._call("/api/counters")["total"])

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the control API answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.total()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def tier_points(device: Device, tier: Tier) -> list[Point]:
    """The points of one tier of a device."""
    return [p for p in device.points if p.tier is tier]


def theoretical_minimum(profile: ParkProfile, tier: Tier) -> int:
    """Fewest requests a full cycle can take: unlimited gap, limited only by unit, table and size limits."""
    return sum(
        len(plan_blocks(points, max_gap=65535))
        for device in profile.devices.values()
        if (points := tier_points(device, tier))
    )


# --- ours -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class OursResult:
    """Our engine's figures for one tier."""

    points: int
    planned: int
    requests_per_cycle: float
    cpu_ms: float
    wall_ms: float
    sim_cpu_ms: float


async def measure_ours(profile: ParkProfile, control: Control, cycles: int) -> dict[Tier, OursResult]:
    """Poll every tier ``cycles`` times over all gateways, counting requests at the simulator."""
    clients = {gw_id: GatewayClient(gateway) for gw_id, gateway in profile.gateways.items()}
    pollers = [
        GatewayPoller(
            client, [d for d in profile.devices.values() if d.gateway == gw_id], max_gap=DEFAULT_MAX_GAP
        )
        for gw_id, client in clients.items()
    ]
    results: dict[Tier, OursResult] = {}
    try:
        for tier in TIERS:
            await asyncio.gather(*(p.async_poll(tier) for p in pollers))  # connect, warm caches
            requests = cpu = wall = 0.0
            sim0 = control.cpu()
            for _ in range(cycles):
                control.reset()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                readings = await asyncio.gather(*(p.async_poll(tier) for p in pollers))
                cpu += time.process_time() - cpu0
                wall += time.perf_counter() - wall0
                requests += control.total()
                # A unit that did not answer would make the cycle cheaper than it really is.
                if missing := [d for r in readings for d, reading in r.items() if not reading.available]:
                    raise RuntimeError(f"{tier}: {len(missing)} devices did not answer, e.g. {missing[:3]}")
            results[tier] = OursResult(
                points=sum(len(tier_points(d, tier)) for d in profile.devices.values()),
                planned=sum(p.request_count(tier) for p in pollers),
                requests_per_cycle=requests / cycles,
                cpu_ms=cpu / cycles * 1000,
                wall_ms=wall / cycles * 1000,
                sim_cpu_ms=(control.cpu() - sim0) / cycles * 1000,
            )
    finally:
        await async_close_all(clients.values())
    return results


# --- core modbus ----------------------------------------------------------------------------------------


def core_entity(device: Device, point: Point, scan_interval: int) -> tuple[str, dict[str, Any]]:
    """One core modbus entity for one point: ("sensors" | "binary_sensors", its YAML mapping)."""
    entity: dict[str, Any] = {
        "name": f"{device.id} {point.key}",
        "slave": device.unit,
        "address": point.address,
        "input_type": CORE_INPUT_TYPE[point.table],
        "scan_interval": scan_interval,
    }
    if point.table.is_bit:
        # We poll outputs (bells, lamps) too; a user would make them switches, which poll the same way.
        if point.device_class:
            entity["device_class"] = point.device_class
        return "binary_sensors", entity
    entity["data_type"] = str(point.data_type)
    if point.word_order == "little":
        entity["swap"] = "word"
    if point.scale != 1:
        entity["scale"] = point.scale
    if point.offset:
        entity["offset"] = point.offset
    if point.precision is not None:
        entity["precision"] = point.precision
    if point.unit:
        entity["unit_of_measurement"] = point.unit
    # Core cannot map raw values to enum options, so an enum point is a plain numeric sensor there.
    if point.device_class and point.device_class != "enum":
        entity["device_class"] = point.device_class
    if point.state_class:
        entity["state_class"] = point.state_class
    return "sensors", entity


def core_configuration(profile: ParkProfile, tier: Tier, scan_interval: int) -> tuple[dict[str, Any], int]:
    """configuration.yaml for core modbus polling one tier's points; also returns the entity count."""
    hubs: list[dict[str, Any]] = []
    entities = 0
    for gw_id, gateway in profile.gateways.items():
        hub: dict[str, Any] = {"name": gw_id, "type": "tcp", "host": gateway.host, "port": gateway.port}
        for device in profile.devices.values():
            if device.gateway != gw_id:
                continue
            for point in tier_points(device, tier):
                key, entity = core_entity(device, point, scan_interval)
                hub.setdefault(key, []).append(entity)
                entities += 1
        if len(hub) > 4:  # core rejects a hub without entities
            hubs.append(hub)
    config = {
        "homeassistant": {
            "name": "core modbus baseline",
            "unit_system": "metric",
            "time_zone": "Asia/Shanghai",
            "country": "CN",
            "currency": "CNY",
            "latitude": 27.99,
            "longitude": 120.69,
            "elevation": 10,
        },
        # bootstrap at info: its "Home Assistant initialized" line tells us startup is over.
        "logger": {"default": "warning", "logs": {"homeassistant.bootstrap": "info"}},
        "modbus": hubs,
    }
    return config, entities


@dataclass(slots=True)
class CoreResult:
    """Core modbus's figures for one tier."""

    entities: int
    scan_interval: int
    cycles: int
    requests: int
    requests_per_cycle: float
    cpu_ms: float
    startup_s: float
    sim_cpu_ms: float
    errors: int


def wait_for_log(proc: subprocess.Popen[bytes], log: Path, text: str, timeout: float) -> None:
    """Block until ``text`` appears in the log, failing if the process exits first."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise RuntimeError(f"hass exited with {proc.returncode} before {text!r}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"hass did not log {text!r} within {timeout:.0f} s; see {log}")
        time.sleep(0.25)


def measure_core_tier(
    profile: ParkProfile, control: Control, tier: Tier, scan_interval: int, window: float, workdir: Path
) -> CoreResult:
    """One hass session with only ``tier``'s entities; requests and CPU over whole scan intervals."""
    config_dir = workdir / f"core_{tier}"
    config_dir.mkdir()
    config, entities = core_configuration(profile, tier, scan_interval)
    (config_dir / "configuration.yaml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    )
    cycles = max(1, math.ceil(window / scan_interval))
    log = config_dir / "hass.out"
    args = [
        sys.executable,
        str(ROOT / "benchmarks" / "_core_modbus_hass.py"),
        "-c",
        str(config_dir),
        "--skip-pip",
    ]
    control.reset()
    started = time.monotonic()
    with child(args, log, config_dir) as proc:
        wait_for_log(proc, log, "Home Assistant initialized", HASS_START_TIMEOUT)
        # Each entity reads once at start; once all have, any window of k intervals holds k reads of each.
        deadline = time.monotonic() + 60
        while control.total() < entities and time.monotonic() < deadline:
            time.sleep(0.2)
        startup = time.monotonic() - started
        time.sleep(min(2 * scan_interval, 5))
        control.reset()
        cpu0, sim0 = process_cpu(proc.pid), control.cpu()
        time.sleep(cycles * scan_interval)
        requests = control.total()
        cpu, sim_cpu = process_cpu(proc.pid) - cpu0, control.cpu() - sim0
        # Errors logged while hass shuts down (cancelled requests) are not the window's.
        window_log = log.read_text(errors="replace")
    # Only modbus errors matter (HA also logs unrelated ones, e.g. a missing libturbojpeg).
    errors = sum(1 for line in window_log.splitlines() if " ERROR " in line and "modbus" in line)
    return CoreResult(
        entities=entities,
        scan_interval=scan_interval,
        cycles=cycles,
        requests=requests,
        requests_per_cycle=requests / cycles,
        cpu_ms=cpu / cycles * 1000,
        startup_s=startup,
        sim_cpu_ms=sim_cpu / cycles * 1000,
        errors=errors,
    )


# --- report ---------------------------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> str:
    """``a/b`` as ``1.23x``, or ``-`` when undefined."""
    return f"{numerator / denominator:.2f}x" if denominator else "-"


def print_report(
    profile: ParkProfile,
    ours: dict[Tier, OursResult],
    minimum: dict[Tier, int],
    core: dict[Tier, CoreResult],
    cycles: int,
) -> None:
    """The results table and the notes needed to read it."""
    points = sum(len(d.points) for d in profile.devices.values())
    print()
    print(
        f"Park: {len(profile.enterprises)} enterprises, {len(profile.gateways)} gateways, "
        f"{len(profile.devices)} devices, {points} points"
    )
    print()
    head = (
        f"{'tier':<7}{'points':>7}{'ours req':>10}{'minimum':>9}{'ours/min':>9}{'core req':>10}"
        f"{'core/ours':>10}{'ours CPU ms':>12}{'core CPU ms':>12}{'core/ours':>10}{'ours wall ms':>13}"
    )
    print("Per full cycle of each tier (requests counted at the simulator; CPU ms per cycle):")
    print(head)
    print("-" * len(head))
    totals = [0.0] * 6
    for tier in TIERS:
        o, c = ours[tier], core.get(tier)
        core_req = f"{c.requests_per_cycle:>10.1f}" if c else f"{'-':>10}"
        core_cpu = f"{c.cpu_ms:>12.1f}" if c else f"{'-':>12}"
        print(
            f"{tier!s:<7}{o.points:>7}{o.requests_per_cycle:>10.1f}{minimum[tier]:>9}"
            f"{ratio(o.requests_per_cycle, minimum[tier]):>9}{core_req}"
            f"{ratio(c.requests_per_cycle, o.requests_per_cycle) if c else '-':>10}"
            f"{o.cpu_ms:>12.1f}{core_cpu}{ratio(c.cpu_ms, o.cpu_ms) if c else '-':>10}{o.wall_ms:>13.1f}"
        )
        for i, value in enumerate(
            (
                o.requests_per_cycle,
                minimum[tier],
                c.requests_per_cycle if c else 0,
                o.cpu_ms,
                c.cpu_ms if c else 0,
            )
        ):
            totals[i] += value
        totals[5] += o.wall_ms
    print("-" * len(head))
    have_core = len(core) == len(TIERS)
    print(
        f"{'all':<7}{points:>7}{totals[0]:>10.1f}{totals[1]:>9.0f}{ratio(totals[0], totals[1]):>9}"
        f"{(f'{totals[2]:.1f}' if have_core else '-'):>10}"
        f"{(ratio(totals[2], totals[0]) if have_core else '-'):>10}"
        f"{totals[3]:>12.1f}{(f'{totals[4]:.1f}' if have_core else '-'):>12}"
        f"{(ratio(totals[4], totals[3]) if have_core else '-'):>10}{totals[5]:>13.1f}"
    )
    print()
    planned = ", ".join(f"{t} {ours[t].planned}" for t in TIERS)
    print(f"Ours: {cycles} measured cycles per tier; planned requests/cycle (request_count): {planned}.")
    for tier in TIERS:
        o = ours[tier]
        print(
            f"  {tier!s:<7} cycle {o.wall_ms:6.1f} ms wall (gateways concurrently), "
            f"simulator CPU {o.sim_cpu_ms:6.1f} ms/cycle"
        )
    if core:
        print(
            "Core modbus: one hass per tier holding only that tier's entities; counted over whole intervals:"
        )
        for tier, c in core.items():
            share = c.requests / (c.entities * c.cycles)
            # An entity whose update is still running when its interval fires skips that update.
            late = "" if share > 0.995 else f"  <- {1 - share:.1%} of updates skipped: core fell behind"
            print(
                f"  {tier!s:<7}{c.entities:>5} entities, scan_interval {c.scan_interval:>2} s, "
                f"{c.cycles:>2} cycles, {c.requests:>6} requests = {share:6.1%} of one read per entity per "
                f"cycle{late}"
            )
            print(
                f"  {'':<7}startup {c.startup_s:.0f} s, simulator CPU {c.sim_cpu_ms:.1f} ms/cycle, "
                f"{c.errors} modbus errors logged in the window"
            )
        print("  Request rate at each side's poll interval (ours' defaults 0.1/0.25/5/60 s):")
        for tier, c in core.items():
            print(
                f"    {tier!s:<7} ours {ours[tier].requests_per_cycle / OUR_INTERVAL[tier]:>7.1f} req/s"
                f" every {OUR_INTERVAL[tier]:>4g} s   core {c.entities / c.scan_interval:>7.1f} req/s"
                f" every {c.scan_interval:>2} s"
            )
    print()
    print("Notes:")
    for note in NOTES:
        print(note)


# --- main -----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, help="reference park size (default 200; --quick 40)")
    parser.add_argument(
        "--window",
        type=float,
        help="core's measurement window per tier, seconds, rounded up to whole scan intervals "
        "(default 20; --quick 5)",
    )
    parser.add_argument(
        "--cycles", type=int, help="measured cycles per tier for ours (default 20; --quick 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small park, short windows, slow tier at 5 s (~1 min)"
    )
    parser.add_argument("--no-core", action="store_true", help="skip the core modbus baseline")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (configs, logs)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the simulator, measure ours then core, print the report."""
    enterprises = args.enterprises or (40 if args.quick else 200)
    window = args.window or (5.0 if args.quick else 20.0)
    cycles = args.cycles or (5 if args.quick else 20)
    intervals = CORE_INTERVAL_QUICK if args.quick else CORE_INTERVAL

    raw = reference_profile(enterprises)
    control_port, *ports = free_ports(len(raw["gateways"]) + 1)
    for gateway, port in zip(raw["gateways"], ports, strict=True):
        gateway["port"] = port
    profile = parse_profile(raw)
    minimum = {tier: theoretical_minimum(profile, tier) for tier in TIERS}
    print(
        f"Smart Park Hub polling benchmark: {enterprises} enterprises, {len(profile.devices)} devices on "
        f"{len(profile.gateways)} gateways",
        flush=True,
    )

    workdir = Path(tempfile.mkdtemp(prefix="smart_park_bench_"))
    profile_file = workdir / "profile.yaml"
    profile_file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    sim_args = [
        sys.executable,
        "-m",
        "simulator",
        "--profile",
        str(profile_file),
        "--control-port",
        str(control_port),
        "--no-zeroconf",
    ]
    core: dict[Tier, CoreResult] = {}
    try:
        with child(sim_args, workdir / "simulator.out", ROOT) as sim:
            control = Control(f"http://127.0.0.1:{control_port}", sim.pid)
            control.wait_ready()
            print(f"ours: {cycles} cycles per tier ...", flush=True)
            ours = asyncio.run(measure_ours(profile, control, cycles))
            if not args.no_core:
                for tier in TIERS:
                    interval = intervals[tier]
                    print(f"core modbus: {tier} tier, scan_interval {interval} s ...", flush=True)
                    core[tier] = measure_core_tier(profile, control, tier, interval, window, workdir)
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    print_report(profile, ours, minimum, core, cycles)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
