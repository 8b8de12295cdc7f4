"""Base entity and device info of the Smart Park integration."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from typing import Any

from homeassistant.const import EntityCategory
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .catalogue import Platform, Point, builtin_device_types
from .const import DOMAIN, LOGGER
from .coordinator import SmartParkCoordinator, SmartParkData
from .profile import Device, Gateway, ParkProfile


def device_identifier(profile: ParkProfile, object_id: str) -> tuple[str, str]:
    """Device registry identifier of a gateway or a field device."""
    return (DOMAIN, f"{profile.id}_{object_id}")


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


def park_device_info(profile: ParkProfile, device: Device) -> DeviceInfo:
    """The HA device of a field device, reached through its gateway."""
    info = DeviceInfo(
        identifiers={device_identifier(profile, device.id)},
        name=device.name,
        manufacturer=device.device_type.manufacturer,
        model=device.device_type.model,
        model_id=device.device_type.type,
        via_device=device_identifier(profile, device.gateway),
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
    data: SmartParkData, platform: Platform
) -> Iterator[tuple[SmartParkCoordinator, Device, Point]]:
    """Every point shown on ``platform``, with the coordinator of its gateway and tier."""
    for device in data.profile.devices.values():
        for point in device.points:
            if point.platform is platform:
                yield data.coordinators[(device.gateway, point.tier)], device, point


class SmartParkEntity(CoordinatorEntity[SmartParkCoordinator]):
    """An entity showing one point of one field device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SmartParkCoordinator, device: Device, point: Point) -> None:
        """Initialise the entity."""
        super().__init__(coordinator)
        profile = coordinator.config_entry.runtime_data.profile
        self.point = point
        self.device_id = device.id
        self._attr_unique_id = f"{profile.id}_{device.id}_{point.key}"
        self._attr_device_info = park_device_info(profile, device)

    @property
    def available(self) -> bool:
        """Unavailable when the gateway is down or the device did not answer."""
        reading = (self.coordinator.data or {}).get(self.device_id)
        return super().available and reading is not None and reading.available

    @property
    def raw_value(self) -> Any:
        """The decoded value of the point from the last poll."""
        reading = (self.coordinator.data or {}).get(self.device_id)
        return reading.values.get(self.point.key) if reading is not None else None
