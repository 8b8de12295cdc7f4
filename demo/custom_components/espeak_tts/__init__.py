"""An offline TTS engine for the demo: Debian's ``espeak-ng`` speaks Mandarin and English, no internet.

Not part of the product (parks bring their own TTS engine); it lets `make demo` broadcast a typed message
through a zone on a machine with no internet. Its voice is robotic but intelligible.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

PLATFORMS = [Platform.TTS]


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up the engine."""
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the engine."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
