"""Sensors of every built-in device type, read from the park simulator over TCP."""

from __future__ import annotations

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    EntityCategory,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .conftest import ParkFactory, park_document
from .helpers import async_poll, eid, entity_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

# unique id -> (state, unit, device class, state class); the simulator's values with dynamics off.
EXPECTED = {
    "test_park_fire_water_tank_level": ("3.5", "m", "distance", "measurement"),
    "test_park_fire_water_tank_pressure": ("330.0", "kPa", "pressure", "measurement"),
    "test_park_energy_meter_energy_import": (
        "12000.0",
        "kWh",
        "energy",
        "total_increasing",
    ),
    "test_park_energy_meter_power": ("15000", "W", "power", "measurement"),
    "test_park_energy_meter_voltage": ("380.0", "V", "voltage", "measurement"),
    "test_park_energy_meter_current": ("23.0", "A", "current", "measurement"),
    "test_park_water_meter_volume": ("5400.0", "m³", "water", "total_increasing"),
    "test_park_gas_detector_gas_concentration": ("0.5", "%LEL", None, "measurement"),
    "test_park_smoke_detector_battery": ("95", "%", "battery", "measurement"),
    "test_park_electrical_safety_residual_current": (
        "60",
        "mA",
        "current",
        "measurement",
    ),
    "test_park_electrical_safety_cable_temperature_1": (
        "32.0",
        "°C",
        "temperature",
        "measurement",
    ),
    "test_park_electrical_safety_cable_temperature_4": (
        "32.0",
        "°C",
        "temperature",
        "measurement",
    ),
    "test_park_air_quality_station_so2": (
        "12",
        "μg/m³",
        "sulphur_dioxide",
        "measurement",
    ),
    "test_park_air_quality_station_pm25": ("35", "μg/m³", "pm25", "measurement"),
    "test_park_air_quality_station_pm10": ("60", "μg/m³", "pm10", "measurement"),
    "test_park_air_quality_station_co2": ("430", "ppm", "carbon_dioxide", "measurement"),
    "test_park_air_quality_station_temperature": (
        "21.5",
        "°C",
        "temperature",
        "measurement",
    ),
    "test_park_air_quality_station_humidity": ("60.0", "%", "humidity", "measurement"),
    "test_park_broadcast_controller_play_state": ("idle", None, "enum", None),
    "test_park_broadcast_controller_current_message": ("0", None, None, None),
}


async def test_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    park_factory: ParkFactory,
) -> None:
    """Every sensor's registry entry and state."""
    entry, _sim = await park_factory(park_document(), platforms=[Platform.SENSOR])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_values_units_and_classes(hass: HomeAssistant, init_integration: SmartParkConfigEntry) -> None:
    """Each sensor type shows the simulator's value in its unit, with its device and state class."""
    for unique_id, (value, unit, device_class, state_class) in EXPECTED.items():
        entity_id = eid(hass, "sensor", unique_id)
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.state == value, entity_id
        assert state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) == unit, entity_id
        assert state.attributes.get(ATTR_DEVICE_CLASS) == device_class, entity_id
        assert state.attributes.get(ATTR_STATE_CLASS) == state_class, entity_id
    assert entity_state(hass, "sensor", "test_park_broadcast_controller_play_state").attributes[
        "options"
    ] == [
        "idle",
        "playing_preset",
        "playing_url",
    ]


async def test_energy_dashboard_ready(hass: HomeAssistant, init_integration: SmartParkConfigEntry) -> None:
    """Energy and water counters have what the Energy dashboard asks for."""
    energy = entity_state(hass, "sensor", "test_park_energy_meter_energy_import")
    assert energy.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert energy.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert energy.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
    water = entity_state(hass, "sensor", "test_park_water_meter_volume")
    assert water.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.WATER
    assert water.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert water.attributes[ATTR_UNIT_OF_MEASUREMENT] == "m³"


async def test_diagnostic_entities(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_integration: SmartParkConfigEntry
) -> None:
    """Diagnostic values are in the diagnostic category, measurements are not."""
    assert (
        entity_registry.async_get(eid(hass, "sensor", "test_park_smoke_detector_battery")).entity_category
        is EntityCategory.DIAGNOSTIC
    )
    assert (
        entity_registry.async_get(
            eid(hass, "sensor", "test_park_broadcast_controller_current_message")
        ).entity_category
        is EntityCategory.DIAGNOSTIC
    )
    assert (
        entity_registry.async_get(eid(hass, "sensor", "test_park_energy_meter_power")).entity_category is None
    )
    assert (
        entity_registry.async_get(eid(hass, "sensor", "test_park_energy_meter_power")).unique_id
        == "test_park_energy_meter_power"
    )


async def test_values_follow_the_devices(
    hass: HomeAssistant, init_integration: SmartParkConfigEntry, simulator: ParkSimulator
) -> None:
    """A changed register shows after the poll of its tier, and only then."""
    simulator.set_value("energy_meter", "power", 12345)
    simulator.set_value("water_meter", "volume", 5432.125)
    simulator.set_value("air_quality_station", "temperature", -3.5)
    simulator.set_value("broadcast_controller", "play_state", 1)
    await async_poll(hass, init_integration, Tier.NORMAL)
    assert entity_state(hass, "sensor", "test_park_energy_meter_power").state == "12345"
    assert entity_state(hass, "sensor", "test_park_air_quality_station_temperature").state == "-3.5"
    # The counter is in the slow tier: not read yet.
    assert entity_state(hass, "sensor", "test_park_water_meter_volume").state == "5400.0"
    await async_poll(hass, init_integration, Tier.SLOW, Tier.FAST)
    assert entity_state(hass, "sensor", "test_park_water_meter_volume").state == "5432.125"
    assert entity_state(hass, "sensor", "test_park_broadcast_controller_play_state").state == "playing_preset"


VENDOR_TYPE = {
    "type": "vendor_flow_meter",
    "name": "Vendor flow meter",
    "manufacturer": "ACME",
    "points": [
        {
            "key": "flow_rate",
            "table": "input_register",
            "address": 0,
            "scale": 0.1,
            "precision": 1,
            "unit": "m³/h",
            "device_class": "not_a_device_class",
            "state_class": "measurement",
        },
        {"key": "leak", "table": "discrete_input", "address": 0, "device_class": "not_a_device_class"},
    ],
}


async def test_vendor_type_from_the_profile(
    hass: HomeAssistant, park_factory: ParkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A register map added in the profile gets entities named from its keys; bad device classes dropped."""
    document = park_document()
    document["device_types"] = [VENDOR_TYPE]
    document["devices"] = [{"id": "flow1", "type": "vendor_flow_meter", "unit": 1, "name": "Flow 1"}]
    entry, sim = await park_factory(document, setup=False)
    sim.set_value("flow1", "flow_rate", 12.5)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flow = entity_state(hass, "sensor", "test_park_flow1_flow_rate")
    assert flow.state == "12.5"
    assert flow.attributes["friendly_name"] == "Flow 1 Flow rate"
    assert flow.attributes[ATTR_UNIT_OF_MEASUREMENT] == "m³/h"
    assert ATTR_DEVICE_CLASS not in flow.attributes
    assert entity_state(hass, "binary_sensor", "test_park_flow1_leak").state == "off"
    assert "not_a_device_class is not a sensor device class" in caplog.text
    assert "not_a_device_class is not a binary sensor device class" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)
