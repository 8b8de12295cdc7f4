"""The key figures of the values the screen shows: fire-water tanks against their limit, air against GB 3095.

No Home Assistant here: figures are built from the layout and the devices' last values (:mod:`.state`).
"""

from __future__ import annotations

from typing import Any, Final

from .model import Layout, State
from .state import ParkState

# GB 3095-2012, grade II (residential, commercial, industrial areas), 24-hour means, µg/m³.
AIR_LIMITS: Final = {"so2": 150, "pm25": 75, "pm10": 150}
# A tank's lowest level, m: the tank_low blueprint's default. The tank's own low-level switch is what alarms
# (its fault point); this limit is what the screen draws the level against.
TANK_LOW_LIMIT: Final = 1.0


def tank_figures(layout: Layout, state: ParkState) -> list[dict[str, Any]]:
    """Every fire-water tank: level (m) and pressure (kPa), its low limit and state."""
    out = []
    for place in layout.special:
        if place.kind != "tank" or place.device is None:
            continue
        values = state.status[place.device].values
        level = values.get("level")
        out.append(
            {
                "device": place.device,
                "name": place.name,
                "level": level,
                "low_limit": TANK_LOW_LIMIT,
                "pressure": values.get("pressure"),
                "low": level is not None and level < TANK_LOW_LIMIT,
                "state": state.device_states.get(place.device, State.NORMAL).value,
            }
        )
    return out


def air_figures(layout: Layout, state: ParkState) -> list[dict[str, Any]]:
    """Every air station: SO2, PM2.5 and PM10 (µg/m³) against the limits, and which exceed them."""
    out = []
    for place in layout.special:
        if place.kind != "air_station" or place.device is None:
            continue
        values = state.status[place.device].values
        readings = {key: values.get(key) for key in AIR_LIMITS}
        exceeded = [k for k, limit in AIR_LIMITS.items() if (v := readings[k]) is not None and v > limit]
        out.append(
            {
                "device": place.device,
                "name": place.name,
                **readings,
                "limits": dict(AIR_LIMITS),
                "exceeded": exceeded,
                "state": state.device_states.get(place.device, State.NORMAL).value,
            }
        )
    return out
