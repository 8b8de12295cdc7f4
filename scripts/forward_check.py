"""Forward check: smart_park on the newest Home Assistant release, in a real ``hass``.

The test harness lags HA releases; this check needs none. It runs in its own virtual environment
(``make forward-check``: HA pinned in requirements_forward.txt with that release's own constraints),
starts the park simulator with the reference park, a fresh ``hass`` with smart_park linked into its config
folder, onboards it and adds the integration through its config flow over the REST API, as a user would.
Then a call point is pressed at the simulator: every bell of that building must ring, the linkage state must
read ``alarm``, and a reset by the admin after the release must stop the bells. It fails on any error,
warning or deprecation report that names smart_park in hass's log. Upgrading to a newer HA is bumping one pin.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import Hass, free_ports, start_smart_park  # noqa: E402
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402

ENTERPRISES = 10
BUILDING, CONTROLLER, CHANNEL = "b1", "b1_bells", 3
BELL_TIMEOUT = 10.0
# A log line that fails the check: anything at WARNING or above naming smart_park, and any
# deprecation report (HA may attribute one it makes on our behalf to a core platform).
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")
REPORT = re.compile(r"Detected that |deprecat|will stop working in Home Assistant", re.IGNORECASE)
# The one warning every custom integration gets at start.
EXPECTED = "We found a custom integration smart_park which has not been tested by Home Assistant"


class CheckFailed(Exception):
    """The integration did not do on this HA what it does on the tested one."""


async def wait_for(what: str, condition: Callable[[], Any], timeout: float) -> float:
    """Seconds until ``condition()`` (sync or async) is true; fails after ``timeout``."""
    started = time.monotonic()
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise CheckFailed(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def offending_lines(log: str) -> list[str]:
    """Log lines that fail the check (with their traceback lines when there are some)."""
    lines, keep = [], False
    for line in log.splitlines():
        if LOG_LINE.match(line):
            keep = ("smart_park" in line and EXPECTED not in line) or bool(REPORT.search(line))
        elif not line.startswith((" ", "Traceback", "\t")) and not re.match(r"^\w*(Error|Exception)\b", line):
            keep = False
        if keep:
            lines.append(line)
    return lines


async def check(workdir: Path) -> None:
    """Run the check in ``workdir``; raises :class:`CheckFailed`."""
    raw = reference_profile(ENTERPRISES)
    profile = parse_profile(raw)
    ports = free_ports(len(profile.gateways) + 1)
    sim = ParkSimulator(
        profile, port_override=dict(zip(profile.gateways, ports, strict=False)), dynamics=False
    )
    await sim.start()
    first = next(iter(profile.gateways))
    for gateway, port in zip(raw["gateways"], ports, strict=False):
        gateway.update(host="127.0.0.1", port=port)
    hass: Hass | None = None
    try:
        hass, setup_s = await start_smart_park(
            workdir / "hass", "smart_park forward check", raw, "127.0.0.1", sim.ports[first]
        )
        print(
            f"forward check: Home Assistant {version('homeassistant')} set up smart_park in {setup_s:.1f} s"
        )
        entities = [
            e
            for e in await hass.websocket({"type": "config/entity_registry/list"})
            if e["platform"] == "smart_park"
        ]
        by_unique_id = {e["unique_id"]: e["entity_id"] for e in entities}
        print(f"forward check: config flow done, {len(entities)} smart_park entities")
        state_entity = by_unique_id[f"{profile.id}_linkage_{BUILDING}_state"]
        controllers = [
            d
            for d in profile.devices.values()
            if d.building == BUILDING and d.device_type.type == "fire_bell_controller"
        ]
        bells = [(d.id, p.key) for d in controllers for p in d.points if re.fullmatch(r"bell_\d+", p.key)]

        def ringing(on: bool) -> bool:
            return all(bool(sim.get_value(device_id, key)) is on for device_id, key in bells)

        if not ringing(False):
            raise CheckFailed("bells ring before any call point was pressed")
        sim.press_call_point(CONTROLLER, CHANNEL)
        latency = await wait_for(
            f"all {len(bells)} bells of {BUILDING} ringing", lambda: ringing(True), BELL_TIMEOUT
        )
        await wait_for(
            f"{state_entity} = alarm",
            lambda: _state_is(hass, state_entity, "alarm"),
            BELL_TIMEOUT,
        )
        rang = f"{len(bells)} bells in {latency * 1000:.0f} ms"
        print(f"forward check: call point {CONTROLLER}/{CHANNEL} rang {rang}")
        sim.release_call_point(CONTROLLER, CHANNEL)

        async def reset() -> bool:
            status, _body = await hass.call_service("smart_park", "reset_alarm", {"group": BUILDING})
            return status == 200  # refused (400) until the safety poll has read the release

        await wait_for("reset accepted after the release", reset, BELL_TIMEOUT)
        await wait_for("bells silent after the reset", lambda: ringing(False), BELL_TIMEOUT)
        print("forward check: reset by the admin stopped the bells")
    finally:
        if hass is not None:
            await hass.stop()
        await sim.stop()
    if bad := offending_lines(hass.log.read_text(encoding="utf-8", errors="replace")):
        raise CheckFailed(f"hass logged about smart_park ({hass.log}):\n" + "\n".join(bad[:60]))


async def _state_is(hass: Hass, entity_id: str, expected: str) -> bool:
    return await hass.state(entity_id) == expected


def main() -> int:
    """Command line: ``python scripts/forward_check.py [--workdir DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / ".forward-check",
        help="emptied, then holds hass's config and log",
    )
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    try:
        asyncio.run(check(args.workdir))
    except CheckFailed as err:
        print(f"forward check FAILED on Home Assistant {version('homeassistant')}: {err}", file=sys.stderr)
        return 1
    print(f"forward check passed on Home Assistant {version('homeassistant')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
