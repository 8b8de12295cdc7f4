"""Duty-room screen benchmark: snapshot build and delta cost on the 200-enterprise reference park.

The integration runs in an in-process Home Assistant (the test harness's ``async_test_home_assistant``, the
same HA the integration tests use) against the park simulator over real TCP on 127.0.0.1, with polls on
demand. The screen follows the park as for a subscriber (``ScreenHub.async_park``). Measured, each as the
median of repeated runs with ``time.perf_counter``:

* **snapshot**: ``ParkScreen.snapshot()`` serialised (what a new subscriber costs), against the baseline of
  the same data as the integration's older streams send it: every incident's ``describe()`` plus every
  enterprise item (``smart_park/incidents/list`` + ``smart_park/enterprises/list``), serialised.
* **quiet poll**: the screen's hook on a poll that changed nothing (every gateway's fast tier, the readings
  of the last real poll), against the baseline of that poll itself over TCP (``coordinator.async_refresh``).
* **alarm delta**: a call point pressed at the simulator, one safety poll, then the delta built (the fire
  incident with names, floor and building states, figures), against the baseline of ``describe()`` of that
  incident (what the incidents stream sends for it) and of the snapshot.
* **value delta**: one tank's level changed and polled, then the delta built, against ``describe()`` of one
  incident.

Figures are printed (with ratios to their baselines from the same run), not asserted.
Run: ``.venv/bin/python benchmarks/screen_snapshot.py [--enterprises 200] [--incidents 30] [--repeat 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from homeassistant import loader  # noqa: E402
from homeassistant.const import CONF_HOST, CONF_PORT  # noqa: E402
from homeassistant.core import Context, HomeAssistant  # noqa: E402
from homeassistant.helpers.json import json_bytes  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.smart_park.const import CONF_INTERVAL, CONF_PROFILE, DOMAIN  # noqa: E402
from custom_components.smart_park.engine.catalogue import Tier  # noqa: E402
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from custom_components.smart_park.incidents import Incident, IncidentKind  # noqa: E402
from custom_components.smart_park.screen import DATA_SCREEN  # noqa: E402
from custom_components.smart_park.screen.park import ParkScreen  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402
from simulator.server import ParkSimulator  # noqa: E402


def median_ms(samples: list[float]) -> float:
    """The median of samples in seconds, in milliseconds."""
    return statistics.median(samples) * 1000


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    """Run ``function`` ``repeat`` times; the durations."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


