"""Websocket API: list and subscribe to incidents, audit entries and the enterprise registry.

Used by the dashboard and by the park_sync add-on (``smart_park/incidents/subscribe`` and friends). A
subscription first sends what exists (so a reconnecting client catches up), then every change.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant


def async_setup(hass: HomeAssistant) -> None:
    """Register the websocket commands."""
    # Each capability adds its commands here.
