"""The bells: what each controller reports of them, and driving its coils to what its group wants.

One ``write_coils`` per controller switches all its bells, verified by read-back; an unconfirmed write is
retried with backoff on the following polls until confirmed. Controllers are driven in parallel, each under
its own lock so two tasks never interleave writes to one controller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final

from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..engine.modbus import DeviceReading, ModbusError
from .groups import BellController, GroupRuntime

if TYPE_CHECKING:
    from ..engine.modbus import GatewayPoller

# Seconds before retrying an unconfirmed bell write, by consecutive failures (first retry: the next poll).
RETRY_BACKOFF: Final = (0.0, 0.5, 1.0, 2.0, 5.0)

type UnconfirmedCallback = Callable[[GroupRuntime, BellController, ModbusError], None]
type ConfirmedCallback = Callable[[GroupRuntime, BellController, int], None]


def take_reading(controller: BellController, reading: DeviceReading, poll_started: float) -> bool:
    """Take a controller's availability, faults and bell read-back; True when something changed."""
    before = (controller.online, controller.unavailable, set(controller.faults), controller.confirmed)
    controller.online = reading.available
    # A controller answering garbage is a fault of its own, not the same as one that is silent.
    controller.unavailable = str(reading.fault) if reading.fault is not None else "offline"
    if reading.available:
        values = reading.values
        for key in ("mains_fault", "battery_fault"):
            if key in values:
                (controller.faults.add if values[key] else controller.faults.discard)(key)
        for n in range(1, controller.bells + 1):
            key = f"bell_circuit_fault_{n}"
            if key in values:
                (controller.faults.add if values[key] else controller.faults.discard)(key)
        bells = tuple(
            bool(values[f"bell_{n}"]) for n in range(1, controller.bells + 1) if f"bell_{n}" in values
        )
        if (
            len(bells) == controller.bells
            and controller.confirmed is not None
            and bells != controller.confirmed
            # A read that started before our last confirmed write shows the coils as they were then.
            and poll_started > controller.confirmed_at
        ):
            # The coils changed behind our back (panel, power cycle): drive them again.
            LOGGER.warning(
                "Bells of %s read %s, expected %s: re-asserting", controller.id, bells, controller.confirmed
            )
            controller.confirmed = None
    return before != (controller.online, controller.unavailable, controller.faults, controller.confirmed)


class BellDrive:
    """Drives every controller's bell coils of one park.

    ``on_unconfirmed`` runs on a controller's first failed write in a row, ``on_confirmed`` (with the number
    of attempts) when a write succeeds after failures: the manager audits them and refreshes the faults.
    """

    def __init__(
        self,
        pollers: Mapping[str, GatewayPoller],
        groups: Mapping[str, GroupRuntime],
        on_unconfirmed: UnconfirmedCallback,
        on_confirmed: ConfirmedCallback,
    ) -> None:
        self.pollers = pollers
        self.groups = groups
        # Groups whose alarm bells are paused while the evacuation message plays (bell/message alternation).
        self.paused: set[str] = set()
        self._on_unconfirmed = on_unconfirmed
        self._on_confirmed = on_confirmed

    def wanted(self, group: GroupRuntime, controller: BellController) -> tuple[bool, ...]:
        """The bells the controller must sound: all for its group's alarm or test, else its manual ones."""
        on = group.machine.bells_on(dt_util.utcnow()) and group.id not in self.paused
        return tuple(on or n in controller.manual for n in range(1, controller.bells + 1))

    async def async_drive(self, groups: Iterable[GroupRuntime] | None = None) -> None:
        """Bring every controller's bells to what its group wants, in parallel across controllers."""
        now = time.monotonic()
        jobs = [
            self._async_write(group, controller)
            for group in (self.groups.values() if groups is None else groups)
            for controller in group.controllers
            if controller.confirmed != self.wanted(group, controller) and now >= controller.retry_at
        ]
        if jobs:
            await asyncio.gather(*jobs)

    async def _async_write(self, group: GroupRuntime, controller: BellController) -> None:
        async with controller.lock:
            want = self.wanted(group, controller)
            if controller.confirmed == want:
                return  # another task confirmed it while this one waited
            poller = self.pollers[controller.device.gateway]
            try:
                await poller.client.async_write_coils(
                    controller.device.unit, controller.address, want, verify=True
                )
            except ModbusError as err:
                controller.confirmed = None
                controller.failures += 1
                delay = RETRY_BACKOFF[min(controller.failures, len(RETRY_BACKOFF)) - 1]
                controller.retry_at = time.monotonic() + delay
                if controller.failures == 1:
                    LOGGER.warning("Bells of %s not confirmed, retrying: %s", controller.id, err)
                    self._on_unconfirmed(group, controller, err)
                return
            failed = controller.failures
            controller.confirmed, controller.failures, controller.retry_at = want, 0, 0.0
            controller.confirmed_at = time.monotonic()
            if failed:
                self._on_confirmed(group, controller, failed + 1)
