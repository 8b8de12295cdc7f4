"""Today's polling on an emulated RS-485 park: the same park TCP-native and behind 9600-baud serial servers.

The baseline the bus-time scheduler (#16) must beat. One run measures the reference park twice, each in a real
``hass`` (smart_park added through its config flow, default options) against a fresh simulator in this
process's event loop:

1. ``tcp``: the gateways as the reference profile declares them (TCP-native, answered at once);
2. ``serial``: every gateway declared ``transport: serial_over_tcp``, ``baudrate: 9600``, and the simulator's
   bus emulation on (``ParkSimulator(emulate_buses=True)``: one transaction at a time per gateway, each
   holding the line for engine/bus.py's modelled duration).

3. ``core`` (``--no-core`` skips it): HA core's ``modbus`` on the serial park's emulated buses, every point
   an entity at core's fastest intervals (1 / 1 / 5 / 60 s) plus linkage_latency.py's switches and one
   automation per building (benchmarks/_bus_polling_core.py). Core reads one entity per request: its reads
   are stamped by each point's (device, table, address, count). Fewer presses (``--core-trials``, 0: none)
   and no warm-up: core's hub serves its whole queue first come first served, so a press takes minutes on
   the full park (each bell's write waits a full pass of the queue); no fault variant.

For each:

* Per tier, the achieved poll period: every read of a planned block (the blocks hass's pollers plan, keyed by
  device, table, address and count) is stamped inside the simulator (a wrap of ``DeviceImage.read``, as
  linkage_latency.py stamps reads); the gaps between successive reads of the same block are the period the
  field sees. p50/p99 against the configured interval, over the whole measurement window.
* Call point -> all bells of its building on, p50/p99, over ``--trials`` presses (random call points, random
  0-1 s pauses, one seed for both runs): linkage_latency.py's trial, reset and stamps, reused.
* Requests per full cycle (the planned blocks per tier; today's planning does not depend on the transport),
  requests/s the simulator served, and hass's CPU (utime+stime) per wall second over the window.
* For the serial run, engine/bus.py's capacity report per gateway (what the repair issue is computed from).
* Fault variant (``--no-faults`` skips it): after the window, on the first gateway, one unit stops answering
  and another answers reads 2 s late; the safety tier's read-to-read gaps on that gateway are stamped for
  ``--fault-window`` seconds (default 35: a unit's first failure and its retry after the 30 s backoff).

Run: ``.venv/bin/python benchmarks/bus_polling.py [--enterprises N] [--trials N] [--window S] [--quick]
[--no-core] [--core-trials N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._bus_polling_core import (  # noqa: E402
    CORE_NOTES,
    CORE_TRIAL_TIMEOUT,
    BusCore,
    point_tiers,
)
from benchmarks._hass_runner import process_cpu  # noqa: E402
from benchmarks.linkage_latency import (  # noqa: E402
    TRIAL_TIMEOUT,
    BellWatch,
    Ours,
    Side,
    Summary,
    Trial,
    park_document,
    park_groups,
    percentile,
    plan_trials,
    run_trial,
    summarize,
)
from custom_components.smart_park.bus_capacity import gateway_report  # noqa: E402
from custom_components.smart_park.const import DEFAULT_INTERVAL  # noqa: E402
from custom_components.smart_park.engine.bus import CapacityReport  # noqa: E402
from custom_components.smart_park.engine.catalogue import Table, Tier  # noqa: E402
from custom_components.smart_park.engine.modbus import (  # noqa: E402
    DEFAULT_MAX_GAP,
    GatewayClient,
    GatewayPoller,
)
from custom_components.smart_park.engine.planner import ReadBlock  # noqa: E402
from custom_components.smart_park.engine.profile import ParkProfile, parse_profile  # noqa: E402
from simulator.image import DeviceImage  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402

TIERS = (Tier.SAFETY, Tier.FAST, Tier.NORMAL, Tier.SLOW)
BAUDRATE = 9600
SERIAL = {"transport": "serial_over_tcp", "baudrate": BAUDRATE}
FAULT_DELAY = 2.0  # seconds the slow unit takes to answer a read
FAULT_SETTLE = 1.0  # after injecting the faults, before stamping
# The fault window covers a unit's first failure and its retry after the poller's offline backoff (30 s), so
# a TCP gateway, where the first failure comes at once, is seen paying for the faults too.

BlockKey = tuple[str, Table, int, int]  # device id, table, address, count


# --- pure helpers (tests/core/test_bus_polling_bench.py) ---------------------------------------------------


def serial_document(raw: Mapping[str, Any], transport: Mapping[str, Any] = SERIAL) -> dict[str, Any]:
    """A copy of a park document whose every gateway declares ``transport`` (the input is not changed)."""
    return {**raw, "gateways": [{**gateway, **transport} for gateway in raw["gateways"]]}


def block_tiers(plans: Mapping[Tier, Mapping[str, Iterable[ReadBlock]]]) -> dict[BlockKey, Tier]:
    """Each planned read, as the simulator sees it (device, table, address, count), -> its tier."""
    return {
        (device_id, block.table, block.address, block.count): tier
        for tier, plan in plans.items()
        for device_id, blocks in plan.items()
        for block in blocks
    }


def planned_per_tier(tiers: Mapping[BlockKey, Tier]) -> dict[Tier, int]:
    """Requests a full cycle of each tier takes: the reads mapped to it (0 for a tier without any)."""
    counts = dict.fromkeys(TIERS, 0)
    for tier in tiers.values():
        counts[tier] += 1
    return counts


def cycle_period(window_s: float, reads: int, planned: int) -> float:
    """The period a tier kept on average: the window over the full cycles its reads make (inf: none)."""
    if planned == 0:
        return math.nan
    return window_s * planned / reads if reads else math.inf


def ratio(value: float, base: float) -> str:
    """``value / base`` as ``1.23x``; ``-`` when undefined."""
    if not (math.isfinite(value) and math.isfinite(base)) or base == 0:
        return "-"
    return f"{value / base:.2f}x"


def fmt_ms(value: float) -> str:
    """Milliseconds, whole above 10 ms; ``-`` for no figure."""
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class Period:
    """Achieved poll period of one tier, from read-to-read gaps of its blocks, in ms."""

    gaps: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, gaps_ms: Sequence[float]) -> Period:
        """p50/p99/max of the gaps (NaN without any)."""
        top = max(gaps_ms, default=math.nan)
        return cls(len(gaps_ms), percentile(gaps_ms, 50), percentile(gaps_ms, 99), top)


# --- stamping reads at the simulator -----------------------------------------------------------------------


class ReadStamps:
    """Stamps every read of a planned block inside the simulator: gaps per block, reads per tier and gateway.

    A write's read-back (the client verifies bells that way) can be the very range of a planned block (the
    bells are normal-tier coils): the first read of a table after a write to it is not counted as a poll
    (``read_backs=False``: a side that does not read back, every read is a poll).
    """

    def __init__(
        self, sim: ParkSimulator, tiers: Mapping[BlockKey, Tier], *, read_backs: bool = True
    ) -> None:
        self.tiers = tiers
        self.collecting = False
        self.gaps: dict[tuple[str, Tier], list[float]] = {}  # (gateway, tier) -> gaps in ms
        self.reads: dict[Tier, int] = {}
        self.read_backs = 0
        self._last: dict[BlockKey, int] = {}
        self._written: set[tuple[str, str]] = set()  # (device id, table) written, read-back not yet seen
        if read_backs:
            sim.on_write.append(lambda record: self._written.add((record.device_id, record.table)))
        for image in sim.images.values():
            self._wrap(image)

    def restart(self) -> None:
        """Forget every stamp; start collecting."""
        self.gaps, self.reads, self._last, self.collecting = {}, {}, {}, True

    def _wrap(self, image: DeviceImage) -> None:
        read, device_id, gateway = image.read, image.device.id, image.device.gateway

        def stamped(table: Table, address: int, count: int) -> list[bool] | list[int] | None:
            key = (device_id, table, address, count)
            if (device_id, str(table)) in self._written:
                self._written.discard((device_id, str(table)))
                self.read_backs += 1
            elif self.collecting and (tier := self.tiers.get(key)) is not None:
                now = time.monotonic_ns()
                self.reads[tier] = self.reads.get(tier, 0) + 1
                if (last := self._last.get(key)) is not None:
                    self.gaps.setdefault((gateway, tier), []).append((now - last) / 1e6)
                self._last[key] = now
            return read(table, address, count)

        image.read = stamped  # type: ignore[method-assign]

    def period(self, tier: Tier, gateway: str | None = None) -> Period:
        """The tier's achieved period, on every gateway or one."""
        return Period.of(
            [g for (gw, t), gaps in self.gaps.items() if t is tier and gateway in (None, gw) for g in gaps]
        )


