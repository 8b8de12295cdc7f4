"""The duty-room screen in Chromium on the reference park: time to first render, and alarm-to-red latency.

Both as ratios against Home Assistant itself in the same browser and the same run:

* **First render.** The admin logs in through HA's login form once; then the screen (``/smart-park``) and HA's
  default dashboard (``/lovelace``) are each loaded ``--loads`` times, alternately. The screen's figure is
  its ``smart-park-screen:first-render`` mark (the first snapshot drawn, taken in the next animation frame),
  in ms from navigation start. The dashboard's is the last time, from navigation start, at which the number
  of its rendered cards changed, the count being stable for a second after it (polled every 20 ms from the
  first commit of the page: the figure is at most 20 ms late).
* **Alarm to red.** The simulator runs in this process's loop; ``--trials`` presses of random call points
  of the park (seeded, a random 0-1 s pause before each). Stamped in the page: a MutationObserver in the
  screen's shadow root takes the time the pressed building's name turns ``fire`` and the next animation
  frame after it (reported: the frame); HA's own baseline is the ``state_changed`` event of the pressed
  call point's binary sensor arriving in the same page over HA's websocket (what any HA card would render
  from). Both are wall-clock times of the page (``performance.timeOrigin + now()``), compared with the
  press stamped in Python; the offset between the two clocks is measured before each press (the probe of 5
  with the shortest round trip; half of it is printed as the uncertainty). Between presses: release,
  ``smart_park.reset_alarm`` and ``close_incident`` over REST as the admin, and the building back to normal
  on the screen.
* Also printed: the snapshot's size, the long tasks (> 50 ms) of the page while the trials ran.

Run: ``.venv/bin/python benchmarks/screen_browser.py [--enterprises 200] [--trials 30] [--loads 5]
[--screenshot FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from playwright.async_api import Page  # noqa: E402

from benchmarks._browser import ScreenPark, chromium, login, missing_browser, screen_park  # noqa: E402
from benchmarks._hass_runner import PASSWORD, USER  # noqa: E402
from benchmarks.linkage_latency import Trial, park_groups, percentile, plan_trials  # noqa: E402
from custom_components.smart_park import ids  # noqa: E402

SCREEN = "/smart-park"
ALARM_TARGET_MS = 2000.0  # issue #13: what is burning and where, on the screen within 2 s
DASHBOARD = "/lovelace"
TRIAL_TIMEOUT = 10.0
SETTLE_TIMEOUT = 20.0
CLOCK_PROBES = 5
RESET_SETTLE = 0.3  # seconds after the release before the first reset (the safety tier polls every 0.1 s)

# Deep search through shadow roots (HA's pages are shadow trees all the way down).
DEEP = """
const deepAll = (root, test, out = []) => {
  for (const el of root.querySelectorAll("*")) {
    if (test(el)) out.push(el);
    if (el.shadowRoot) deepAll(el.shadowRoot, test, out);
  }
  return out;
};
"""

DASHBOARD_RENDER = (
    """async () => {
  """
    + DEEP
    + """
  const cards = () => deepAll(document, (el) => /^hui-.*-card$/.test(el.localName) && el.shadowRoot
    && el.shadowRoot.childElementCount > 0).length;
  let last = -1;
  let changed = performance.now();
  while (last <= 0 || performance.now() - changed < 1000) {
    const count = cards();
    if (count !== last) { last = count; changed = performance.now(); }
    if (performance.now() > 60000) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ms: changed, cards: last };
}"""
)

WATCH = (
    """async (entities) => {
  """
    + DEEP
    + """
  const now = () => performance.timeOrigin + performance.now();
  const bench = (window.__screenBench = { red: {}, frame: {}, ha: {}, longtasks: [] });
  const screen = deepAll(document, (el) => el.localName === "smart-park-screen")[0];
  new MutationObserver((records) => {
    for (const { target } of records) {
      const building = target.parentElement?.dataset?.building;
      if (!building || !target.classList.contains("name") || target.dataset.state !== "fire") continue;
      if (building in bench.red) continue;
      bench.red[building] = now();
      requestAnimationFrame(() => { bench.frame[building] = now(); });
    }
  }).observe(screen.shadowRoot, { attributes: true, subtree: true, attributeFilter: ["data-state"] });
  const watched = new Set(entities);
  const hass = document.querySelector("home-assistant").hass;
  await hass.connection.subscribeEvents((event) => {
    const { entity_id: entity, new_state: state } = event.data;
    if (!watched.has(entity) || entity in bench.ha) return;
    if (state && state.state === "on") bench.ha[entity] = now();
  }, "state_changed");
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longtasks.push(entry.duration);
  }).observe({ type: "longtask" });
  return screen.shadowRoot.querySelectorAll(".building").length;
}"""
)


@dataclass
class Results:
    """Everything measured in one run."""

    enterprises: int
    setup_s: float = 0.0
    snapshot_bytes: int = 0
    screen_ms: list[float] = field(default_factory=list)
    dashboard_ms: list[float] = field(default_factory=list)
    dashboard_cards: int = 0
    red_ms: list[float | None] = field(default_factory=list)  # the frame after the building turned red
    mutation_ms: list[float | None] = field(default_factory=list)  # the attribute change itself
    ha_ms: list[float | None] = field(default_factory=list)  # HA's state_changed in the page
    clock_error_ms: list[float] = field(default_factory=list)
    longtasks_ms: list[float] = field(default_factory=list)
    load: tuple[float, float, float] = (math.nan, math.nan, math.nan)  # the host's load average at the end


async def _snapshot_bytes(park: ScreenPark) -> int:
    """The size of the screen's first message (the snapshot), as the admin's websocket receives it."""
    hass = park.hass
    async with hass.session.ws_connect(f"{hass.url}/api/websocket", max_msg_size=0) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": hass.token})
        await ws.receive_json()
        await ws.send_json({"id": 1, "type": "smart_park/screen/subscribe"})
        while True:
            raw = await ws.receive_str()
            if '"snapshot"' in raw[:200]:
                return len(raw.encode())


async def call_point_entities(park: ScreenPark) -> dict[tuple[str, int], str]:
    """(controller, channel) -> the entity id of that call point's binary sensor (by unique id)."""
    registry = await park.hass.websocket({"type": "config/entity_registry/list"})
    by_unique = {entry["unique_id"]: entry["entity_id"] for entry in registry}
    park_id = park.raw["park"]["id"]
    out: dict[tuple[str, int], str] = {}
    for group in park_groups(park.sim.profile).values():
        for device, channel in group.call_points:
            entity = by_unique.get(ids.point(park_id, device, f"call_point_{channel}"))
            if entity is not None:
                out[(device, channel)] = entity
    return out