async def timed_async(function: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    """Await ``function()`` ``repeat`` times; the durations."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await function()
        out.append(time.perf_counter() - start)
    return out


async def start_park(hass: HomeAssistant, enterprises: int) -> tuple[MockConfigEntry, ParkSimulator]:
    """The reference park on the simulator (dynamics off) and its entry, polling only on demand."""
    document = reference_profile(enterprises)
    sim = ParkSimulator(
        parse_profile(document),
        port_override=dict.fromkeys((str(g["id"]) for g in document["gateways"]), 0),
        dynamics=False,
    )
    await sim.start()
    for gateway in document["gateways"]:
        gateway["port"] = sim.ports[gateway["id"]]
    first = document["gateways"][0]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=document["park"]["name"],
        unique_id=document["park"]["id"],
        data={CONF_HOST: "127.0.0.1", CONF_PORT: first["port"], CONF_PROFILE: document},
        options={CONF_INTERVAL[tier]: 3600.0 for tier in Tier},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry, sim


def open_incidents(entry: MockConfigEntry, count: int, user_id: str) -> None:
    """``count`` incidents spread over the park, a third acknowledged by a user, a sixth closed."""
    runtime = entry.runtime_data
    buildings = sorted(runtime.profile.buildings)
    enterprises = sorted(runtime.enterprises.records)
    kinds = [IncidentKind.ONE_KEY, IncidentKind.GAS, IncidentKind.FIRE]
    for number in range(count):
        incident = runtime.incidents.open(
            kinds[number % 3],
            source=f"bench:{number}",
            building=buildings[number % len(buildings)],
            floor=1 + number % 6,
            enterprise=enterprises[number % len(enterprises)],
        )
        if number % 3 == 0:
            runtime.incidents.acknowledge(incident.id, context=Context(user_id=user_id))
        if number % 6 == 0:
            runtime.incidents.close(incident.id, context=Context(user_id=user_id))


def baseline_lists(entry: MockConfigEntry) -> bytes:
    """The same incidents and enterprises as the older websocket lists send them."""
    runtime = entry.runtime_data
    incidents = [runtime.incidents.describe(incident) for incident in runtime.incidents.incidents()]
    return json_bytes({"incidents": incidents, "enterprises": runtime.enterprises.items(personal=False)})


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run."""
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # let HA load custom_components/smart_park
            user = await hass.auth.async_create_user("值班员 王伟", group_ids=["system-admin"])
            entry, sim = await start_park(hass, args.enterprises)
            try:
                return await _measure(hass, entry, sim, user.id, args)
            finally:
                await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()
                await sim.stop()


async def _measure(
    hass: HomeAssistant, entry: MockConfigEntry, sim: ParkSimulator, user_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    runtime = entry.runtime_data
    open_incidents(entry, args.incidents, user_id)
    hub = hass.data[DATA_SCREEN]
    start = time.perf_counter()
    park = await hub.async_park(entry)
    follow = time.perf_counter() - start
    await asyncio.sleep(0.3)  # the start's own flush
    out: dict[str, Any] = {
        "devices": len(runtime.profile.devices),
        "enterprises": len(runtime.enterprises.records),
        "incidents": len(runtime.incidents.incidents()),
        "follow_ms": follow * 1000,
    }
    snapshot = json_bytes({"type": "snapshot", "parks": [park.snapshot()]})
    out["snapshot_kib"] = len(snapshot) / 1024
    out["snapshot"] = timed(lambda: json_bytes({"type": "snapshot", "parks": [park.snapshot()]}), args.repeat)
    out["baseline_lists"] = timed(lambda: baseline_lists(entry), args.repeat)

    fast = [c for key, c in runtime.coordinators.items() if key[1] is Tier.FAST]
    out["fast_devices"] = sum(len(c.data or {}) for c in fast)
    out["poll"] = await timed_async(lambda: asyncio.gather(*(c.async_refresh() for c in fast)), args.repeat)

    async def quiet_hook() -> None:
        for coordinator in fast:
            await park._async_on_readings(coordinator.gateway_id, coordinator.tier, coordinator.data)

    out["quiet_hook"] = await timed_async(quiet_hook, args.repeat)
    await asyncio.sleep(0.3)
    with HeldFlushes(park) as held:
        out["alarm_delta"], out["describe_one"] = await alarm_deltas(hass, park, sim, user_id, args.repeat)
        out["alarm_sent"] = [d for d in held.sent if "incidents" in d]
        held.sent.clear()
        out["value_delta"] = await value_deltas(hass, park, sim, args.repeat)
        out["value_sent"] = [d for d in held.sent if "devices" in d]
    return out


async def send_delta(park: ParkScreen) -> None:
    """Build and send the pending delta now (inside :class:`HeldFlushes`, so the screen's own flush does
    not take the work first)."""
    await park._async_send_delta()


class HeldFlushes:
    """Keeps the screen from flushing by itself while a benchmark times flushes; records what was sent."""

    def __init__(self, park: ParkScreen) -> None:
        self.park = park
        self.sent: list[dict[str, Any]] = []

    def __enter__(self) -> HeldFlushes:
        park = self.park
        if park._handle is not None:
            park._handle.cancel()
            park._handle = None
        park._flushing = True  # _schedule() does nothing while a flush runs
        self._remove = park.listeners.add(lambda payload: self.sent.append(payload.data))
        return self

    def __exit__(self, *_exc: object) -> None:
        self._remove()
        self.park._flushing = False


async def alarm_deltas(
    hass: HomeAssistant, park: ParkScreen, sim: ParkSimulator, user_id: str, repeat: int
) -> tuple[list[float], list[float]]:
    """Press a call point, poll, build the delta; reset between trials (the incident stays open)."""
    runtime = park.runtime
    group = next(iter(runtime.linkage.groups.values()))
    controller = group.controllers[0]
    safety = [c for key, c in runtime.coordinators.items() if key == (controller.device.gateway, Tier.SAFETY)]
    deltas: list[float] = []
    describe: list[float] = []
    for trial in range(min(repeat, 10)):
        channel = 1 + trial % controller.bells
        sim.press_call_point(controller.id, channel)
        for coordinator in safety:
            await coordinator.async_refresh()
        start = time.perf_counter()
        await send_delta(park)
        deltas.append(time.perf_counter() - start)
        incident = runtime.incidents.open_incidents()[-1]

        def describe_it(incident: Incident = incident) -> bytes:
            return json_bytes(runtime.incidents.describe(incident))

        describe += timed(describe_it, 20)
        sim.release_call_point(controller.id, channel)
        for coordinator in safety:
            await coordinator.async_refresh()
        await runtime.linkage.async_reset(group.id, Context(user_id=user_id), None)
        await hass.async_block_till_done()
        await asyncio.sleep(0.3)
    return deltas, describe


async def value_deltas(hass: HomeAssistant, park: ParkScreen, sim: ParkSimulator, repeat: int) -> list[float]:
    """Change one tank's level, poll its tier, build the delta."""
    runtime = park.runtime
    tank = next(d for d in runtime.profile.devices.values() if d.device_type.type == "fire_water_tank")
    normal = [c for key, c in runtime.coordinators.items() if key == (tank.gateway, Tier.NORMAL)]
    out = []
    for trial in range(repeat):
        sim.set_value(tank.id, "level", 3 + (trial % 50) / 100)
        for coordinator in normal:
            await coordinator.async_refresh()
        start = time.perf_counter()
        await send_delta(park)
        out.append(time.perf_counter() - start)
        await hass.async_block_till_done()
    return out


def report(figures: dict[str, Any]) -> list[str]:
    """The printed report."""
    snapshot, lists = median_ms(figures["snapshot"]), median_ms(figures["baseline_lists"])
    poll, hook = median_ms(figures["poll"]), median_ms(figures["quiet_hook"])
    alarm, describe = median_ms(figures["alarm_delta"]), median_ms(figures["describe_one"])
    value = median_ms(figures["value_delta"])
    alarm_keys = sorted(
        {key for delta in figures["alarm_sent"] for key in delta} - {"type", "config_entry_id", "park_id"}
    )
    return [
        f"Reference park: {figures['enterprises']} enterprises, {figures['devices']} devices, "
        f"{figures['incidents']} incidents kept",
        f"first subscriber follows the park: {figures['follow_ms']:.1f} ms (once)",
        f"snapshot (built + JSON, {figures['snapshot_kib']:.0f} KiB): {snapshot:.2f} ms median; baseline "
        f"incidents describe() + enterprise items of the same data: {lists:.2f} ms "
        f"-> {snapshot / lists:.2f}x",
        f"quiet fast poll ({figures['fast_devices']} devices), the screen's hook: {hook * 1000:.0f} µs; "
        f"baseline the poll itself over TCP: {poll:.2f} ms -> {hook / poll:.3f}x "
        f"({100 * hook / poll:.1f} % of a poll)",
        f"alarm delta (call point -> fire incident, floor, building, figures): {alarm:.2f} ms; baseline "
        f"describe() + JSON of that incident: {describe * 1000:.0f} µs -> {alarm / describe:.1f}x; "
        f"{alarm / snapshot:.3f}x a snapshot",
        f"  ({len(figures['alarm_sent'])} alarm deltas, with {', '.join(alarm_keys)})",
        f"value delta (one tank's level): {value:.2f} ms -> {value / describe:.1f}x describe(), "
        f"{value / snapshot:.3f}x a snapshot ({len(figures['value_sent'])} deltas with the tank)",
    ]


def main() -> None:
    """Parse the arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, default=200)
    parser.add_argument("--incidents", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=50)
    figures = asyncio.run(measure(parser.parse_args()))
    print("\n".join(report(figures)))


if __name__ == "__main__":
    main()