# --- one run -----------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What one run (tcp or serial) measured."""

    name: str
    setup_s: float = 0.0
    window_s: float = 0.0
    periods: dict[Tier, Period] = field(default_factory=dict)
    reads: dict[Tier, int] = field(default_factory=dict)
    latency: Summary | None = None
    detect: Summary | None = None
    requests_per_s: float = math.nan
    hass_cpu: float = math.nan
    planned: dict[Tier, int] = field(default_factory=dict)
    capacity: list[CapacityReport] = field(default_factory=list)
    fault_gateway: str = ""
    fault_units: tuple[str, str] = ("", "")
    fault_safety: Period | None = None
    clean_safety: Period | None = None  # the same gateway's safety tier before the faults
    read_backs: int = 0


def _fault_units(profile: ParkProfile, gateway: str) -> tuple[str, str]:
    """Two units of the gateway without safety-tier points (so the safety figure is the other units')."""
    candidates = [
        d
        for d in profile.devices.values()
        if d.gateway == gateway and not any(p.tier is Tier.SAFETY for p in d.points)
    ]
    # Fast-tier units first: they are asked most often, so their faults cost the bus most.
    candidates.sort(key=lambda d: not any(p.tier is Tier.FAST for p in d.points))
    return candidates[0].id, candidates[1].id


