"""GB/T 26875.3 uplink latency: a call point pressed at the simulator -> its fire record stored by the centre.

The whole path, each part a real peer on loopback: the park simulator (in this process), a ``hass`` process
with smart_park set up through its config flow (default options: safety tier 0.1 s), ``python -m park_sync``
following HA over its websocket API with the GB/T 26875.3 uplink on, and ``python -m central`` as the fire
remote monitoring centre. The baseline, in the same run and for the same presses, is the fire-bell linkage:
press -> the write that turns the building's last bell on (``linkage_latency.BellWatch``), the fastest thing
the park does with a press. The centre's share is what the uplink adds on top.

* Press: ``time.time()`` (wall clock, as the centre stamps) and ``time.monotonic_ns()`` taken right before
  ``ParkSimulator.press_call_point``. Bells: stamped in the simulator. Centre: the ``received_at`` (wall
  clock, same host) of the call point's type 2 record with FIRE, which the centre stores right before it
  writes the confirm; the record is matched by its address (building, floor) and followed through the
  centre's ``GET /api/v1/gbt26875/records?after=<seq>``.
* Between trials: release, ``smart_park.reset_alarm`` (retried while the linkage has not seen the release),
  bells off, park_sync's GB/T queue empty; then a random 0-1 s pause (seeded; one uncounted warm-up trial).
* Figures, not asserts.

Run: ``.venv/bin/python benchmarks/gbt26875_uplink.py [--trials N] [--enterprises N] [--seed N] [--keep]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import HOST, free_ports, process_cpu  # noqa: E402
from benchmarks.linkage_latency import (  # noqa: E402
    TRIAL_TIMEOUT,
    BellWatch,
    Ours,
    Trial,
    park_document,
    park_groups,
    percentile,
    plan_trials,
)
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402

TOKEN = "bench-central-token-0123456789"
SECRET = "bench-hmac-secret-0123456789abcdef"
SOURCE, CENTRE = 0x379, 0x15B38
FIRE = 1 << 1


@dataclass(frozen=True, slots=True)
class Result:
    bells_ms: float | None
    centre_ms: float | None


async def start_central(workdir: Path) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    env = {**os.environ, "CENTRAL_TOKEN": TOKEN, "CENTRAL_HMAC_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    args = ["--port", "0", "--hj212-port", "-1", "--gbt26875-port", "0", "--db", str(workdir / "central.db")]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central",
        *args,
        "--log-level",
        "WARNING",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, json.loads(line)


async def start_park_sync(
    workdir: Path, ha_url: str, ha_token: str, central: dict[str, Any]
) -> tuple[asyncio.subprocess.Process, int]:
    (status_port,) = free_ports(1)
    options = {
        "park_id": "zhifeng",
        "central_url": central["url"],
        "central_token": TOKEN,
        "hmac_secret": SECRET,
        "outbox_path": str(workdir / "outbox.sqlite3"),
        "status_port": status_port,
        "log_level": "warning",
        "gbt26875": {
            "enabled": True,
            "host": HOST,
            "port": central["gbt26875_port"],
            "source_address": str(SOURCE),
            "centre_address": str(CENTRE),
            "heartbeat": 25,
        },
    }
    path = workdir / "park_sync.json"
    path.write_text(json.dumps(options), encoding="utf-8")
    env = {
        **os.environ,
        "HA_TOKEN": ha_token,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'addons' / 'park_sync'}",
    }
    log = (workdir / "park_sync.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "park_sync",
        "--options",
        str(path),
        "--ha-url",
        ha_url,
        "--status-host",
        HOST,
        env=env,
        stdout=log,
        stderr=log,
    )
    return proc, status_port


class CentreWatch:
    """Follows the centre's stored GB/T 26875.3 records (only the new ones each time)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = f"{url}/api/v1/gbt26875/records"
        self._after = 0
        self.records = 0

    async def fire_at(self, zone: int, floor: int) -> float | None:
        """``received_at`` of a new call point fire record at (building, floor), else None."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        params = {"type": "2", "after": str(self._after)}
        async with self._session.get(self._url, params=params, headers=headers) as resp:
            rows = await resp.json()
        found = None
        for row in rows:
            self._after, record = max(self._after, row["seq"]), row["record"]
            self.records += 1
            address = record["component_address"]
            if (
                found is None
                and record["component_type"] == 23
                and record["state"] & FIRE
                and (address & 0xFFFF, (address >> 16) // 100) == (zone, floor)
            ):
                found = float(row["received_at"])
        return found


async def park_sync_status(session: aiohttp.ClientSession, port: int) -> dict[str, Any]:
    try:
        async with session.get(f"http://{HOST}:{port}/status") as resp:
            doc: dict[str, Any] = await resp.json()
            gb: dict[str, Any] = doc.get("gbt26875", {})
            return gb
    except aiohttp.ClientError:
        return {}


async def until(what: str, probe: Any, timeout: float, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f} s")
        await asyncio.sleep(interval)


async def trial_once(
    sim: ParkSimulator,
    watch: BellWatch,
    ours: Ours,
    centre: CentreWatch,
    trial: Trial,
    numbers: dict[str, int],
    session: aiohttp.ClientSession,
    status_port: int,
) -> Result:
    group = park_groups(sim.profile)[trial.building]
    await asyncio.sleep(trial.pause)
    bells = watch.arm(group, trial)
    pressed_wall, pressed_ns = time.time(), time.monotonic_ns()
    sim.press_call_point(trial.device_id, trial.channel)
    bells_ms = centre_ms = None
    try:
        bells_ms = (await asyncio.wait_for(bells, TRIAL_TIMEOUT) - pressed_ns) / 1e6
    except TimeoutError:
        pass
    finally:
        watch.disarm()
    deadline = time.monotonic() + TRIAL_TIMEOUT
    while centre_ms is None and time.monotonic() < deadline:
        if (at := await centre.fire_at(numbers[trial.building], trial.channel)) is not None:
            centre_ms = (at - pressed_wall) * 1000
        else:
            await asyncio.sleep(0.01)
    sim.release_call_point(trial.device_id, trial.channel)
    await ours.settle(trial, group, watch)

    async def drained() -> bool:
        return (await park_sync_status(session, status_port)).get("pending") == 0

    await until("park_sync's GB/T 26875.3 queue empty", drained, 30)
    return Result(bells_ms, centre_ms)


def line(name: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
    top = max(values, default=math.nan)
    return f"{name:<44}{len(values):>7}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}{top:>9.0f}"


async def run(args: argparse.Namespace) -> int:
    raw = park_document(args.enterprises)
    profile = parse_profile(raw)
    numbers = {b: n for n, b in enumerate(profile.buildings, start=1)}
    warm_up, *trials = plan_trials(park_groups(profile), args.trials + 1, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="smart_park_gbt26875_"))
    print(f"GB/T 26875.3 uplink latency: {args.enterprises} enterprises, {args.trials} presses", flush=True)
    load_before = os.getloadavg()[0]
    sim = ParkSimulator(profile)
    await sim.start()
    ours = Ours()
    central_proc = sync_proc = None
    results: list[Result] = []
    try:
        watch = BellWatch(sim)
        await ours.start(sim, raw, workdir)
        assert ours.hass is not None
        central_proc, central = await start_central(workdir)
        sync_proc, status_port = await start_park_sync(workdir, ours.hass.url, ours.hass.token, central)
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                gb = await park_sync_status(session, status_port)
                return bool(gb.get("connected") and gb.get("components") and gb.get("pending") == 0)

            await until("park_sync's GB/T 26875.3 link and layout", ready, 120, 0.5)
            centre = CentreWatch(session, central["url"])
            await centre.fire_at(0, 0)  # skip what the start sent
            await trial_once(sim, watch, ours, centre, warm_up, numbers, session, status_port)
            started, cpu0 = time.monotonic(), process_cpu(sync_proc.pid)
            for index, trial in enumerate(trials, 1):
                results.append(
                    await trial_once(sim, watch, ours, centre, trial, numbers, session, status_port)
                )
                if index % 10 == 0:
                    print(f"  {index:>4}/{len(trials)}", flush=True)
            wall = time.monotonic() - started
            sync_cpu = (process_cpu(sync_proc.pid) - cpu0) / wall
            final = await park_sync_status(session, status_port)
    finally:
        for proc in (sync_proc, central_proc):
            if proc is not None and proc.returncode is None:
                proc.terminate()
                await proc.wait()
        if ours.hass is not None:
            await ours.hass.stop()
        await sim.stop()
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, sync_cpu, wall, final, args.seed)
    print(
        f"host load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    return 0


def report(results: list[Result], sync_cpu: float, wall: float, final: dict[str, Any], seed: int) -> None:
    bells = [r.bells_ms for r in results if r.bells_ms is not None]
    centre_ms = [r.centre_ms for r in results if r.centre_ms is not None]
    added = [r.centre_ms - r.bells_ms for r in results if r.centre_ms is not None and r.bells_ms is not None]
    head = f"{'ms':<44}{'trials':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"
    print()
    print(head)
    print("-" * len(head))
    print(line("baseline: press -> last bell on (linkage)", bells))
    print(line("press -> fire record stored by the centre", centre_ms))
    print(line("  of which after the bells (HA, park_sync, TCP)", added))
    print("-" * len(head))
    failed = len(results) - len(centre_ms)
    print(
        f"centre ÷ baseline: p50 {percentile(centre_ms, 50) / percentile(bells, 50):.1f}x, "
        f"p99 {percentile(centre_ms, 99) / percentile(bells, 99):.1f}x; {failed} presses not at the centre "
        f"within {TRIAL_TIMEOUT:.0f} s; the standard asks for 10 s"
    )
    print(
        f"park_sync used {sync_cpu:.0%} of a CPU during the {wall:.0f} s of trials; the centre confirmed "
        f"{final.get('records_confirmed')} records in {final.get('frames_confirmed')} frames, "
        f"{final.get('retransmissions')} retransmissions; seed {seed}, one uncounted warm-up press"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=60, help="measured presses (default 60)")
    parser.add_argument("--enterprises", type=int, default=40, help="reference park size (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
