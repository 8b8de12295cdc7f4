"""A small park layout as HA's ``smart_park/centre/layout`` gives it, and a stand-in HA link."""

from __future__ import annotations

from typing import Any

SOURCE = 0x000000000379  # the device address of the standard's examples
CENTRE = 0x000000015B38


def point(
    key: str, entity_id: str, building: str, floor: int, channel: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "key": key,
        "entity_id": entity_id,
        "channel": channel,
        "building": building,
        "floor": floor,
        "enterprise": extra.get("enterprise"),
    }


def small_layout() -> dict[str, Any]:
    """Building b1 (3 floors): a fire-bell controller, a smoke detector of 恒达, a tank; gateway gw1."""
    bells = [point(f"call_point_{n}", f"binary_sensor.cp{n}", "b1", n, n) for n in (1, 2, 3)]
    bells += [point(f"bell_{n}", f"siren.bell{n}", "b1", n, n) for n in (1, 2, 3)]
    bells += [
        point("mains_fault", "binary_sensor.mains", "b1", 1),
        point("battery_fault", "binary_sensor.batt", "b1", 1),
    ]
    return {
        "config_entry_id": "x",
        "park_id": "zhifeng",
        "name": "智峰小微园",
        "buildings": [{"id": "b1", "name": "1号楼", "number": 1, "floors": 3, "basements": 0}],
        "enterprises": {"e001": "恒达机械有限公司"},
        "gateways": ["gw1"],
        "devices": [
            {
                "id": "b1_bells",
                "type": "fire_bell_controller",
                "gateway": "gw1",
                "building": "b1",
                "floor": 1,
                "enterprise": None,
                "points": bells,
            },
            {
                "id": "e001_smoke_detector",
                "type": "smoke_detector",
                "gateway": "gw1",
                "building": "b1",
                "floor": 2,
                "enterprise": "e001",
                "points": [
                    point("smoke_alarm", "binary_sensor.smoke", "b1", 2, enterprise="e001"),
                    point("fault", "binary_sensor.smoke_fault", "b1", 2, enterprise="e001"),
                ],
            },
            {
                "id": "b1_tank",
                "type": "fire_water_tank",
                "gateway": "gw1",
                "building": "b1",
                "floor": 3,
                "enterprise": None,
                "points": [
                    point("level", "sensor.tank_level", "b1", 3),
                    point("pressure", "sensor.tank_pressure", "b1", 3),
                    point("low_level_alarm", "binary_sensor.tank_low", "b1", 3),
                    point("sensor_fault", "binary_sensor.tank_fault", "b1", 3),
                ],
            },
        ],
        "linkage": [
            {
                "group": "b1",
                "building": "b1",
                "state": "sensor.linkage_b1",
                "fault": "binary_sensor.linkage_b1_fault",
            }
        ],
    }


def state(
    entity_id: str, value: str, at: str = "2026-05-01T01:58:02+00:00", **attributes: Any
) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "state": value,
        "attributes": attributes,
        "last_changed": at,
        "last_updated": at,
    }


def normal_states() -> list[dict[str, Any]]:
    layout = small_layout()
    out = []
    for device in layout["devices"]:
        for p in device["points"]:
            value = {"level": "3.5", "pressure": "330.0"}.get(p["key"], "off")
            out.append(state(p["entity_id"], value))
    out.append(state("sensor.linkage_b1", "normal", bells_on=False))
    out.append(state("binary_sensor.linkage_b1_fault", "off"))
    return out


class FakeHA:
    """What the uplink asks of HA: the layout, and the centre's reports (recorded)."""

    def __init__(self, layout: dict[str, Any] | None = None) -> None:
        self.connected = True
        self.layout = layout or small_layout()
        self.reports: list[dict[str, Any]] = []

    async def command(self, payload: dict[str, Any]) -> Any:
        if payload["type"] == "smart_park/centre/layout":
            return {"parks": [self.layout]}
        self.reports.append(payload)
        return {"parks": [self.layout["park_id"]]}
