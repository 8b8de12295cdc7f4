"""Sensors: every catalogue point declared with ``platform: sensor``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy, UnitOfVolume
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import ids
from .coordinator import SmartParkConfigEntry, SmartParkCoordinator
from .engine.catalogue import Point, PointPlatform
from .engine.profile import Device
from .enterprises import EnterpriseRegistry, EnterpriseStatus, MeterKind, month_of, previous_month
from .entity import (
    LinkageGroupEntity,
    SmartParkEntity,
    description_fields,
    device_class_of,
    enterprise_identifier,
    park_info,
    platform_points,
)
from .incidents import IncidentKind
from .linkage import FireLinkage, GroupRuntime, LinkageState
from .patrols import PatrolManager, PatrolState
from .volunteers.entities import LastDeliverySensor, async_follow_roster, team_sensors

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
        SmartParkSensor(*args) for args in platform_points(entry.runtime_data, PointPlatform.SENSOR)
    )
    linkage = entry.runtime_data.linkage
    async_add_entities(LinkageStateSensor(linkage, group) for group in linkage.groups.values())
    async_add_entities([OpenIncidentsSensor(entry), PatrolSensor(entry.runtime_data.patrols)])
    enterprises = entry.runtime_data.enterprises
    async_add_entities(enterprise_sensors(enterprises, enterprises.records))
    async_add_entities(EnterpriseSensor(enterprises, None, d) for d in PARK_ENTERPRISE_SENSORS)
    entry.async_on_unload(
        enterprises.async_add_added_listener(
            lambda ids: async_add_entities(enterprise_sensors(enterprises, ids))
        )
    )
    team = entry.runtime_data.volunteers
    async_add_entities(team_sensors(team))
    entry.async_on_unload(
        async_follow_roster(
            hass, entry.entry_id, team, lambda t, v: [LastDeliverySensor(t, v)], async_add_entities
        )
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


class LinkageStateSensor(LinkageGroupEntity, SensorEntity):
    """A linkage group's state: normal, pre-alarm, alarm, silenced, fault or disabled."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [state.value for state in LinkageState]  # noqa: RUF012 - HA's attribute type
    _attr_translation_key = "linkage_state"

    def __init__(self, linkage: FireLinkage, group: GroupRuntime) -> None:
        """Initialise the sensor."""
        super().__init__(linkage, group, "state")

    @property
    def native_value(self) -> str:
        """The group's state."""
        return self.linkage_group.group.state.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """What caused the state: inputs seen and active, faults, since when the alarm is latched."""
        group = self.linkage_group.group
        return {
            "active_inputs": sorted(group.active),
            "alarm_inputs": sorted(group.seen),
            "faults": sorted(self.linkage_group.faults()),
            "alarm_since": group.alarm_since.isoformat() if group.alarm_since else None,
            "bells_on": group.bells_on(dt_util.utcnow()),
        }


class OpenIncidentsSensor(SensorEntity):
    """How many incidents of the park are not closed yet, with the count per kind as attributes."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_translation_key = "open_incidents"

    def __init__(self, entry: SmartParkConfigEntry) -> None:
        """Initialise the sensor."""
        profile = entry.runtime_data.profile
        self._incidents = entry.runtime_data.incidents
        self._attr_unique_id = ids.open_incidents(profile.id)
        self._attr_device_info = park_info(profile)

    async def async_added_to_hass(self) -> None:
        """Follow the park's incidents."""
        self.async_on_remove(self._incidents.async_subscribe(lambda _incident: self.async_write_ha_state()))

    @property
    def native_value(self) -> int:
        """Open (including acknowledged) incidents."""
        return len(self._incidents.open_incidents())

    @property
    def extra_state_attributes(self) -> dict[str, int]:
        """Open incidents per kind."""
        counts = dict.fromkeys(IncidentKind, 0)
        for incident in self._incidents.open_incidents():
            counts[incident.kind] += 1
        return {kind.value: count for kind, count in counts.items()}


