"""Debian's Chromium driven by Playwright: the flags that work here, a fresh profile, HA's login form.

Shared by the duty-room screen's browser tests (``tests/browser``) and its benchmark (``screen_browser.py``),
with :func:`screen_park`: the reference park on a simulator in the caller's event loop and a ``hass`` with
the frontend (started through ``demo/hass.py`` so that HA's own pages load, see that file).
Chromium comes from Debian (``make test`` installs ``chromium`` and ``fonts-noto-cjk`` as root), not from
Playwright's own browser download.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, ViewportSize, async_playwright

from benchmarks._hass_runner import ROOT, Hass, start_smart_park
from benchmarks.linkage_latency import park_document
from custom_components.smart_park.engine.profile import parse_profile
from simulator.server import ParkSimulator

CHROMIUM = Path("/usr/bin/chromium")
# Flags that work here: headless, no GPU, no sandbox (root), nothing fetched from the network by the browser.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WALL_SCREEN: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}
LOGIN_TIMEOUT_MS = 30_000


def missing_browser() -> str | None:
    """Why Chromium cannot be driven here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `make test` installs Debian's chromium and fonts-noto-cjk (as root)"
    return None


@contextlib.asynccontextmanager
async def chromium(viewport: ViewportSize = WALL_SCREEN) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, in a fresh profile folder that is removed afterwards."""
    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="smart-park-chromium-") as profile:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=list(CHROMIUM_FLAGS),
                headless=True,
                viewport=viewport,
                locale="en-US",
            )
            try:
                yield context
            finally:
                await context.close()


async def login(
    page: Page,
    url: str,
    path: str,
    username: str,
    password: str,
    *,
    before_submit: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Open ``url + path``: HA sends the browser to its login form; log in there and come back to ``path``."""
    await page.goto(f"{url}{path}")
    await page.locator("input[name=username]").fill(username)
    await page.locator("input[name=password]").fill(password)
    if before_submit is not None:
        await before_submit()
    await page.locator("input[name=password]").press("Enter")
    await page.wait_for_url(re.compile(re.escape(f"{url}{path}")), timeout=LOGIN_TIMEOUT_MS)


@dataclass
class ScreenPark:
    """The simulator and the hass running the park."""

    sim: ParkSimulator
    hass: Hass
    raw: dict[str, Any]


@contextlib.asynccontextmanager
async def screen_park(workdir: Path, enterprises: int = 40) -> AsyncIterator[ScreenPark]:
    """The reference park (``enterprises``) on a simulator in this loop and a hass with smart_park for it."""
    raw = park_document(enterprises)
    sim = ParkSimulator(parse_profile(raw))
    await sim.start()
    try:
        first = next(iter(sim.profile.gateways.values()))
        hass, _ = await start_smart_park(
            workdir / "hass",
            "Smart Park screen test",
            raw,
            first.host,
            first.port,
            extra={"frontend": None, "config": None},  # config: user management over the websocket
            launcher=ROOT / "demo" / "hass.py",
        )
        try:
            yield ScreenPark(sim, hass, raw)
        finally:
            await hass.stop()
    finally:
        await sim.stop()
