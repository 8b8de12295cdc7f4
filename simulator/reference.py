"""Reference parks: believable profiles generated from a size, shared by tests, benchmarks and the demo."""

from __future__ import annotations

import math
from typing import Any

from custom_components.smart_park.engine.catalogue import MAX_UNIT

_TRADES = ["机械", "电子", "五金", "包装", "模具", "服饰", "食品", "印刷", "塑料", "汽配", "光电", "医疗器械"]
_NAMES = [
    "恒达",
    "瑞丰",
    "金鹏",
    "华泰",
    "永盛",
    "宏远",
    "鑫源",
    "嘉禾",
    "德力",
    "天诚",
    "博创",
    "众鑫",
    "安达",
    "新锐",
]

# How a duty room names an enterprise's device: "恒达机械有限公司 电表".
_DEVICE_LABELS = {
    "energy_meter": "电表",
    "water_meter": "水表",
    "one_key_alarm": "一键报警",
    "smoke_detector": "烟感",
    "electrical_safety": "用电安全",
    "gas_detector": "燃气探测器",
}

FLOORS_PER_BUILDING = 6
ENTERPRISES_PER_BUILDING = 15


def _enterprise_devices(index: int) -> list[str]:
    """Device types one enterprise gets: meters and a door terminal for all, detectors for some."""
    types = ["energy_meter", "water_meter", "one_key_alarm"]
    if index % 3 == 0:
        types.append("smoke_detector")
    if index % 4 == 0:
        types.append("electrical_safety")
    if index % 5 == 0:
        types.append("gas_detector")
    return types


def reference_profile(
    enterprises: int = 40,
    *,
    buildings: int | None = None,
    host: str = "127.0.0.1",
    base_port: int = 5020,
    park_id: str = "zhifeng",
    park_name: str = "智峰小微园",
) -> dict[str, Any]:
    """A park of ``enterprises`` enterprises in ``buildings`` six-storey buildings.

    Devices are packed onto gateways (one per TCP port from ``base_port``) by building, keeping each gateway's
    unit ids within 1-247, as an installer would put one RS-485 bus and gateway per building or two.
    """
    n_buildings = buildings or max(1, math.ceil(enterprises / ENTERPRISES_PER_BUILDING))
    profile: dict[str, Any] = {
        "park": {"id": park_id, "name": park_name},
        "gateways": [],
        "buildings": [
            {"id": f"b{b + 1}", "name": f"{b + 1}号楼", "floors": FLOORS_PER_BUILDING}
            for b in range(n_buildings)
        ],
        "enterprises": [],
        "devices": [],
    }
    # Enterprise -> building round-robin by block so neighbours share a building.
    per_building = math.ceil(enterprises / n_buildings)
    by_building: list[list[dict[str, Any]]] = [[] for _ in range(n_buildings)]
    for i in range(enterprises):
        b = min(i // per_building, n_buildings - 1)
        slot = len(by_building[b])
        ent: dict[str, Any] = {
            "id": f"e{i + 1:03d}",
            "name": f"{_NAMES[i % len(_NAMES)]}{_TRADES[(i // len(_NAMES)) % len(_TRADES)]}有限公司",
            "building": f"b{b + 1}",
            "floor": slot % FLOORS_PER_BUILDING + 1,
        }
        by_building[b].append(ent)
        profile["enterprises"].append(ent)

    gateways: list[dict[str, Any]] = []
    next_unit = MAX_UNIT + 1  # forces a first gateway

    def place(device: dict[str, Any], units_needed: int = 1) -> None:
        nonlocal next_unit
        if next_unit + units_needed - 1 > MAX_UNIT:
            gateways.append({"id": f"gw{len(gateways) + 1}", "host": host, "port": base_port + len(gateways)})
            next_unit = 1
        device["gateway"] = gateways[-1]["id"]
        device["unit"] = next_unit
        next_unit += 1
        profile["devices"].append(device)

    for b in range(n_buildings):
        bid = f"b{b + 1}"
        building_devices: list[dict[str, Any]] = [
            {
                "id": f"{bid}_bells",
                "type": "fire_bell_controller",
                "building": bid,
                "floor": 1,
                "channels": FLOORS_PER_BUILDING,
                "name": f"{bid} fire bells",
            },
            {
                "id": f"{bid}_tank",
                "type": "fire_water_tank",
                "building": bid,
                "floor": FLOORS_PER_BUILDING,
                "name": f"{bid} fire-water tank",
            },
        ]
        for ent in by_building[b]:
            index = int(ent["id"][1:])
            for dtype in _enterprise_devices(index):
                building_devices.append(
                    {
                        "id": f"{ent['id']}_{dtype}",
                        "name": f"{ent['name']} {_DEVICE_LABELS[dtype]}",
                        "type": dtype,
                        "building": bid,
                        "floor": ent["floor"],
                        "enterprise": ent["id"],
                    }
                )
        # Keep a building on one gateway when it fits, as it would be wired.
        if next_unit + len(building_devices) - 1 > MAX_UNIT:
            next_unit = MAX_UNIT + 1
        for device in building_devices:
            place(device)
    for device in (
        {
            "id": "air_station",
            "type": "air_quality_station",
            "building": "b1",
            "floor": FLOORS_PER_BUILDING,
            "name": "Park air-quality station",
        },
        {
            "id": "broadcast",
            "type": "broadcast_controller",
            "building": "b1",
            "floor": 1,
            "channels": min(16, n_buildings),
            "name": "Emergency broadcast",
            # One zone per building, so a building's fire alarm can alternate bells and message in its zone.
            "channel_map": {
                n: {"building": f"b{n}", "name": f"{n}号楼"} for n in range(1, min(16, n_buildings) + 1)
            },
        },
        {
            "id": "duty_io",
            "type": "io_module",
            "building": "b1",
            "floor": 1,
            "channels": 8,
            "name": "Duty-room IO",
        },
    ):
        place(device)
    profile["gateways"] = gateways
    return profile
