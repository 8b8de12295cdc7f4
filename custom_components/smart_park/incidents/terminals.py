"""One-key alarm terminals as the profile declares them: a stand-alone unit or a channel of an IO module.

A :class:`Terminal` is one alarm button and its acknowledge lamp, with what the last polls saw; it is found
in the park's devices by :func:`find_terminals`. :func:`counter_step` reads a terminal's wrapping press and
cancel counters. No Home Assistant here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..engine.profile import Device

FUNCTION: Final = "one_key_alarm"
# Points of a stand-alone terminal (the one_key_alarm catalogue type, or a vendor type with the same keys).
ALARM_KEY: Final = "alarm_active"
PRESS_KEY: Final = "press_count"
CANCEL_KEY: Final = "cancel_count"
LAMP_KEY: Final = "acknowledge_lamp"
TERMINAL_KEYS: Final = frozenset({ALARM_KEY, PRESS_KEY, CANCEL_KEY, LAMP_KEY})
# Counters are 16-bit and wrap; a jump backwards by less than half the range is a terminal that restarted.
COUNTER_MODULO: Final = 0x10000


@dataclass(slots=True, kw_only=True)
class Terminal:
    """One alarm button and its lamp, with what the last polls saw."""

    # The incident source: the device id, or "<device id>:<channel>" for an IO module channel.
    key: str
    device: Device
    channel: int | None
    name: str | None
    alarm_key: str
    lamp_key: str
    press_key: str | None
    cancel_key: str | None
    building: str | None
    floor: int | None
    enterprise: str | None
    # None until first read: the first reading is a baseline.
    presses: int | None = None
    cancels: int | None = None
    alarm_on: bool | None = None
    lamp_wanted: bool = False
    lamp_seen: bool | None = None
    lamp_failures: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def needs_lamp_write(self) -> bool:
        """A failed write is pending, or the lamp was read back in the wrong state."""
        return self.lamp_failures > 0 or (self.lamp_seen is not None and self.lamp_seen != self.lamp_wanted)


def find_terminals(devices: Mapping[str, Device]) -> dict[str, Terminal]:
    """Every terminal of the park, stand-alone or IO module channel."""
    terminals: dict[str, Terminal] = {}
    for device in devices.values():
        if {point.key for point in device.points} >= TERMINAL_KEYS:
            terminals[device.id] = Terminal(
                key=device.id,
                device=device,
                channel=None,
                name=None,
                alarm_key=ALARM_KEY,
                lamp_key=LAMP_KEY,
                press_key=PRESS_KEY,
                cancel_key=CANCEL_KEY,
                building=device.building,
                floor=device.floor,
                enterprise=device.enterprise,
            )
        for number, channel in sorted(device.channel_map.items()):
            if channel.function != FUNCTION:
                continue
            key = f"{device.id}:{number}"
            terminals[key] = Terminal(
                key=key,
                device=device,
                channel=number,
                name=channel.name,
                alarm_key=f"input_{number}",
                lamp_key=f"output_{number}",
                press_key=None,
                cancel_key=None,
                building=device.building,
                floor=channel.floor if channel.floor is not None else device.floor,
                enterprise=channel.enterprise or device.enterprise,
            )
    return terminals


def counter_step(before: int, now: int) -> int | None:
    """How many times a wrapping counter went up since ``before``; None when it fell back (a restart)."""
    step = (now - before) % COUNTER_MODULO
    return step if step < COUNTER_MODULO // 2 else None