async def first_renders(page: Page, url: str, loads: int, results: Results) -> None:
    """The screen and HA's dashboard, loaded alternately ``loads`` times each."""
    for _ in range(loads):
        await page.goto(f"{url}{SCREEN}")
        await page.locator("smart-park-screen[ready]").wait_for(timeout=60_000)
        mark = await page.evaluate(
            "performance.getEntriesByName('smart-park-screen:first-render')[0].startTime"
        )
        results.screen_ms.append(float(mark))
        await page.goto(f"{url}{DASHBOARD}", wait_until="commit")
        rendered: dict[str, Any] = await page.evaluate(DASHBOARD_RENDER)
        results.dashboard_ms.append(float(rendered["ms"]))
        results.dashboard_cards = int(rendered["cards"])


async def clock_offset(page: Page, probes: int = CLOCK_PROBES) -> tuple[float, float]:
    """Page wall clock minus Python's, in ms, and half the round trip it was measured in.

    The probe with the shortest round trip is kept: one that waited behind a long task of the page would
    misplace the offset by up to that task's length.
    """
    best: tuple[float, float] | None = None
    for _ in range(probes):
        before = time.time() * 1000
        page_now = float(await page.evaluate("performance.timeOrigin + performance.now()"))
        after = time.time() * 1000
        if best is None or (after - before) / 2 < best[1]:
            best = (page_now - (before + after) / 2, (after - before) / 2)
    assert best is not None
    return best


