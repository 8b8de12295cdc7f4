"""The duty-room screen in a real browser against a real hass: the park, its users, Chromium, the page.

* The park (simulator in the test's loop) and hass with the frontend: ``benchmarks._browser.screen_park``.
* :func:`add_user`: an HA user with a password (an operator is not an administrator), and their language.
* Chromium itself: ``benchmarks._browser`` (shared with the screen's benchmark).
* :class:`Screen`: HA's login form, the panel, the screen's elements, screenshots to ``$SCREENSHOT_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page

from benchmarks._browser import login
from benchmarks._hass_runner import Hass

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-output" / "screenshots")
TRANSLATIONS = ROOT / "custom_components" / "smart_park" / "translations"
PASSWORD = "operator-password"
# HA's frontend reads the user's language from this user-data key (Profile → Language).
LANGUAGE_DATA = {"number_format": "language", "time_format": "language", "date_format": "language"}


# --- the park and its users ------------------------------------------------------------------------------


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
        """Open ``path`` through HA's login form (a screenshot of the filled form)."""
        await login(self.page, self.url, path, username, password, before_submit=lambda: self.shot("login"))

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
