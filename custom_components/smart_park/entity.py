"""Base entity and device info of the Smart Park integration."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from . import ids
from .const import LOGGER
from .coordinator import SmartParkCoordinator, SmartParkData
from .engine.catalogue import Point, PointPlatform, builtin_device_types
from .engine.modbus import DeviceReading
from .engine.profile import Building, Device, Gateway, ParkProfile

if TYPE_CHECKING:
    from .enterprises.model import EnterpriseRecord
    from .linkage import FireLinkage, GroupRuntime


def device_identifier(profile: ParkProfile, object_id: str) -> tuple[str, str]:
    """Device registry identifier of a gateway or a field device."""
    return ids.device(profile.id, object_id)


@callback
def async_register_device(
    hass: HomeAssistant, entry_id: str, info: DeviceInfo, via: tuple[str, str] | None = None
) -> dr.DeviceEntry:
    """Create or update a device of the entry, linked to its parent ``via`` (registered before it).

    HA links a device to its parent by the parent's registry id, not its identifier. Devices are registered
    here, parents first, before any entity: the entities' device info then only names their device.
    """
    registry = dr.async_get(hass)
    fields: dict[str, Any] = dict(info)
    if via is not None and (parent := registry.async_get_device_by_identifier(via, entry_id)) is not None:
        fields["via_device_id"] = parent.id
    return registry.async_get_or_create(config_entry_id=entry_id, **fields)


def park_info(profile: ParkProfile) -> DeviceInfo:
    """The HA device of the park itself: park-wide entities (open incidents, audit) belong to it."""
    return DeviceInfo(
        identifiers={device_identifier(profile, "park")},
        name=profile.name,
        manufacturer="Smart Park Hub",
        model="Park",
        entry_type=DeviceEntryType.SERVICE,
    )


def gateway_device_info(profile: ParkProfile, gateway: Gateway) -> DeviceInfo:
    """The HA device of a gateway (or serial bus)."""
    return DeviceInfo(
        identifiers={device_identifier(profile, gateway.id)},
        name=gateway.name,
        manufacturer="Generic",
        model="Modbus RTU bus" if gateway.protocol == "rtu" else "Modbus TCP gateway",
    )


def enterprise_identifier(profile: ParkProfile, enterprise_id: str) -> tuple[str, str]:
    """Device registry identifier of an enterprise ("." is not allowed in ids: no clash with a device's)."""
    return ids.enterprise_device(profile.id, enterprise_id)


def enterprise_device_info(profile: ParkProfile, record: EnterpriseRecord) -> DeviceInfo:
    """The HA device of an enterprise, under the park; its meters and terminals are reached through it."""
    info = DeviceInfo(
        identifiers={enterprise_identifier(profile, record.id)},
        name=record.name,
        manufacturer="Smart Park Hub",
        model="Enterprise",
        entry_type=DeviceEntryType.SERVICE,
    )
    if record.building is not None and record.building in profile.buildings:
        info["suggested_area"] = profile.buildings[record.building].name
    return info


def building_identifier(profile: ParkProfile, building_id: str) -> tuple[str, str]:
    """Device registry identifier of a building."""
    return ids.building_device(profile.id, building_id)


def building_info(profile: ParkProfile, building: Building) -> DeviceInfo:
    """The HA device of a building, under the park: its fire-inspection list belongs to it."""
    return DeviceInfo(
        identifiers={building_identifier(profile, building.id)},
        name=building.name,
        manufacturer="Smart Park Hub",
        model="Building",
        entry_type=DeviceEntryType.SERVICE,
    )


def park_device_parent(profile: ParkProfile, device: Device) -> tuple[str, str]:
    """A field device is reached through its enterprise when it serves one, else its gateway.

    HA shows one "connected via"; for an enterprise's meter the enterprise is the useful one (the duty room
    looks for "恒达's meters"). Its gateway and unit are in diagnostics and in its offline repair issue.
    """
    if device.enterprise:
        return enterprise_identifier(profile, device.enterprise)
    return device_identifier(profile, device.gateway)


def park_device_info(profile: ParkProfile, device: Device) -> DeviceInfo:
    """The HA device of a field device (its parent: :func:`park_device_parent`)."""
    info = DeviceInfo(
        identifiers={device_identifier(profile, device.id)},
        name=device.name,
        manufacturer=device.device_type.manufacturer,
        model=device.device_type.model,
        model_id=device.device_type.type,
    )
    if device.building is not None:
        info["suggested_area"] = profile.buildings[device.building].name
    return info


@cache
def translated_keys() -> frozenset[str]:
    """Point translation keys that strings.json names (every built-in type's; a test keeps them complete)."""
    return frozenset(point.translation_key for dt in builtin_device_types().values() for point in dt.points)


def description_fields(device: Device, point: Point) -> dict[str, Any]:
    """Entity description fields every platform derives the same way from a catalogue point."""
    fields: dict[str, Any] = {
        "key": point.key,
        "entity_category": EntityCategory(point.entity_category) if point.entity_category else None,
        "entity_registry_enabled_default": point.enabled_by_default,
    }
    translation_key = point.translation_key
    if translation_key in translated_keys():
        fields["translation_key"] = translation_key
        if point.channel is not None:
            fields["translation_placeholders"] = {"n": str(point.channel)}
    else:
        # A vendor type added in the profile has no translations: name it from its key.
        fields["name"] = point.key.replace("_", " ").capitalize()
    return fields


def device_class_of[E: StrEnum](point: Point, enum: type[E], platform: str) -> E | None:
    """The point's device class as the platform's enum; a vendor map's unknown class is logged and dropped."""
    if point.device_class is None:
        return None
    try:
        return enum(point.device_class)
    except ValueError:
        LOGGER.warning("Point %s: %s is not a %s device class", point.key, point.device_class, platform)
        return None


def platform_points(
    data: SmartParkData, platform: PointPlatform
) -> Iterator[tuple[SmartParkCoordinator, Device, Point]]:
    """Every point shown on ``platform``, with the coordinator of its gateway and tier."""
    for device in data.profile.devices.values():
        for point in device.points:
            if point.platform is platform:
                yield data.coordinators[(device.gateway, point.tier)], device, point


class DeviceFanout:
    """Tells a coordinator's entities of the devices whose reading changed, instead of all of them.

    A tier's coordinator tells its listeners whenever any device of the tier changed; with one listener per
    entity, one changed meter made every entity of the tier recompute and write its state (the most
    frequent work of a busy hass). This is the coordinator's one listener: it compares each device's reading
    with the one last dispatched and calls only that device's entities, all of them when the poll's success
    changed (the whole tier's availability).
    """

    def __init__(self, coordinator: SmartParkCoordinator) -> None:
        """Follow ``coordinator`` once the first entity subscribes."""
        self.coordinator = coordinator
        self._entities: dict[str, list[SmartParkEntity]] = {}
        self._seen: dict[str, DeviceReading] = {}
        self._success = True
        self._unsubscribe: CALLBACK_TYPE | None = None

    @callback
    def async_subscribe(self, entity: SmartParkEntity) -> CALLBACK_TYPE:
        """Call ``entity`` when its device's reading changes; returns the unsubscribe callback."""
        if self._unsubscribe is None:
            self._seen = self.coordinator.data or {}
            self._success = self.coordinator.last_update_success
            self._unsubscribe = self.coordinator.async_add_listener(self._async_dispatch)
        self._entities.setdefault(entity.device_id, []).append(entity)

        @callback
        def unsubscribe() -> None:
            entities = self._entities[entity.device_id]
            entities.remove(entity)
            if not entities:
                del self._entities[entity.device_id]
            if not self._entities and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

        return unsubscribe

    @callback
    def _async_dispatch(self) -> None:
        data = self.coordinator.data or {}
        success = self.coordinator.last_update_success
        everyone = success != self._success
        seen, self._seen, self._success = self._seen, data, success
        for device_id, entities in self._entities.items():
            if everyone or data.get(device_id) != seen.get(device_id):
                for entity in entities:
                    entity.async_reading_changed()


_FANOUTS: WeakKeyDictionary[SmartParkCoordinator, DeviceFanout] = WeakKeyDictionary()


def device_fanout(coordinator: SmartParkCoordinator) -> DeviceFanout:
    """The one :class:`DeviceFanout` of a coordinator."""
    if (fanout := _FANOUTS.get(coordinator)) is None:
        fanout = _FANOUTS[coordinator] = DeviceFanout(coordinator)
    return fanout


class SmartParkEntity(Entity):
    """An entity showing one point of one field device, written only when what it shows changed.

    Not a ``CoordinatorEntity``: those listen to the coordinator one by one. This one is told by its
    coordinator's :class:`DeviceFanout` when its device's reading changed, and writes its state only when its
    own value or availability did (a meter's power changing leaves its energy counter's state alone).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: SmartParkCoordinator, device: Device, point: Point) -> None:
        """Initialise the entity."""
        self.coordinator = coordinator
        profile = coordinator.config_entry.runtime_data.profile
        self.point = point
        self.device_id = device.id
        self._attr_unique_id = ids.point(profile.id, device.id, point.key)
        self._attr_device_info = park_device_info(profile, device)
        # (available, value) as last written; nothing written yet.
        self._shown: tuple[bool, Any] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator's readings of this entity's device."""
        await super().async_added_to_hass()
        self.async_on_remove(device_fanout(self.coordinator).async_subscribe(self))

    async def async_update(self) -> None:
        """Poll now (the update_entity service); the coordinator's loop polls on its own otherwise."""
        if self.enabled:
            await self.coordinator.async_request_refresh()

    @callback
    def async_reading_changed(self) -> None:
        """The device's reading changed: write the state if this point's value or availability did."""
        if (self.available, self.raw_value) != self._shown:
            self.async_write_ha_state()

    def _async_write_ha_state(self) -> None:
        """Write the state (HA's hook for customising it), remembering what it showed."""
        self._shown = (self.available, self.raw_value)
        super()._async_write_ha_state()

    @property
    def available(self) -> bool:
        """Unavailable when the gateway is down or the device did not answer."""
        if not self.coordinator.last_update_success:
            return False
        reading = (self.coordinator.data or {}).get(self.device_id)
        return reading is not None and reading.available

    @property
    def raw_value(self) -> Any:
        """The decoded value of the point from the last poll."""
        reading = (self.coordinator.data or {}).get(self.device_id)
        return reading.values.get(self.point.key) if reading is not None else None


def linkage_group_identifier(profile: ParkProfile, group_id: str) -> tuple[str, str]:
    """Device registry identifier of a linkage group."""
    return ids.linkage_group_device(profile.id, group_id)


def linkage_group_info(profile: ParkProfile, group: GroupRuntime) -> DeviceInfo:
    """The HA device of a linkage group (named after its building, or the park)."""
    return DeviceInfo(
        identifiers={linkage_group_identifier(profile, group.id)},
        translation_key="linkage_group",
        translation_placeholders={"group": group.name},
        manufacturer="Smart Park Hub",
        model="Fire-bell linkage",
        entry_type=DeviceEntryType.SERVICE,
    )


class LinkageGroupEntity(Entity):
    """An entity of one linkage group; it refreshes whenever the linkage changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, linkage: FireLinkage, group: GroupRuntime, key: str) -> None:
        """Initialise the entity."""
        self.linkage = linkage
        self.linkage_group = group
        self._attr_unique_id = ids.linkage_group_entity(linkage.profile.id, group.id, key)
        self._attr_device_info = linkage_group_info(linkage.profile, group)

    async def async_added_to_hass(self) -> None:
        """Follow the linkage."""
        self.async_on_remove(self.linkage.async_add_listener(self.async_write_ha_state))