async def _faults(
    name: str, sim: ParkSimulator, stamps: ReadStamps, result: RunResult, fault_window: float
) -> None:
    """One unit silent, one 2 s late on the first gateway: its safety tier's gaps while they are."""
    gateway = next(iter(sim.profile.gateways))
    result.fault_gateway, result.fault_units = gateway, _fault_units(sim.profile, gateway)
    result.clean_safety = stamps.period(Tier.SAFETY, gateway)
    dead, slow = result.fault_units
    print(f"{name}: {dead} silent, {slow} {FAULT_DELAY:g} s late on {gateway} ...", flush=True)
    sim.silence_unit(dead)
    sim.delay_replies(slow, FAULT_DELAY)
    await asyncio.sleep(FAULT_SETTLE)
    stamps.restart()
    await asyncio.sleep(fault_window)
    result.fault_safety = stamps.period(Tier.SAFETY, gateway)


def our_pollers(profile: ParkProfile) -> list[GatewayPoller]:
    """One poller per gateway, as the integration's coordinators plan them (default max gap)."""
    return [
        GatewayPoller(
            GatewayClient(gateway),
            [d for d in profile.devices.values() if d.gateway == gw_id],
            max_gap=DEFAULT_MAX_GAP,
        )
        for gw_id, gateway in profile.gateways.items()
    ]


def our_reads(profile: ParkProfile) -> dict[BlockKey, Tier]:
    """Our planned reads (blocks, after piggyback; they depend on the transport) -> their tier."""
    pollers = our_pollers(profile)
    return block_tiers({tier: {d: b for p in pollers for d, b in p.plan(tier).items()} for tier in TIERS})


