"""A small park with one device of every built-in type, on two gateways."""

from __future__ import annotations

from typing import Any

from custom_components.smart_park.engine.catalogue import builtin_device_types


def every_type_profile() -> dict[str, Any]:
    """gw1: one device per built-in type (unit = sorted position + 1); gw2: a second tank at unit 1."""
    devices: list[dict[str, Any]] = [
        {"id": type_id, "type": type_id, "gateway": "gw1", "unit": index + 1}
        for index, type_id in enumerate(sorted(builtin_device_types()))
    ]
    devices.append({"id": "tank2", "type": "fire_water_tank", "gateway": "gw2", "unit": 1})
    return {
        "park": {"id": "testpark", "name": "Test Park"},
        "gateways": [
            {"id": "gw1", "host": "127.0.0.1", "port": 5020},
            {"id": "gw2", "host": "127.0.0.1", "port": 5021},
        ],
        "devices": devices,
    }
