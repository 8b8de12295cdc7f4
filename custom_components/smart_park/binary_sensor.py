"""Binary sensors: call points, alarms, faults and inputs (points with ``platform: binary_sensor``)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartParkConfigEntry, SmartParkCoordinator
from .engine.catalogue import Point, PointPlatform
from .engine.profile import Device
from .entity import (
    LinkageGroupEntity,
    SmartParkEntity,
    description_fields,
    device_class_of,
    platform_points,
)
from .linkage import FireLinkage, GroupRuntime
from .volunteers.entities import PushPathSensor, async_follow_roster

# Coordinators do the I/O; entities only read their data.
PARALLEL_UPDATES = 0


def binary_sensor_description(device: Device, point: Point) -> BinarySensorEntityDescription:
    """Build the entity description of a binary point from its catalogue data."""
    return BinarySensorEntityDescription(
        **description_fields(device, point),
        device_class=device_class_of(point, BinarySensorDeviceClass, "binary sensor"),
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for every binary point of every device."""
    async_add_entities(
        SmartParkBinarySensor(*args)
        for args in platform_points(entry.runtime_data, PointPlatform.BINARY_SENSOR)
    )
    linkage = entry.runtime_data.linkage
    async_add_entities(LinkageFaultBinarySensor(linkage, group) for group in linkage.groups.values())
    team = entry.runtime_data.volunteers
    entry.async_on_unload(
        async_follow_roster(
            hass, entry.entry_id, team, lambda t, v: [PushPathSensor(t, v)], async_add_entities
        )
    )


class SmartParkBinarySensor(SmartParkEntity, BinarySensorEntity):
    """A call point, alarm, fault or input of a field device."""

    entity_description: BinarySensorEntityDescription

    def __init__(self, coordinator: SmartParkCoordinator, device: Device, point: Point) -> None:
        """Initialise the binary sensor."""
        super().__init__(coordinator, device, point)
        self.entity_description = binary_sensor_description(device, point)

    @property
    def is_on(self) -> bool | None:
        """Whether the input is active."""
        value = self.raw_value
        return None if value is None else bool(value)


class LinkageFaultBinarySensor(LinkageGroupEntity, BinarySensorEntity):
    """On while a controller of the group is offline, on battery, or has a bell-circuit or bell fault."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_translation_key = "linkage_fault"

    def __init__(self, linkage: FireLinkage, group: GroupRuntime) -> None:
        """Initialise the binary sensor."""
        super().__init__(linkage, group, "fault")

    @property
    def is_on(self) -> bool:
        """Whether the group has a fault."""
        return bool(self.linkage_group.faults())

    @property
    def extra_state_attributes(self) -> dict[str, list[str]]:
        """The faults, e.g. ``b1_bells.mains_fault``."""
        return {"faults": sorted(self.linkage_group.faults())}