async def measure(
    name: str,
    raw: dict[str, Any],
    side: Side,
    reads: Mapping[BlockKey, Tier],
    *,
    emulate: bool,
    warm_up: Trial | None,
    trials: Sequence[Trial],
    window: float,
    fault_window: float,
    workdir: Path,
    trial_timeout: float = TRIAL_TIMEOUT,
    read_backs: bool = True,
) -> RunResult:
    """A fresh simulator and ``side``'s hass for one transport; presses, then the rest of the window, faults.

    ``reads``: what the side asks the simulator for, keyed as :class:`ReadStamps` sees it, -> tier.
    """
    result = RunResult(name, planned=planned_per_tier(reads))
    profile = parse_profile(raw)
    groups = park_groups(profile)
    sim = ParkSimulator(profile, emulate_buses=emulate)
    await sim.start()
    try:
        stamps, watch = ReadStamps(sim, reads, read_backs=read_backs), BellWatch(sim)
        print(f"{name}: starting hass ...", flush=True)
        await side.start(sim, raw, workdir / name)
        assert side.hass is not None
        result.setup_s = side.setup_s
        print(f"{name}: ready after {side.setup_s:.0f} s; {len(trials)} presses", flush=True)
        if warm_up is not None:
            await run_trial(sim, watch, side, warm_up, groups[warm_up.building], trial_timeout)
        sim.reset_counters()
        stamps.restart()
        started, cpu0 = time.monotonic(), process_cpu(side.hass.pid)
        outcomes = []
        for trial in trials:
            side.hass.check_alive()
            outcomes.append(await run_trial(sim, watch, side, trial, groups[trial.building], trial_timeout))
        print(f"{name}: presses done after {time.monotonic() - started:.0f} s", flush=True)
        await asyncio.sleep(max(0.0, started + window - time.monotonic()))
        result.window_s = time.monotonic() - started
        result.hass_cpu = (process_cpu(side.hass.pid) - cpu0) / result.window_s
        result.requests_per_s = sim.total_requests() / result.window_s
        result.periods = {tier: stamps.period(tier) for tier in TIERS}
        result.reads, result.read_backs = dict(stamps.reads), stamps.read_backs
        result.latency = summarize([t.latency_ms for t in outcomes], [t.writes for t in outcomes])
        result.detect = summarize([t.detect_ms for t in outcomes if t.latency_ms is not None])
        if fault_window > 0:
            await _faults(name, sim, stamps, result, fault_window)
    finally:
        if side.hass is not None:
            await side.hass.stop()
        await sim.stop()
    return result


# --- report ------------------------------------------------------------------------------------------------


WIDTHS = (12, 14, 14, 12, 12)  # tcp, serial, serial ÷ tcp, core, core ÷ ours (serial)


def row(
    label: str, values: Sequence[float], fmt: Callable[[float], str] = fmt_ms, *, ratios: bool = True
) -> str:
    """A table row: tcp, serial, serial ÷ tcp, then (with a third value) core and core ÷ serial ours.

    ``ratios=False`` for counts that depend on each run's window (gaps, cycles): blank ratio cells.
    """
    tcp, serial, *core = values
    cells = [fmt(tcp), fmt(serial), ratio(serial, tcp) if ratios else ""]
    if core:
        cells += [fmt(core[0]), ratio(core[0], serial) if ratios else ""]
    line = f"{label:<34}" + "".join(f"{cell:>{width}}" for cell, width in zip(cells, WIDTHS, strict=False))
    return line.rstrip()


def _count(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def _fixed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}" if math.isfinite(value) else "inf"


