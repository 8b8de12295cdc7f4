"""The duty-room screen in a real browser against a real hass: the park, its users, Chromium, the page.

* :func:`screen_park`: the reference park on the simulator in this test's event loop, and a ``hass`` process
  (``benchmarks._hass_runner``: onboarded owner, smart_park added through its config flow) with the frontend,
  started through ``demo/hass.py`` so HA's own pages load (see that file).
* :func:`add_user`: an HA user with a password (an operator is not an administrator), and their language.
* :func:`chromium`: Debian's ``chromium`` driven by Playwright, in a fresh profile folder.
* :class:`Screen`: HA's login form, the panel, the screen's elements, screenshots to ``$SCREENSHOT_DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Locator, Page, async_playwright

from benchmarks._hass_runner import Hass, start_smart_park
from benchmarks.linkage_latency import park_document
from custom_components.smart_park.engine.profile import parse_profile
from simulator.server import ParkSimulator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Flags that work in this environment (no GPU, no sandbox for root, nothing fetched from the network).
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
WALL_SCREEN = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-output" / "screenshots")
TRANSLATIONS = ROOT / "custom_components" / "smart_park" / "translations"
PASSWORD = "operator-password"
# HA's frontend reads the user's language from this user-data key (Profile → Language).
LANGUAGE_DATA = {"number_format": "language", "time_format": "language", "date_format": "language"}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `make test` installs Debian's chromium and fonts-noto-cjk (as root)"
    return None


# --- the park and its users ------------------------------------------------------------------------------


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
            extra={"frontend": None, "config": None},
            launcher=ROOT / "demo" / "hass.py",
        )
        try:
            yield ScreenPark(sim, hass, raw)
        finally:
            await hass.stop()
    finally:
        await sim.stop()


async def websocket_as(hass: Hass, token: str, command: dict[str, Any]) -> Any:
    """One websocket command as ``token``'s user."""
    async with hass.session.ws_connect(f"{hass.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **command})
        reply = await ws.receive_json()
    assert reply.get("success"), f"{command['type']}: {reply.get('error')}"
    return reply.get("result")


async def login_token(hass: Hass, username: str, password: str) -> str:
    """An access token through HA's login flow, as a browser gets one."""
    client_id = f"{hass.url}/"
    async with hass.session.post(
        f"{hass.url}/auth/login_flow",
        json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
    ) as resp:
        flow = await resp.json()
    async with hass.session.post(
        f"{hass.url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": username, "password": password},
    ) as resp:
        result = await resp.json()
    assert result.get("type") == "create_entry", result
    async with hass.session.post(
        f"{hass.url}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
    ) as resp:
        return str((await resp.json())["access_token"])


async def add_user(hass: Hass, name: str, username: str, *, admin: bool = False, language: str = "en") -> str:
    """A new HA user who logs in with ``username`` / :data:`PASSWORD` and reads HA in ``language``."""
    group = "system-admin" if admin else "system-users"
    created = await hass.websocket({"type": "config/auth/create", "name": name, "group_ids": [group]})
    user_id = str(created["user"]["id"])
    await hass.websocket(
        {
            "type": "config/auth_provider/homeassistant/create",
            "user_id": user_id,
            "username": username,
            "password": PASSWORD,
        }
    )
    token = await login_token(hass, username, PASSWORD)
    value = {"language": language, **LANGUAGE_DATA}
    await websocket_as(hass, token, {"type": "frontend/set_user_data", "key": "language", "value": value})
    return user_id


def exception_text(language: str, key: str, **placeholders: str) -> str:
    """The integration's translated exception message, as the screen should show it."""
    data = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    text = str(data["exceptions"][key]["message"])
    return re.sub(r"\{(\w+)\}", lambda m: placeholders.get(m.group(1), m.group(0)), text)


# --- the browser -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def chromium(viewport: dict[str, int] = WALL_SCREEN) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, in a fresh profile folder that is removed afterwards."""
    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="smart-park-chromium-") as profile:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=list(CHROMIUM_FLAGS),
                headless=True,
                viewport=viewport,  # type: ignore[arg-type]
                locale="en-US",
            )
            try:
                yield context
            finally:
                await context.close()


@dataclass
class Screen:
    """One page of the browser on HA, with the screen's elements and numbered screenshots."""

    page: Page
    url: str
    shots: Path
    errors: list[str] = field(default_factory=list)
    step: int = 0  # screenshots are numbered on from here

    def __post_init__(self) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    @property
    def element(self) -> Locator:
        return self.page.locator("smart-park-screen")

    async def shot(self, name: str, *, full_page: bool = False) -> Path:
        """Save a PNG of the page as ``NN-name.png``."""
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path

    async def login(self, username: str, password: str, *, path: str = "/smart-park") -> None:
        """Open ``path``: HA sends the browser to its login form; log in there and wait for the screen."""
        await self.page.goto(f"{self.url}{path}")
        await self.page.locator("input[name=username]").fill(username)
        await self.page.locator("input[name=password]").fill(password)
        await self.shot("login")
        await self.page.locator("input[name=password]").press("Enter")
        await self.page.wait_for_url(re.compile(re.escape(f"{self.url}{path}")), timeout=30_000)

    async def ready(self, language: str = "en", timeout: float = 30.0) -> None:
        """The screen has drawn the park, in ``language``."""
        drawn = self.page.locator(f"smart-park-screen[ready][lang='{language}']")
        await drawn.wait_for(timeout=timeout * 1000)

    def building(self, building: str) -> Locator:
        return self.element.locator(f".building[data-building='{building}'] > .name")

    def floor(self, building: str, floor: int) -> Locator:
        return self.element.locator(f".building[data-building='{building}'] .floor[data-floor='{floor}']")

    def incident(self, kind: str, building: str) -> Locator:
        return self.element.locator(f"tr.incident[data-kind='{kind}'][data-building='{building}']")

    def errors_shown(self) -> Locator:
        return self.element.locator(".errors .error")

    async def state(self, locator: Locator) -> str | None:
        return await locator.get_attribute("data-state")


async def wait_until(what: str, probe: Callable[[], Any], timeout: float = 5.0) -> float:
    """Poll ``probe`` (sync or async) until true; the seconds it took."""
    started = time.monotonic()
    while True:
        result = probe()
        if hasattr(result, "__await__"):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)