PATROL_SENSOR: Final = SensorEntityDescription(
    key="patrol",
    translation_key="patrol",
    device_class=SensorDeviceClass.ENUM,
    options=[state.value for state in PatrolState],
)


class PatrolSensor(SensorEntity):
    """The park's night patrol: idle before the first round, on patrol, then the last round's outcome."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description = PATROL_SENSOR

    def __init__(self, patrols: PatrolManager) -> None:
        """Initialise the sensor."""
        self._patrols = patrols
        self._attr_unique_id = ids.patrol(patrols.park_id)
        self._attr_device_info = park_info(patrols.profile)

    async def async_added_to_hass(self) -> None:
        """Follow the rounds."""
        self.async_on_remove(self._patrols.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> str:
        """The current (or last) round's state."""
        patrol = self._patrols.current
        return patrol.state.value if patrol is not None else PatrolState.IDLE.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Route, checkpoints scanned of the total, missed checkpoints' names, the window."""
        if (patrol := self._patrols.current) is None:
            return {}
        return {
            "round_id": patrol.id,
            "route": patrol.route,
            "scanned": len(patrol.scans),
            "checkpoints": len(patrol.checkpoints),
            "missed": [] if patrol.is_open else [checkpoint.name for checkpoint in patrol.missed],
            "started_at": patrol.started_at.isoformat(),
            "ends_at": patrol.ends_at.isoformat(),
            "ended_at": patrol.ended_at.isoformat() if patrol.ended_at else None,
        }


# --- enterprise registry: figures and consumption per enterprise, and park totals ---
# Definitions (docs/integration.md "Enterprise registry"): output value and tax are those of the latest month
# recorded; consumption is per calendar month in HA's time zone; energy intensity is the electricity of the
# month of the latest figures per 10,000 CNY of that month's output value (万元产值电耗).

type EnterpriseValue = tuple[StateType, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class EnterpriseSensorDescription(SensorEntityDescription):
    """A sensor of an enterprise (``enterprise_id`` set) or of the park's enterprises as a whole (None)."""

    value_fn: Callable[[EnterpriseRegistry, str | None], EnterpriseValue]


def _figure_value(field_name: str) -> Callable[[EnterpriseRegistry, str | None], EnterpriseValue]:
    def value(registry: EnterpriseRegistry, enterprise_id: str | None) -> EnterpriseValue:
        if enterprise_id is None:
            period, output, tax, reported = registry.park_figures()
            return (output if field_name == "output_value" else tax), {"period": period, "reported": reported}
        figures = registry.latest_figures(enterprise_id)
        if figures is None:
            return None, {}
        value: float = getattr(figures, field_name)
        return value, {"period": figures.period, "employees": figures.employees}

    return value


def _consumption(kind: MeterKind, last: bool) -> Callable[[EnterpriseRegistry, str | None], EnterpriseValue]:
    def value(registry: EnterpriseRegistry, enterprise_id: str | None) -> EnterpriseValue:
        month = month_of(dt_util.utcnow())
        if last:
            month = previous_month(month)
        # No month attribute: which month is implied by the name, and states stay free of the date.
        return registry.consumption(enterprise_id, kind, month), {}

    return value


def _intensity(registry: EnterpriseRegistry, enterprise_id: str | None) -> EnterpriseValue:
    value, period = registry.park_intensity() if enterprise_id is None else registry.intensity(enterprise_id)
    return value, {"period": period}


def _status(registry: EnterpriseRegistry, enterprise_id: str | None) -> EnterpriseValue:
    record = registry.records[enterprise_id or ""]
    data = record.as_dict()
    keys = ("industry", "building", "floor", "unit", "employees", "move_in_date", "move_out_date")
    return record.status.value, {key: data[key] for key in keys}


def _active(registry: EnterpriseRegistry, _enterprise_id: str | None) -> EnterpriseValue:
    moved_out = sum(1 for record in registry.records.values() if record.status is EnterpriseStatus.MOVED_OUT)
    return len(registry.records) - moved_out, {"moved_out": moved_out}


def _money(
    key: str, value_fn: Callable[[EnterpriseRegistry, str | None], EnterpriseValue]
) -> EnterpriseSensorDescription:
    return EnterpriseSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement="CNY",
        suggested_display_precision=0,
        value_fn=value_fn,
    )


