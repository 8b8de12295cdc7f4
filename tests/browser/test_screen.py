"""The duty-room screen in Chromium against a real hass running the reference park on the simulator (#13).

An operator (an HA user, not an administrator) logs in through HA's login form and opens /smart-park; a call
point pressed at the simulator turns the building red and brings its incident row within 2 s; a one-key alarm
acknowledged from the table lights the terminal's lamp at the simulator and shows the operator's name; a
reset without the PIN is refused with HA's translated message. The same in Simplified Chinese (the user's
language), and an administrator resets and closes from the screen. Screenshots of every step go to
``$SCREENSHOT_DIR`` (default ``test-output/screenshots/``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import expect

from benchmarks._browser import PHONE, chromium, missing_browser, screen_park
from benchmarks._hass_runner import PASSWORD as OWNER_PASSWORD
from benchmarks._hass_runner import USER as OWNER
from simulator.server import ParkSimulator

from .screen import PASSWORD, SCREENSHOT_DIR, Screen, add_user, exception_text, wait_until

ALARM_WITHIN = 2.0  # seconds from the press at the field to the red building and the incident row
OPERATOR_NAMES = {"en": "Zhang San", "zh-Hans": "张三"}
BUILDING_1 = "1号楼"  # the reference park's names
TERMINAL = "e001_one_key_alarm"  # enterprise e001's door terminal, building 1 floor 1


@pytest.fixture(autouse=True)
def _browser() -> None:
    if (reason := missing_browser()) is not None:
        pytest.fail(reason)


def bells(sim: ParkSimulator, device: str, on: bool) -> bool:
    """Whether every bell of the controller is ``on`` at the simulator."""
    values = sim.image(device).values()
    keys = [key for key in values if key.startswith("bell_") and not key.startswith("bell_circuit")]
    return bool(keys) and all(bool(values[key]) is on for key in keys)


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
async def test_operator_sees_the_fire_acknowledges_an_alarm_and_cannot_reset(
    socket_enabled: None, tmp_path: Path, language: str
) -> None:
    name = OPERATOR_NAMES[language]
    async with screen_park(tmp_path) as park, chromium() as browser:
        await add_user(park.hass, name, "operator", language=language)
        screen = Screen(await browser.new_page(), park.hass.url, SCREENSHOT_DIR / f"operator-{language}")
        await screen.login("operator", PASSWORD)
        await screen.ready(language)
        assert await screen.state(screen.building("b1")) == "normal"
        await expect(screen.element.locator("header h1")).to_contain_text(park.raw["park"]["name"])
        await screen.shot("screen")

        # A call point on floor 3 of building 1: the building turns red and its incident row appears.
        pressed = time.monotonic()
        park.sim.press_call_point("b1_bells", 3)
        await screen.element.locator(".building[data-building='b1'] > .name[data-state='fire']").wait_for(
            timeout=ALARM_WITHIN * 1000
        )
        fire = screen.incident("fire", "b1")
        await fire.wait_for(timeout=max(1.0, (ALARM_WITHIN - (time.monotonic() - pressed)) * 1000))
        elapsed = time.monotonic() - pressed
        assert elapsed <= ALARM_WITHIN, f"red and listed after {elapsed:.2f} s"
        assert await screen.state(screen.floor("b1", 3)) == "fire"
        await expect(fire.locator("td.place")).to_contain_text(BUILDING_1)
        header = screen.element.locator("header")
        await expect(header).to_contain_class("alarm")
        await expect(header.locator(".banner")).to_contain_text(BUILDING_1)
        await screen.shot("fire")

        # A one-key alarm at an enterprise's door, acknowledged from the table: the lamp comes on at the
        # terminal and the row names the operator.
        park.sim.press_alarm_button(TERMINAL)
        alarm = screen.incident("one_key", "b1")
        await alarm.wait_for(timeout=5000)
        assert not park.sim.get_value(TERMINAL, "acknowledge_lamp")
        await alarm.locator("button.acknowledge_incident").click()
        await wait_until("the terminal's lamp on", lambda: park.sim.get_value(TERMINAL, "acknowledge_lamp"))
        await expect(alarm.locator("td.acknowledged")).to_have_text(name)
        await expect(alarm).to_have_attribute("data-incident-state", "acknowledged")
        await screen.shot("acknowledged")

        # Reset without the PIN: the prompt, then HA's refusal in the user's language; the bells ring on.
        await fire.locator("button.reset_alarm").click()
        await screen.element.locator(".pin-host input[name=pin]").wait_for()
        await screen.shot("pin-prompt")
        await screen.element.locator(".pin-host button.ok").click()
        refusal = exception_text(language, "linkage_admin_required")
        await expect(screen.errors_shown()).to_contain_text(refusal)
        assert await screen.state(screen.building("b1")) == "fire"
        assert bells(park.sim, "b1_bells", on=True)
        await screen.shot("reset-refused")

        if language == "zh-Hans":  # the phone layout, logged in already (same browser profile)
            phone = Screen(await browser.new_page(), park.hass.url, screen.shots, step=screen.step)
            await phone.page.set_viewport_size(PHONE)
            await phone.page.goto(f"{park.hass.url}/smart-park")
            await phone.ready(language)
            await expect(phone.element).to_have_attribute("narrow", "")
            await phone.shot("phone")
            assert phone.errors == []
        assert screen.errors == []


async def test_admin_resets_and_closes_from_the_screen(socket_enabled: None, tmp_path: Path) -> None:
    async with screen_park(tmp_path) as park, chromium() as browser:
        screen = Screen(await browser.new_page(), park.hass.url, SCREENSHOT_DIR / "admin")
        await screen.login(OWNER, OWNER_PASSWORD)
        await screen.ready()
        park.sim.press_call_point("b2_bells", 2)
        fire = screen.incident("fire", "b2")
        await fire.wait_for(timeout=ALARM_WITHIN * 1000)
        await wait_until("building 2's bells on", lambda: bells(park.sim, "b2_bells", on=True))
        park.sim.release_call_point("b2_bells", 2)
        await screen.shot("fire")

        # An administrator needs no PIN: no prompt, the reset goes through once the release has been polled.
        async def reset() -> bool:
            await fire.locator("button.reset_alarm").click()
            await expect(screen.element.locator(".errors .toast, .errors .error").last).to_be_visible()
            done = await screen.element.locator(".errors .toast").count() > 0
            await screen.element.locator(".errors > *").evaluate_all("els => els.forEach((e) => e.remove())")
            return done

        await wait_until("reset accepted", reset, timeout=10)
        assert await screen.element.locator(".pin-host input").count() == 0
        await wait_until("building 2's bells off", lambda: bells(park.sim, "b2_bells", on=False))
        await screen.shot("reset")

        # The incident stays open until the duty room closes it; then the building is back to normal.
        await fire.locator("button.close_incident").click()
        await expect(fire).to_have_attribute("data-incident-state", "closed")
        await expect(screen.building("b2")).to_have_attribute("data-state", "normal")
        await expect(screen.element.locator("header")).not_to_contain_class("alarm")
        await screen.shot("closed")

        # The map's close-ups: a building's floors with their enterprises, then one enterprise's devices.
        await screen.building("b2").click()
        closeup = screen.element.locator(".details .dialog[data-detail='building']")
        await expect(closeup.locator(".detail-floor")).to_have_count(6)
        await expect(closeup.locator(".detail-floor").first).to_have_attribute("data-floor", "6")
        enterprise = park.raw["enterprises"][15]  # the first enterprise of building 2
        assert enterprise["building"] == "b2"
        await screen.shot("building")
        await closeup.locator(f".ent[data-enterprise='{enterprise['id']}']").click()
        detail = screen.element.locator(".details .dialog[data-detail='enterprise']")
        await expect(detail.locator("h3")).to_have_text(enterprise["name"])
        await expect(detail.locator(f"tr[data-device='{enterprise['id']}_energy_meter']")).to_be_visible()
        await screen.shot("enterprise")
        await detail.locator("button.close-dialog").click()

        # The enterprises table: search, then sort by electricity (a second click: highest first).
        table = screen.element.locator("section.enterprises")
        await table.locator("input[type=search]").fill(enterprise["name"])
        await expect(table.locator("tbody tr:not([hidden])")).to_have_count(1)
        await table.locator("input[type=search]").fill("")
        electricity = table.locator("th[data-sort='electricity_kwh']")
        await electricity.click()
        await electricity.click()
        await expect(electricity).to_have_attribute("aria-sort", "descending")

        # The sound toggle is remembered by the browser.
        await screen.element.locator("header button.sound").click()
        assert await screen.page.evaluate("localStorage.getItem('smart_park_screen_sound')") == "on"
        assert screen.errors == []
