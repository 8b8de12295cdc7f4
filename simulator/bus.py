"""Bus emulation: a serial gateway answers one transaction at a time, each after the bus model's duration.

Real field devices hang on RS-485 behind a serial server: requests from every client queue for one line, and
each holds it for its frames, the silent intervals and the device's turnaround. With emulation on, each
serial gateway of the profile (``transport: serial_over_tcp`` or ``rtu``) gets one :class:`BusEmulator`
timed by the integration's own model (engine/bus.py), so tests and benchmarks see that timing; TCP-native
gateways, and every gateway with emulation off (the default), answer at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from custom_components.smart_park.engine.bus import Request, SerialLine


class BusEmulator:
    """One serial line: transactions in arrival order, each holding the line for its modelled duration.

    A unit that does not answer holds the line for its request frame only (the serial server's own timeout
    is not modelled); a unit whose reply is delayed holds it for the delay too, as on a real line.
    """

    def __init__(self, line: SerialLine, released: Callable[[], asyncio.Event]) -> None:
        self.line = line
        # The simulator's release event (set when it stops): no request handler outlives the simulator.
        self._released = released
        self._lock = asyncio.Lock()
        self.transactions = 0
        # Seconds the line was held, in total (the emulated bus time, for tests and benchmarks).
        self.busy = 0.0

    @asynccontextmanager
    async def transaction(self, request: Request) -> AsyncIterator[None]:
        """Hold the line for one transaction: its wire time first, then whatever answering takes."""
        async with self._lock:
            started = time.monotonic()
            try:
                await self._hold(self.line.transaction_time(request))
                yield
            finally:
                self.transactions += 1
                self.busy += time.monotonic() - started

    async def unanswered(self, request: Request) -> None:
        """A request no unit answers: the line carries the request frame and its gap."""
        async with self._lock:
            await self._hold(request.sizes()[0] * self.line.char_time + self.line.gap)

    async def _hold(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._released().wait(), seconds)
