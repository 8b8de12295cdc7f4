"""The duty-room screen's panel in HA's sidebar, and the static path its JavaScript is served from.

Registered once per Home Assistant (not per park) through HA's public ``panel_custom``. The module URL
carries a hash of the frontend folder's files, so a browser fetches the new screen after an update.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from ..const import LOGGER

FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
STATIC_URL: Final = "/smart_park_static"
PANEL_URL_PATH: Final = "smart-park"
WEBCOMPONENT: Final = "smart-park-screen"
MODULE: Final = "smart-park-screen.js"
SIDEBAR_TITLE: Final = "值班室 Duty room"
SIDEBAR_ICON: Final = "mdi:monitor-dashboard"


def frontend_hash(folder: Path = FRONTEND_DIR) -> str:
    """A short hash of every file of the screen's frontend (any module changing busts the cache)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def async_register_panel(hass: HomeAssistant) -> None:
    """Serve the frontend folder and add the screen's panel (any user may open it)."""
    # Imported here: panel_custom imports the frontend integration, which only a set-up with a UI needs.
    from homeassistant.components import frontend, panel_custom

    if frontend.async_panel_exists(hass, PANEL_URL_PATH):
        return
    version = await hass.async_add_executor_job(frontend_hash)
    if hass.http.app.router.frozen:
        # Only a test harness serving HA's app before this set-up; a running HA never freezes its router.
        LOGGER.debug("HTTP router frozen: the screen's files are not served")
    else:
        # No long cache: the panel imports sibling modules by plain URLs, which the version does not reach.
        await hass.http.async_register_static_paths(
            [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=False)]
        )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=WEBCOMPONENT,
        module_url=f"{STATIC_URL}/{MODULE}?v={version}",
        sidebar_title=SIDEBAR_TITLE,
        sidebar_icon=SIDEBAR_ICON,
        require_admin=False,
        embed_iframe=False,
        config={},
    )