async def _bench(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = await page.evaluate("window.__screenBench")
    return value


async def settle(park: ScreenPark, page: Page, trial: Trial) -> None:
    """Release, reset the group, close its fire incident, and wait for the building to be normal again."""
    hass = park.hass
    park.sim.release_call_point(trial.device_id, trial.channel)
    await asyncio.sleep(RESET_SETTLE)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (await hass.call_service("smart_park", "reset_alarm", {"group": trial.building}))[0] != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reset_alarm {trial.building} refused until the deadline")
        await asyncio.sleep(0.1)
    row = page.locator(f"smart-park-screen tr.incident[data-kind='fire'][data-building='{trial.building}']")
    for incident in await row.evaluate_all(
        "rows => rows.filter((r) => r.dataset.incidentState !== 'closed').map((r) => r.dataset.incident)"
    ):
        status, body = await hass.call_service("smart_park", "close_incident", {"incident_id": incident})
        if status != 200:
            raise RuntimeError(f"close_incident {incident}: {status} {body}")
    name = page.locator(f"smart-park-screen .building[data-building='{trial.building}'] > .name")
    while await name.get_attribute("data-state") != "normal":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{trial.building} not back to normal on the screen")
        await asyncio.sleep(0.05)


async def press(
    park: ScreenPark, page: Page, trial: Trial, entity: str, results: Results, screenshot: Path | None = None
) -> None:
    """One press: its latencies to the red building (frame and mutation) and to HA's own state event."""
    await page.evaluate(
        "([b, e]) => { const s = window.__screenBench; delete s.red[b]; delete s.frame[b]; delete s.ha[e]; }",
        [trial.building, entity],
    )
    await asyncio.sleep(trial.pause)
    offset, error = await clock_offset(page)
    pressed = time.time() * 1000
    park.sim.press_call_point(trial.device_id, trial.channel)
    deadline = time.monotonic() + TRIAL_TIMEOUT
    while True:
        bench = await _bench(page)
        if trial.building in bench["frame"] and entity in bench["ha"]:
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)

    def since(stamps: dict[str, float], key: str) -> float | None:
        return stamps[key] - offset - pressed if key in stamps else None

    if screenshot is not None:
        await page.screenshot(path=str(screenshot))
    results.red_ms.append(since(bench["frame"], trial.building))
    results.mutation_ms.append(since(bench["red"], trial.building))
    results.ha_ms.append(since(bench["ha"], entity))
    results.clock_error_ms.append(error)
    await settle(park, page, trial)


async def measure(args: argparse.Namespace, workdir: Path) -> Results:
    """Start the park and hass, log in, measure first renders, then the presses."""
    results = Results(args.enterprises)
    started = time.monotonic()
    print(f"starting the simulator and hass with the {args.enterprises}-enterprise park ...", flush=True)
    async with screen_park(workdir, args.enterprises) as park, chromium() as browser:
        results.setup_s = time.monotonic() - started
        results.snapshot_bytes = await _snapshot_bytes(park)
        entities = await call_point_entities(park)
        page = await browser.new_page()
        await login(page, park.hass.url, SCREEN, USER, PASSWORD)
        await page.locator("smart-park-screen[ready]").wait_for(timeout=60_000)
        print(f"ready after {results.setup_s:.0f} s; {args.loads} loads of each page", flush=True)
        await first_renders(page, park.hass.url, args.loads, results)
        await page.goto(f"{park.hass.url}{SCREEN}")
        await page.locator("smart-park-screen[ready]").wait_for(timeout=60_000)
        buildings = await page.evaluate(WATCH, sorted(set(entities.values())))
        groups = park_groups(park.sim.profile)
        trials = plan_trials(groups, args.trials + 1, seed=args.seed)
        print(f"{buildings} buildings on the screen; warm-up + {args.trials} presses", flush=True)
        for index, trial in enumerate(trials):
            park.hass.check_alive()
            shot = args.screenshot if index == 0 else None  # the warm-up's red building, for the docs
            await press(park, page, trial, entities[(trial.device_id, trial.channel)], results, shot)
            if index == 0:  # the warm-up is not counted
                for figures in (results.red_ms, results.mutation_ms, results.ha_ms):
                    figures.clear()
                results.clock_error_ms.clear()
                await page.evaluate("window.__screenBench.longtasks = []")
            elif index % 10 == 0:
                print(f"  {index:>3}/{args.trials}  last {_ms(results.red_ms[-1])} ms to red", flush=True)
        results.longtasks_ms = list((await _bench(page))["longtasks"])
        results.load = os.getloadavg()
    return results


