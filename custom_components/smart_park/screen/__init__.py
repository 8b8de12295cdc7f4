"""The duty-room screen (issue #13): one map, one table, one screen, as a panel the integration ships.

- :mod:`.model`: the park's layout (buildings, floors, enterprises, devices, special places) and the states
  in their worst-first order (no HA);
- :mod:`.state`: :class:`ParkState`, every place's state kept incrementally (no HA);
- :mod:`.values`: tanks and air against their limits (no HA);
- :mod:`.items`, :mod:`.snapshot`: what the screen sends of incidents, enterprises, linkage, figures;
- :mod:`.park`: :class:`ParkScreen`, one followed park: hooks, listeners, coalesced deltas;
- :mod:`.hub`: the subscriptions and the parks they follow, across reloads;
- :mod:`.sync`: the sync link's heartbeats from park_sync;
- :mod:`.websocket`: ``smart_park/screen/subscribe`` and ``smart_park/sync/heartbeat``;
- :mod:`.alerts`: the alarm's persistent notification;
- :mod:`.panel`: the sidebar panel and its static files (``frontend/``, the panel's JavaScript).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from . import websocket
from .alerts import async_follow_alarms, notification_id
from .hub import DATA_SCREEN, ScreenHub
from .model import State, worst
from .panel import async_register_panel

__all__ = ["DATA_SCREEN", "ScreenHub", "State", "async_setup_screen", "notification_id", "worst"]


async def async_setup_screen(hass: HomeAssistant) -> None:
    """Once per Home Assistant: the screen's websocket commands, alarm notifications and panel."""
    hass.data[DATA_SCREEN] = ScreenHub(hass)
    websocket.async_setup(hass)
    async_follow_alarms(hass)
    await async_register_panel(hass)