def report_lines(tcp: RunResult, serial: RunResult, core: RunResult | None = None) -> list[str]:
    """The runs side by side, with serial ÷ tcp and core ÷ ours (on the same serial buses) ratios."""
    runs = (tcp, serial) if core is None else (tcp, serial, core)
    head = ("tcp", "serial 9600", "serial ÷ tcp", "core 9600", "core ÷ ours")[: 3 + 2 * (core is not None)]
    lines = [
        f"{'':<34}" + "".join(f"{h:>{w}}" for h, w in zip(head, WIDTHS, strict=False)),
        "Achieved poll period, ms (p50 / p99) against the configured one (ours'; core's in the notes):",
    ]
    for tier in TIERS:
        configured = DEFAULT_INTERVAL[tier] * 1000
        for q in ("p50", "p99"):
            label = f"  {tier!s:<7}{q} (every {configured:>6.0f})"
            lines.append(row(label, [getattr(r.periods[tier], q) for r in runs]))
        gaps = [r.periods[tier].gaps for r in runs]
        lines.append(row(f"  {tier!s:<7}gaps measured", gaps, _count, ratios=False))
    lines.append("Period from the reads (window ÷ cycles completed in it), s:")
    for tier in TIERS:
        periods = [cycle_period(r.window_s, r.reads.get(tier, 0), r.planned[tier]) for r in runs]
        lines.append(row(f"  {tier!s:<7}(every {DEFAULT_INTERVAL[tier]:>4g} s)", periods, _fixed))
    lines.append("Call point -> all bells of its building on, ms:")
    for q in ("p50", "p99", "max"):
        lines.append(row(f"  {q}", [getattr(r.latency, q) if r.latency else math.nan for r in runs]))
    for q in ("p50", "p99"):
        lines.append(
            row(f"  press -> first read, {q}", [getattr(r.detect, q) if r.detect else math.nan for r in runs])
        )
    presses = [f"{r.latency.trials} ({r.latency.failures})" if r.latency else "-" for r in runs]
    cells = [*presses[:2], "", *presses[2:]]
    lines.append(
        f"  {'presses (timed out)':<32}" + "".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=False))
    )
    lines.append(
        "Requests per full cycle (ours: planned blocks; core: one per entity) and cycles in the window:"
    )
    for tier in TIERS:
        lines.append(row(f"  {tier!s:<7}requests per cycle", [r.planned[tier] for r in runs], _count))
        cycles = [r.reads.get(tier, 0) / r.planned[tier] if r.planned[tier] else math.nan for r in runs]
        lines.append(row(f"  {tier!s:<7}cycles in the window", cycles, lambda v: f"{v:.1f}", ratios=False))
    lines.append(row("  all tiers per cycle", [sum(r.planned.values()) for r in runs], _count))
    lines.append(row("  requests/s served", [r.requests_per_s for r in runs], _count))
    lines.append(row("hass CPU, % of one core", [r.hass_cpu * 100 for r in runs], lambda v: f"{v:.1f}"))
    if tcp.fault_safety is not None and serial.fault_safety is not None:
        dead, slow = serial.fault_units
        lines.append(
            f"Safety tier on {serial.fault_gateway}, ms: before, then with {dead} silent and {slow} "
            f"{FAULT_DELAY:g} s late (ours only):"
        )
        for label, pick in (("before", "clean_safety"), ("faults", "fault_safety")):
            for q in ("p50", "p99", "max"):
                lines.append(row(f"  {label} {q}", [getattr(getattr(r, pick), q) for r in (tcp, serial)]))
    return lines


def capacity_lines(reports: Sequence[CapacityReport]) -> list[str]:
    """engine/bus.py's capacity report per serial gateway."""
    lines = [
        "Capacity report (engine/bus.py, the repair issue's figures) for the serial run:",
        f"  {'gateway':<8}{'tier':<8}{'reqs':>6}{'cycle s':>9}{'period s':>10}{'use':>8}"
        f"{'achieved s':>12}{'fits s':>9}",
    ]
    for report in reports:
        for load in report.tiers:
            achieved = "starves" if load.achieved is None else f"{load.achieved:.2f}"
            fits = "none" if load.fits is None else f"{load.fits:.2f}"
            lines.append(
                f"  {report.gateway:<8}{load.tier!s:<8}{load.requests:>6}{load.cycle:>9.2f}{load.period:>10g}"
                f"{load.utilisation:>8.0%}{achieved:>12}{fits:>9}"
            )
        lines.append(f"  {report.gateway:<8}{'all':<8}{'':>33}{report.utilisation:>8.0%}  (usable 90%)")
    return lines