# --- report ------------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0f}"


def _pcts(values: list[float | None]) -> tuple[float, float, int]:
    done = [v for v in values if v is not None]
    return percentile(done, 50), percentile(done, 99), len(values) - len(done)


def _ratio(ours: float, baseline: float) -> str:
    if math.isnan(ours) or math.isnan(baseline) or baseline <= 0:
        return "-"
    return f"{ours / baseline:.2f}×"


def report_lines(results: Results) -> list[str]:
    """The figures, each with its baseline and the ratio."""
    screen = statistics.median(results.screen_ms) if results.screen_ms else math.nan
    dashboard = statistics.median(results.dashboard_ms) if results.dashboard_ms else math.nan
    red50, red99, red_missed = _pcts(results.red_ms)
    mut50, mut99, _ = _pcts(results.mutation_ms)
    ha50, ha99, ha_missed = _pcts(results.ha_ms)
    long_tasks = results.longtasks_ms
    red = [v for v in results.red_ms if v is not None]
    lines = [
        f"Duty-room screen in Chromium, reference park of {results.enterprises} enterprises "
        f"(hass + park ready in {results.setup_s:.0f} s; snapshot {results.snapshot_bytes / 1024:.0f} KiB)",
        "",
        f"{'':34}{'screen':>10}{'HA baseline':>14}{'ratio':>8}",
        f"{'first render, median (ms)':34}{_ms(screen):>10}{_ms(dashboard):>14}{_ratio(screen, dashboard):>8}"
        f"   baseline: {DASHBOARD} ({results.dashboard_cards} cards), {len(results.screen_ms)} loads each",
        f"{'alarm to red, p50 (ms)':34}{_ms(red50):>10}{_ms(ha50):>14}{_ratio(red50, ha50):>8}"
        "   baseline: the call point's state_changed in the same page",
        f"{'alarm to red, p99 (ms)':34}{_ms(red99):>10}{_ms(ha99):>14}{_ratio(red99, ha99):>8}",
        f"{'  (attribute change, p50 / p99)':34}{_ms(mut50) + ' / ' + _ms(mut99):>10}",
        "",
        f"presses: {len(results.red_ms)}; not red within {TRIAL_TIMEOUT:.0f} s: {red_missed}; "
        f"slowest {_ms(max(red, default=math.nan))} ms, over {ALARM_TARGET_MS / 1000:.0f} s: "
        f"{sum(v > ALARM_TARGET_MS for v in red)}; "
        f"no HA state event: {ha_missed}; clock offset uncertainty ≤ "
        f"{max(results.clock_error_ms, default=math.nan):.1f} ms",
        f"long tasks (> 50 ms) in the page during the presses: {len(long_tasks)}"
        + (f", longest {max(long_tasks):.0f} ms" if long_tasks else ""),
        f"host load average at the end (1/5/15 min): {' / '.join(f'{v:.1f}' for v in results.load)} "
        f"on {os.cpu_count()} CPUs",
    ]
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, default=200, help="reference park size (default 200)")
    parser.add_argument("--trials", type=int, default=30, help="call-point presses counted (default 30)")
    parser.add_argument("--loads", type=int, default=5, help="page loads of each page (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the presses and pauses")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the screen at the warm-up's alarm")
    return parser


async def run(args: argparse.Namespace) -> int:
    if (reason := missing_browser()) is not None:
        print(reason, file=sys.stderr)
        return 2
    random.seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="screen-bench-") as tmp:
        results = await measure(args, Path(tmp))
    print()
    print("\n".join(report_lines(results)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
