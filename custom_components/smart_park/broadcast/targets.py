"""Which zones an action means: zone ids, the zones' media players, buildings, or the whole park.

Every name is checked before anything plays; an unknown one is refused with a translated error that names the
field and lists what exists, so a caller can correct the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .. import ids
from ..const import DOMAIN
from ..engine.profile import ParkProfile
from ..errors import invalid
from .messages import name_list
from .model import ATTR_BUILDINGS, ATTR_ZONES, Zone


def zone_unique_id(profile: ParkProfile, zone: Zone) -> str:
    """Unique id of the zone's media player."""
    return ids.broadcast_zone(profile.id, zone.controller_id, zone.number)


def zones_of(zones: Iterable[Zone], building: str | None) -> list[Zone]:
    """Zones in a building (every zone for ``None``, the park)."""
    return [zone for zone in zones if building is None or zone.building == building]


def resolve_zones(
    hass: HomeAssistant,
    profile: ParkProfile,
    known: Mapping[str, Zone],
    zones: Sequence[str] | None,
    buildings: Sequence[str] | None,
    everything: bool,
) -> tuple[Zone, ...]:
    """Zones named by zone ids or media player entity ids, by building, or all; translated errors."""
    if everything and known:
        return tuple(known.values())
    if not zones and not buildings:
        raise invalid("broadcast_no_target", field=ATTR_ZONES)
    chosen: dict[str, Zone] = {}
    by_unique_id = {zone_unique_id(profile, zone): zone for zone in known.values()}
    registry = er.async_get(hass)
    for name in zones or ():
        zone = known.get(name)
        if zone is None and (entity := registry.async_get(name)) is not None:
            zone = by_unique_id.get(entity.unique_id) if entity.platform == DOMAIN else None
        if zone is None:
            raise invalid("broadcast_unknown_zone", field=ATTR_ZONES, zone=name, zones=name_list(known))
        chosen[zone.id] = zone
    for building in buildings or ():
        if building not in profile.buildings:
            raise invalid(
                "broadcast_unknown_building",
                field=ATTR_BUILDINGS,
                building=building,
                buildings=name_list(profile.buildings),
            )
        found = zones_of(known.values(), building)
        if not found:
            raise invalid("broadcast_building_without_zones", field=ATTR_BUILDINGS, building=building)
        chosen.update((zone.id, zone) for zone in found)
    return tuple(chosen.values())