def print_report(
    enterprises: int,
    profile: ParkProfile,
    tcp: RunResult,
    serial: RunResult,
    core: RunResult | None,
    seed: int,
) -> None:
    """The table and what a reader needs to interpret it."""
    print()
    print(
        f"Park: {enterprises} enterprises, {len(profile.devices)} devices on "
        f"{len(profile.gateways)} gateways; default options; serial = every gateway serial_over_tcp "
        f"at {BAUDRATE} baud, bus emulation on."
    )
    print()
    for line in report_lines(tcp, serial, core):
        print(line)
    print()
    for line in capacity_lines(serial.capacity):
        print(line)
    print()
    print("Notes:")
    for run in (tcp, serial, *([core] if core else [])):
        print(
            f"  * {run.name}: hass ready in {run.setup_s:.0f} s; measured over {run.window_s:.0f} s; "
            f"{run.read_backs} write read-backs not counted as polls."
        )
    print("  * periods are read-to-read gaps of each planned block, stamped in the simulator; a tier with")
    print("    fewer than two reads of a block in the window has no figure ('-').")
    print(f"  * presses: random call points, random 0-1 s pauses, seed {seed}; ours: one uncounted warm-up.")
    print("  * serial: the scheduler keeps each tier at the capacity report's 'achieved' period (safety")
    print("    first; the others stretched evenly); a stretched tier longer than the window has no gap")
    print("    figure, read its period from the cycles completed. Safety p99 includes the presses' bell")
    print("    writes, which run between two safety cycles.")
    print(
        "  * hass CPU = utime+stime of the hass process over the window / window (the 2-core host is shared)."
    )
    if core is not None:
        for line in CORE_NOTES:
            print(line)


# --- main --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, help="reference park size (default 200; --quick 20)")
    parser.add_argument("--trials", type=int, help="measured presses per run (default 30; --quick 5)")
    parser.add_argument(
        "--window",
        type=float,
        help="measurement window per run, s, at least the presses (default 65; --quick 10)",
    )
    parser.add_argument(
        "--fault-window", type=float, help="seconds stamped with the faults on (default 35; --quick 5)"
    )
    parser.add_argument("--no-faults", action="store_true", help="skip the dead + slow unit variant")
    parser.add_argument("--no-core", action="store_true", help="skip core modbus on the emulated buses")
    parser.add_argument(
        "--core-trials",
        type=int,
        help="measured presses for core, 0: none (default 3; --quick 2); each takes minutes on the full park",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: small park, short windows")
    parser.add_argument("--seed", type=int, default=1, help="seed of the call points and pauses (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (hass logs)")
    return parser


async def run(args: argparse.Namespace) -> int:
    """Measure the TCP park, then the serial one, then core on the serial one; print the report."""
    # pymodbus dumps its last frames when the simulator stops with requests in flight: noise here.
    logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)
    enterprises = args.enterprises or (20 if args.quick else 200)
    count = args.trials or (5 if args.quick else 30)
    core_count = args.core_trials if args.core_trials is not None else (2 if args.quick else 3)
    window = args.window or (10.0 if args.quick else 65.0)
    fault_window = 0.0 if args.no_faults else (args.fault_window or (5.0 if args.quick else 35.0))
    raw = park_document(enterprises)
    profile = parse_profile(raw)
    warm_up, *trials = plan_trials(park_groups(profile), count + 1, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="smart_park_bus_"))
    print(
        f"Smart Park Hub polling on emulated RS-485 buses: {enterprises} enterprises, "
        f"{count} presses per run",
        flush=True,
    )
    try:
        ours: dict[str, Any] = {
            "warm_up": warm_up,
            "trials": trials,
            "window": window,
            "fault_window": fault_window,
            "workdir": workdir,
        }
        tcp = await measure("tcp", raw, Ours(), our_reads(profile), emulate=False, **ours)
        serial_raw = serial_document(park_document(enterprises))
        serial_profile = parse_profile(serial_raw)
        serial = await measure("serial", serial_raw, Ours(), our_reads(serial_profile), emulate=True, **ours)
        serial.capacity = [
            gateway_report(serial_profile, p, DEFAULT_INTERVAL) for p in our_pollers(serial_profile)
        ]
        core = None
        if not args.no_core:
            core = await measure(
                "core",
                serial_document(park_document(enterprises)),
                BusCore(),
                point_tiers(serial_profile),
                emulate=True,
                warm_up=None,
                trials=trials[:core_count],
                window=window,
                fault_window=0.0,
                workdir=workdir,
                trial_timeout=CORE_TRIAL_TIMEOUT,
                read_backs=False,
            )
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(enterprises, profile, tcp, serial, core, args.seed)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    return asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
