"""A pressed call point rings its bells as soon as its controller is read (#16), not after the rest of the
safety cycle: on a 9600-baud bus every further controller of the cycle costs ~33 ms of line time first.

The safety park on one emulated 9600-baud serial gateway, polled by the real loops at the default
intervals. The simulator stamps each controller's safety read (its call-point inputs) and logs the bells'
write; the write must come before the next controller's safety read after the one that saw the press.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.smart_park.engine.catalogue import Table
from simulator.server import ParkSimulator

from .conftest import ParkFactory
from .safety_park import bells_on, safety_document, wait_until

CONTROLLERS = ("bells_a", "bells_b", "bells_c")


def _stamp_safety_reads(sim: ParkSimulator) -> list[tuple[int, str]]:
    """(monotonic ns, controller) of each read of a controller's call points, as the simulator serves it."""
    reads: list[tuple[int, str]] = []
    for device_id in CONTROLLERS:
        image = sim.images[device_id]
        original: Callable[..., Any] = image.read

        def stamped(
            table: Table, address: int, count: int, *, _d: str = device_id, _r: Any = original
        ) -> Any:
            if table is Table.DISCRETE_INPUT and address == 0:
                reads.append((time.monotonic_ns(), _d))
            return _r(table, address, count)

        image.read = stamped  # type: ignore[method-assign]
    return reads


async def test_bells_ring_before_the_rest_of_the_safety_cycle(
    hass: HomeAssistant, park_factory: ParkFactory
) -> None:
    document = safety_document()
    document["gateways"][0].update(transport="serial_over_tcp", baudrate=9600)
    _entry, sim = await park_factory(document, options={}, emulate_buses=True)
    reads = _stamp_safety_reads(sim)
    await wait_until("a few safety cycles", lambda: len(reads) >= 9, 10)

    pressed = time.monotonic_ns()
    sim.press_call_point("bells_a", 1)  # the first controller of each cycle
    await wait_until("bells_a's bells on", lambda: bells_on(sim, "bells_a"), 5)

    seen = next(ns for ns, device in reads if device == "bells_a" and ns > pressed)
    await wait_until("the cycle goes on", lambda: any(ns > seen and d != "bells_a" for ns, d in reads), 5)
    ring = next(
        w.mono_ns
        for w in sim.writes
        if w.device_id == "bells_a" and w.table == "coil" and w.mono_ns > seen and all(w.values)
    )
    next_read = next(ns for ns, device in reads if ns > seen and device != "bells_a")
    # Rung before the cycle's other controllers were read (before: after all three, ~70 ms later).
    assert ring < next_read, (ring - seen, next_read - seen)
