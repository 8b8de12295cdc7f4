"""Sensors: every catalogue point declared with ``platform: sensor``."""

from __future__ import annotations

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .catalogue import Platform, Point
from .coordinator import SmartParkConfigEntry, SmartParkCoordinator
from .entity import SmartParkEntity, description_fields, device_class_of, platform_points
from .profile import Device

# Coordinators do the I/O; entities only read their data.
PARALLEL_UPDATES = 0


def sensor_description(device: Device, point: Point) -> SensorEntityDescription:
    """Build the entity description of a sensor point from its catalogue data."""
    device_class = device_class_of(point, SensorDeviceClass, "sensor")
    options = list(point.options.values()) or None
    if options is not None:
        device_class = SensorDeviceClass.ENUM
    return SensorEntityDescription(
        **description_fields(device, point),
        device_class=device_class,
        state_class=SensorStateClass(point.state_class) if point.state_class and not options else None,
        native_unit_of_measurement=None if options else point.unit,
        suggested_display_precision=point.precision,
        options=options,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor for every sensor point of every device."""
    async_add_entities(
        SmartParkSensor(*args) for args in platform_points(entry.runtime_data, Platform.SENSOR)
    )


class SmartParkSensor(SmartParkEntity, SensorEntity):
    """A measured value, counter or enumerated state of a field device."""

    entity_description: SensorEntityDescription

    def __init__(self, coordinator: SmartParkCoordinator, device: Device, point: Point) -> None:
        """Initialise the sensor."""
        super().__init__(coordinator, device, point)
        self.entity_description = sensor_description(device, point)

    @property
    def native_value(self) -> StateType:
        """The point's value; the engine already turns enum points into their option name."""
        value: StateType = self.raw_value
        return value
