"""What the fire monitoring centre link needs to know of a park: each point's entity and place.

park_sync turns HA's states into GB/T 26875.3 records; a state alone does not say which building and floor a
call point is on. This is the park as the profile places it: buildings (numbered in profile order, the
number the centre sees), enterprises' names, and every field-device point with its entity id and its place
(a channel's own place for multi-channel devices: a fire-bell controller's call point n is on floor n). The
bells (sirens) and the linkage groups' state and fault entities are listed too. No personal data: names of
buildings and enterprises only.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .. import ids
from ..coordinator import SmartParkConfigEntry
from ..engine.catalogue import PointPlatform
from ..engine.profile import Device


def _place(device: Device, channel: int | None) -> dict[str, Any]:
    building, floor, enterprise = device.building, device.floor, device.enterprise
    if channel is not None:
        placed = device.channel(channel)
        building = placed.building or building
        floor = placed.floor if placed.floor is not None else floor
        enterprise = placed.enterprise or enterprise
    return {"building": building, "floor": floor, "enterprise": enterprise}


def park_layout(hass: HomeAssistant, entry: SmartParkConfigEntry) -> dict[str, Any]:
    """The layout of one loaded park (see the module docstring)."""
    runtime = entry.runtime_data
    profile = runtime.profile
    entities = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if not e.disabled
    }
    records = runtime.enterprises.records
    enterprises = {eid: e.name for eid, e in profile.enterprises.items()}
    enterprises |= {eid: record.name for eid, record in records.items()}
    devices: list[dict[str, Any]] = []
    for device in profile.devices.values():
        points: list[dict[str, Any]] = []
        for point in device.points:
            if point.platform is not PointPlatform.NONE:
                unique_id = ids.point(profile.id, device.id, point.key)
            elif point.key.startswith("bell_") and point.channel is not None:
                unique_id = ids.bell(profile.id, device.id, point.channel)  # the linkage's siren
            else:
                continue
            if (entity_id := entities.get(unique_id)) is None:
                continue
            points.append({"key": point.key, "entity_id": entity_id, "channel": point.channel})
            points[-1] |= _place(device, point.channel)
        devices.append(
            {
                "id": device.id,
                "name": device.name,
                "type": device.device_type.type,
                "gateway": device.gateway,
                **_place(device, None),
                "points": points,
            }
        )
    linkage = [
        {
            "group": group.id,
            "building": group.building,
            "state": entities.get(ids.linkage_group_entity(profile.id, group.id, "state")),
            "fault": entities.get(ids.linkage_group_entity(profile.id, group.id, "fault")),
        }
        for group in runtime.linkage.groups.values()
    ]
    return {
        "config_entry_id": entry.entry_id,
        "park_id": profile.id,
        "name": profile.name,
        "buildings": [
            {"id": b.id, "name": b.name, "number": n, "floors": b.floors, "basements": b.basements}
            for n, b in enumerate(profile.buildings.values(), start=1)
        ],
        "enterprises": enterprises,
        "gateways": list(profile.gateways),
        "devices": devices,
        "linkage": linkage,
    }