def _use(key: str, kind: MeterKind, last: bool) -> EnterpriseSensorDescription:
    electricity = kind is MeterKind.ELECTRICITY
    return EnterpriseSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY if electricity else SensorDeviceClass.WATER,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR if electricity else UnitOfVolume.CUBIC_METERS,
        # This month's use restarts from 0 each month: total_increasing, so the Energy dashboard takes it.
        state_class=None if last else SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1 if electricity else 2,
        value_fn=_consumption(kind, last),
    )


def _enterprise_descriptions(prefix: str) -> tuple[EnterpriseSensorDescription, ...]:
    return (
        _money(f"{prefix}output_value", _figure_value("output_value")),
        _money(f"{prefix}tax", _figure_value("tax")),
        _use(f"{prefix}electricity_this_month", MeterKind.ELECTRICITY, last=False),
        _use(f"{prefix}electricity_last_month", MeterKind.ELECTRICITY, last=True),
        _use(f"{prefix}water_this_month", MeterKind.WATER, last=False),
        _use(f"{prefix}water_last_month", MeterKind.WATER, last=True),
        EnterpriseSensorDescription(
            key=f"{prefix}energy_intensity",
            translation_key=f"{prefix}energy_intensity",
            native_unit_of_measurement="kWh/10k CNY",
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=1,
            value_fn=_intensity,
        ),
    )


ENTERPRISE_SENSORS: Final = (
    *_enterprise_descriptions(""),
    EnterpriseSensorDescription(
        key="enterprise_status",
        translation_key="enterprise_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in EnterpriseStatus],
        value_fn=_status,
    ),
)
PARK_ENTERPRISE_SENSORS: Final = (
    *_enterprise_descriptions("park_"),
    EnterpriseSensorDescription(
        key="active_enterprises",
        translation_key="active_enterprises",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_active,
    ),
)


def enterprise_sensors(registry: EnterpriseRegistry, enterprise_ids: Iterable[str]) -> list[EnterpriseSensor]:
    """The sensors of the given enterprises."""
    return [
        EnterpriseSensor(registry, enterprise_id, description)
        for enterprise_id in enterprise_ids
        for description in ENTERPRISE_SENSORS
    ]


class EnterpriseSensor(SensorEntity):
    """A figure or consumption of one enterprise (on its device) or of all of them (on the park device)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: EnterpriseSensorDescription

    def __init__(
        self,
        registry: EnterpriseRegistry,
        enterprise_id: str | None,
        description: EnterpriseSensorDescription,
    ) -> None:
        """Initialise the sensor."""
        profile = registry.profile
        self.registry = registry
        self.enterprise_id = enterprise_id
        self.entity_description = description
        if enterprise_id is None:
            self._attr_unique_id = ids.park_sensor(profile.id, description.key)
            self._attr_device_info = park_info(profile)
        else:
            self._attr_unique_id = ids.enterprise_sensor(profile.id, enterprise_id, description.key)
            self._attr_device_info = DeviceInfo(identifiers={enterprise_identifier(profile, enterprise_id)})

    async def async_added_to_hass(self) -> None:
        """Follow the registry."""
        self.async_on_remove(self.registry.async_add_listener(self._async_changed))

    @callback
    def _async_changed(self, enterprise_ids: frozenset[str]) -> None:
        if self.enterprise_id is None or self.enterprise_id in enterprise_ids:
            self.async_write_ha_state()

    @property
    def native_value(self) -> StateType:
        """The value now."""
        return self.entity_description.value_fn(self.registry, self.enterprise_id)[0]

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The month (or period) the value is for, and related details."""
        return self.entity_description.value_fn(self.registry, self.enterprise_id)[1]
