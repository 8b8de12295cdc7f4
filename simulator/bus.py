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

    The serial server waits ``server_timeout`` for a unit's reply (a Modbus TCP gateway's "response
    timeout"), then answers exception 0x0B (gateway target failed to respond) and frees the line: a unit that
    does not answer holds the line for its request frame and that wait, and a delayed reply holds it for the
    delay or the wait, whichever is shorter, as on a real line. ``server_timeout`` None: the server never
    gives up (a silent unit then holds the line for its request frame only, and nothing is answered).
    """

    def __init__(
        self, line: SerialLine, released: Callable[[], asyncio.Event], server_timeout: float | None = None
    ) -> None:
        self.line = line
        self.server_timeout = server_timeout
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
        """A request no unit answers: its request frame and gap on the line, then the server's wait."""
        async with self._lock:
            started = time.monotonic()
            try:
                await self._hold(
                    request.sizes()[0] * self.line.char_time + self.line.gap + (self.server_timeout or 0.0)
                )
            finally:
                self.transactions += 1
                self.busy += time.monotonic() - started

    async def hold(self, seconds: float) -> None:
        """Hold the line (inside a transaction) for ``seconds``, ended early when the simulator stops."""
        await self._hold(seconds)

    async def _hold(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._released().wait(), seconds)
