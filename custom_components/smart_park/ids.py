"""Every unique id and device identifier the integration gives HA, one function per format.

Entity registry unique ids and device registry identifiers are what HA keys entities and devices on: changing
a format renames (re-creates) entities and devices, losing their history and user settings. Never change a
value built here; ``tests/core/test_ids.py`` pins each one. Every id starts with the park's id.
"""

from __future__ import annotations

from .const import DOMAIN


def point(park_id: str, device_id: str, point_key: str) -> str:
    """A field device's point (binary sensor, sensor, switch, ...)."""
    return f"{park_id}_{device_id}_{point_key}"


def linkage_group_entity(park_id: str, group_id: str, key: str) -> str:
    """An entity of a fire-bell linkage group."""
    return f"{park_id}_linkage_{group_id}_{key}"


def alarm_button(park_id: str, device_id: str, channel: int | None) -> str:
    """A one-key alarm terminal's button event (a terminal with channels has one per channel)."""
    if channel is None:
        return f"{park_id}_{device_id}_alarm_button"
    return f"{park_id}_{device_id}_alarm_button_{channel}"


def bell(park_id: str, controller_id: str, channel: int) -> str:
    """A fire-bell controller's bell (siren)."""
    return f"{park_id}_{controller_id}_bell_{channel}"


def open_incidents(park_id: str) -> str:
    """The park's open-incidents sensor."""
    return f"{park_id}_open_incidents"


def park_sensor(park_id: str, key: str) -> str:
    """A park-wide enterprise statistics sensor."""
    return f"{park_id}_park.{key}"


def enterprise_sensor(park_id: str, enterprise_id: str, key: str) -> str:
    """A sensor of one enterprise."""
    return f"{park_id}_enterprise.{enterprise_id}_{key}"


def broadcast_zone(park_id: str, controller_id: str, zone_number: int) -> str:
    """A broadcast zone's media player."""
    return f"{park_id}_{controller_id}_zone_{zone_number}"


def patrol(park_id: str) -> str:
    """The park's night-patrol sensor (current or last round)."""
    return f"{park_id}_patrol"


def inspection_list(park_id: str, building_id: str) -> str:
    """A building's fire-inspection to-do list."""
    return f"{park_id}_building.{building_id}_fire_inspection"


def device(park_id: str, object_id: str) -> tuple[str, str]:
    """Device registry identifier of the park (``"park"``), a gateway or a field device."""
    return (DOMAIN, f"{park_id}_{object_id}")


def enterprise_device(park_id: str, enterprise_id: str) -> tuple[str, str]:
    """Device registry identifier of an enterprise ("." is not allowed in ids: no clash with a device's)."""
    return device(park_id, f"enterprise.{enterprise_id}")


def building_device(park_id: str, building_id: str) -> tuple[str, str]:
    """Device registry identifier of a building ("." is not allowed in ids: no clash with a device's)."""
    return device(park_id, f"building.{building_id}")


def linkage_group_device(park_id: str, group_id: str) -> tuple[str, str]:
    """Device registry identifier of a fire-bell linkage group."""
    return device(park_id, f"linkage_{group_id}")


def volunteer_device(park_id: str, user_id: str) -> tuple[str, str]:
    """Device registry identifier of a volunteer (an HA user id: opaque, not personal data)."""
    return device(park_id, f"volunteer.{user_id}")


def volunteer_entity(park_id: str, user_id: str, key: str) -> str:
    """An entity of one volunteer (reachability, last notification)."""
    return f"{park_id}_volunteer.{user_id}_{key}"
