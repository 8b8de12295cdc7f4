"""A small two-building park for the safety tests: polled by the real loops at the default intervals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from simulator.server import ParkSimulator

PARK_ID = "safety_park"
CHANNELS = {"bells_a": 12, "bells_b": 4, "bells_c": 3}


def safety_document(port: int = 5020) -> dict[str, Any]:
    """b1: bells_a (12 floors: two bytes of call points) and bells_b; b2: bells_c; plus a meter and a smoke
    detector so that every tier (safety 0.1 s, fast, normal, slow) has a poll loop on the gateway."""
    return {
        "park": {"id": PARK_ID, "name": "安全测试园"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 1.0}],
        "buildings": [
            {"id": "b1", "name": "1号楼", "floors": 12},
            {"id": "b2", "name": "2号楼", "floors": 3},
        ],
        "devices": [
            {"id": d, "type": "fire_bell_controller", "unit": i + 1, "building": b, "channels": CHANNELS[d]}
            for i, (d, b) in enumerate((("bells_a", "b1"), ("bells_b", "b1"), ("bells_c", "b2")))
        ]
        + [
            {"id": "smoke_1", "type": "smoke_detector", "unit": 4, "building": "b1", "floor": 2},
            {"id": "meter_1", "type": "energy_meter", "unit": 5, "building": "b2", "floor": 1},
        ],
    }


def bells_on(sim: ParkSimulator, device_id: str) -> bool:
    """Whether every bell of a controller is on, as the simulator holds them."""
    return all(sim.get_value(device_id, f"bell_{n}") for n in range(1, CHANNELS[device_id] + 1))


async def wait_until(what: str, probe: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``probe()`` holds; fails the test after ``timeout``."""
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started
