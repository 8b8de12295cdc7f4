"""Unique ids and device identifiers never change: a changed value renames entities and devices in HA.

Each format of :mod:`custom_components.smart_park.ids` is pinned for a sample; if one of these fails, the
change would re-create entities (losing history and user settings): it needs a registry migration instead.
"""

from __future__ import annotations

from custom_components.smart_park import ids

PARK = "hightech_park"


def test_entity_unique_ids() -> None:
    assert ids.point(PARK, "smoke_b1_1", "alarm") == "hightech_park_smoke_b1_1_alarm"
    assert ids.linkage_group_entity(PARK, "b1", "state") == "hightech_park_linkage_b1_state"
    assert ids.alarm_button(PARK, "sos_1", None) == "hightech_park_sos_1_alarm_button"
    assert ids.alarm_button(PARK, "sos_1", 3) == "hightech_park_sos_1_alarm_button_3"
    assert ids.bell(PARK, "bells_b1", 2) == "hightech_park_bells_b1_bell_2"
    assert ids.open_incidents(PARK) == "hightech_park_open_incidents"
    assert ids.park_sensor(PARK, "electricity_month") == "hightech_park_park.electricity_month"
    assert (
        ids.enterprise_sensor(PARK, "hengda", "electricity_month")
        == "hightech_park_enterprise.hengda_electricity_month"
    )
    assert ids.broadcast_zone(PARK, "pa_1", 4) == "hightech_park_pa_1_zone_4"
    assert ids.patrol(PARK) == "hightech_park_patrol"
    assert ids.inspection_list(PARK, "b1") == "hightech_park_building.b1_fire_inspection"


def test_device_identifiers() -> None:
    assert ids.device(PARK, "park") == ("smart_park", "hightech_park_park")
    assert ids.device(PARK, "gw1") == ("smart_park", "hightech_park_gw1")
    assert ids.device(PARK, "meter_1") == ("smart_park", "hightech_park_meter_1")
    assert ids.enterprise_device(PARK, "hengda") == ("smart_park", "hightech_park_enterprise.hengda")
    assert ids.linkage_group_device(PARK, "b1") == ("smart_park", "hightech_park_linkage_b1")
    assert ids.building_device(PARK, "b1") == ("smart_park", "hightech_park_building.b1")
