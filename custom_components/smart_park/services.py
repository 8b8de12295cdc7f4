"""Actions of the Smart Park integration, registered once in ``async_setup`` (not per entry).

Each capability registers its own actions from its module; every call's user comes from the call's context and
its park from :mod:`.entry`.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from . import broadcast, centre, enterprises, incidents, linkage, patrols, volunteers


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration."""
    linkage.async_register_services(hass)
    broadcast.async_register_services(hass)
    incidents.async_register_services(hass)
    enterprises.async_register_services(hass)
    patrols.async_register_services(hass)
    volunteers.async_register_services(hass)
    centre.async_register_services(hass)
