"""Modbus engine: tiered polling of a gateway's devices, and verified writes.

Nothing here imports Home Assistant: the coordinators, the linkage and the benchmarks drive it, and it is
tested against the park simulator over real TCP. The read planning and point coding are in :mod:`.planner`,
the connection and reply checks in :mod:`.client`; this module re-exports their names, so importers use
``engine.modbus`` only.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .bus import TIER_ORDER, BusModel, SerialLine, frame_limits, stretched_periods
from .catalogue import Point, Table, Tier
from .client import (
    PRIORITY,
    RECONNECT_BACKOFF,
    DeviceExceptionError,
    DeviceNotRespondingError,
    GatewayClient,
    GatewayOfflineError,
    InvalidReplyError,
    ModbusError,
    WriteVerifyError,
    async_test_connection,
)
from .piggyback import Carried, Costs, piggyback
from .planner import BITS_PER_REGISTER, DEFAULT_MAX_GAP, ReadBlock, decode_point, encode_point, plan_blocks
from .profile import Device

__all__ = [
    "BITS_PER_REGISTER",
    "DEFAULT_MAX_GAP",
    "DEFAULT_OFFLINE_RETRY",
    "PRIORITY",
    "RECONNECT_BACKOFF",
    "SAFETY_OFFLINE_RETRY",
    "DeviceExceptionError",
    "DeviceFault",
    "DeviceNotRespondingError",
    "DeviceReading",
    "GatewayClient",
    "GatewayOfflineError",
    "GatewayPoller",
    "InvalidReplyError",
    "ModbusError",
    "ReadBlock",
    "WriteVerifyError",
    "async_close_all",
    "async_test_connection",
    "decode_point",
    "encode_point",
    "plan_blocks",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_OFFLINE_RETRY = 30.0
# The safety tier asks an unanswering unit again after at most this: one missed answer under load must not
# leave a building's call points unread for the whole offline retry.
SAFETY_OFFLINE_RETRY = 1.0
# A unit that stays silent is asked ever less often (each miss doubles its retry interval, up to these caps):
# every question costs the bus a timeout that the other units' reads wait behind.
SAFETY_RETRY_CAP = 10.0
RETRY_CAP_FACTOR = 8
# Configured periods, for a poller made without them (tests, tools): the integration's defaults.
DEFAULT_PERIODS: Mapping[Tier, float] = {Tier.SAFETY: 0.1, Tier.FAST: 0.25, Tier.NORMAL: 5.0, Tier.SLOW: 60.0}
# How often the stretched periods are recomputed from the measured bus model.
PERIOD_REFRESH = 5.0
# A carried point is read by its own tier when its host's latest reply is older than this many host periods.
CARRIED_MAX_AGE = 3.0


class DeviceFault(StrEnum):
    """Why a device's last poll failed; the linkage reports a controller's fault by this."""

    NO_ANSWER = "offline"
    EXCEPTION = "exception_reply"
    INVALID_REPLY = "invalid_reply"


@dataclass(slots=True)
class DeviceReading:
    """What one poll of one tier learnt about one device."""

    available: bool
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    offline_since: datetime | None = None
    # Why it is unavailable (None while available, or when the whole gateway is unreachable).
    fault: DeviceFault | None = None


@dataclass(slots=True)
class _DeviceState:
    online: bool = True
    offline_since: datetime | None = None
    failed_at: float = 0.0
    error: str | None = None
    fault: DeviceFault | None = None
    # Consecutive unanswered polls (the retry backoff's exponent).
    misses: int = 0


# Told at once, inside the poll, of a device whose values changed (the safety tier's early alarm path).
type EarlyReading = Callable[[str, DeviceReading], Awaitable[None]]


class GatewayPoller:
    """Polls every device of one gateway, tier by tier, with reads planned once."""

    def __init__(
        self,
        client: GatewayClient,
        devices: Iterable[Device],
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        offline_retry: float = DEFAULT_OFFLINE_RETRY,
        periods: Mapping[Tier, float] = DEFAULT_PERIODS,
    ) -> None:
        self.client = client
        self.devices = {device.id: device for device in devices}
        self.offline_retry = offline_retry
        self.periods = dict(periods)
        self._plans: dict[Tier, dict[str, list[ReadBlock]]] = {tier: {} for tier in Tier}
        # Per tier and device: the slower tier's blocks read inside a faster tier's block (piggyback.py).
        self._carried: dict[Tier, dict[str, list[Carried]]] = {tier: {} for tier in Tier}
        # (device, host tier, host index) -> when and what the host block last returned.
        self._replies: dict[tuple[str, Tier, int], tuple[float, list[int] | list[bool]]] = {}
        self._hosts: dict[Tier, dict[str, set[int]]] = {tier: {} for tier in Tier}
        # A declared max_frame shortens the reads (none: the protocol's limits, as always).
        limits = frame_limits(client.gateway)
        costs = Costs(SerialLine.of(client.gateway), self.periods, max_gap, **limits)
        for device in self.devices.values():
            own: dict[Tier, list[ReadBlock]] = {}
            for tier in Tier:
                tier_points = [p for p in device.points if p.tier is tier]
                if tier_points:
                    own[tier] = plan_blocks(tier_points, max_gap=max_gap, **limits)
            plans, carried = piggyback(own, costs)
            for tier, blocks in plans.items():
                if blocks or any(c.tier is tier for c in carried):
                    self._plans[tier][device.id] = blocks
            for item in carried:
                self._carried[item.tier].setdefault(device.id, []).append(item)
                self._hosts[item.host_tier].setdefault(device.id, set()).add(item.host)
        self._state = {device_id: _DeviceState() for device_id in self.devices}
        self._stretched: dict[Tier, float] = {}
        self._stretched_at = -PERIOD_REFRESH
        # Last values read per (tier, device), to tell ``early`` only of a change.
        self._last_values: dict[tuple[Tier, str], dict[str, Any]] = {}

    def tiers(self) -> set[Tier]:
        """Tiers with at least one point on this gateway."""
        return {tier for tier, plan in self._plans.items() if plan}

    def plan(self, tier: Tier) -> dict[str, list[ReadBlock]]:
        """Device id -> the read blocks of one tier (without the blocks a faster tier carries)."""
        return self._plans[tier]

    def carried(self, tier: Tier) -> dict[str, list[Carried]]:
        """Device id -> the blocks of ``tier`` that a faster tier's reads carry."""
        return self._carried[tier]

    def request_count(self, tier: Tier) -> int:
        """Requests one full cycle of ``tier`` issues while every device answers."""
        return sum(len(blocks) for blocks in self._plans[tier].values())

    def period(self, tier: Tier) -> float:
        """The period the bus scheduler keeps for ``tier``: the configured one, unless the line cannot
        carry every tier at its period (then stretched: :func:`.bus.stretched_periods`, measured model).
        """
        bus = self.client.bus
        if bus is None or bus.line is None:
            return self.periods.get(tier, DEFAULT_PERIODS[tier])
        now = time.monotonic()
        if now - self._stretched_at >= PERIOD_REFRESH:
            self._stretched_at = now
            self._stretched = stretched_periods(self.cycles(bus), self.periods)
        return self._stretched.get(tier, self.periods.get(tier, DEFAULT_PERIODS[tier]))

    def cycles(self, model: BusModel) -> dict[Tier, float]:
        """Bus seconds of one full cycle of each tier with reads on this gateway, by ``model``."""
        return {
            tier: sum(model.cycle_time(blocks) for blocks in self._plans[tier].values())
            for tier in TIER_ORDER
            if self.request_count(tier)
        }

    def is_online(self, device_id: str) -> bool:
        """Whether the device answered its last request."""
        return self._state[device_id].online

    async def async_poll(self, tier: Tier, early: EarlyReading | None = None) -> dict[str, DeviceReading]:
        """Read every device of the tier; unanswering units are skipped until their retry time.

        ``early`` is awaited as soon as a device's values differ from its last read, before the next device is
        read: on a serial bus the rest of a safety cycle takes a line time that a pressed call point's bells
        need not wait for.

        Raises :class:`GatewayOfflineError` when the gateway itself cannot be reached, or when every unit
        tried in this cycle timed out (a dead serial bus behind a live TCP gateway looks like that).
        """
        readings: dict[str, DeviceReading] = {}
        priority = PRIORITY[tier]
        now = time.monotonic()
        # The cycle's deadline orders its reads among the measurement tiers' on the line (schedule.py).
        deadline = now + self.period(tier)
        tried = timed_out = 0
        for device_id, blocks in self._plans[tier].items():
            state = self._state[device_id]
            if not state.online and now < state.failed_at + self._retry_after(tier, state):
                readings[device_id] = DeviceReading(
                    False, error=state.error, offline_since=state.offline_since, fault=state.fault
                )
                continue
            tried += 1
            reading = await self._async_poll_device(self.devices[device_id], tier, blocks, priority, deadline)
            if reading.fault is DeviceFault.NO_ANSWER:
                timed_out += 1
            readings[device_id] = reading
            if early is not None and reading.available:
                previous = self._last_values.get((tier, device_id))
                self._last_values[(tier, device_id)] = reading.values
                if previous is not None and previous != reading.values:
                    await early(device_id, reading)
        if tried >= 2 and timed_out == tried:
            self.client.disconnect()
            raise GatewayOfflineError(f"gateway {self.client.gateway.id}: no unit answered")
        return readings

    def _retry_after(self, tier: Tier, state: _DeviceState) -> float:
        """How long an unanswering unit is left alone: the offline retry, doubled by each further miss."""
        if tier is Tier.SAFETY:
            base, cap = min(self.offline_retry, SAFETY_OFFLINE_RETRY), SAFETY_RETRY_CAP
        else:
            base, cap = self.offline_retry, self.offline_retry * RETRY_CAP_FACTOR
        if state.fault is not DeviceFault.NO_ANSWER:
            return base
        doubled: float = base * 2.0 ** max(state.misses - 1, 0)
        return min(doubled, max(cap, base))

    async def _async_poll_device(
        self, device: Device, tier: Tier, blocks: Sequence[ReadBlock], priority: int, deadline: float
    ) -> DeviceReading:
        """Read one device's blocks of a tier and record whether it answered.

        One device's failure, whatever it is, is that device's: the others of the tier are still read and the
        hooks (the linkage) still run. Only a dead gateway and a cancellation end the poll.
        """
        try:
            values = await self._async_read_blocks(device, tier, blocks, priority, deadline)
        except DeviceNotRespondingError as err:
            return self._mark_offline(device, str(err), DeviceFault.NO_ANSWER)
        except DeviceExceptionError as err:
            return self._mark_offline(device, str(err), DeviceFault.EXCEPTION)
        except GatewayOfflineError:
            raise
        except Exception as err:
            # InvalidReplyError, a verify mismatch, or a bug in decoding: never let it blind the gateway.
            if not isinstance(err, ModbusError) and self._state[device.id].online:
                _LOGGER.exception("Decoding a reply of device %s failed", device.id)
            return self._mark_offline(device, str(err), DeviceFault.INVALID_REPLY)
        self._mark_online(device)
        return DeviceReading(True, values)

    async def _async_read_blocks(
        self, device: Device, tier: Tier, blocks: Sequence[ReadBlock], priority: int, deadline: float
    ) -> dict[str, Any]:
        """The device's point values; a reply that does not decode is the device's InvalidReplyError."""
        values: dict[str, Any] = {}
        hosts = self._hosts[tier].get(device.id, ())
        for index, block in enumerate(blocks):
            data = await self.client.async_read(
                device.unit, block.table, block.address, block.count, priority=priority, deadline=deadline
            )
            if index in hosts:
                self._replies[(device.id, tier, index)] = (time.monotonic(), data)
            _decode_into(values, device, block, block.points, data)
        for item in self._carried[tier].get(device.id, ()):
            host = self._plans[item.host_tier][device.id][item.host]
            reply = self._replies.get((device.id, item.host_tier, item.host))
            max_age = CARRIED_MAX_AGE * self.period(item.host_tier)
            if reply is None or time.monotonic() - reply[0] > max_age or not self._state[device.id].online:
                # The host has not read lately (start-up, a stretched tier), or the unit stopped answering
                # since (an old reply must not show it available): read the host block now.
                data = await self.client.async_read(
                    device.unit, host.table, host.address, host.count, priority=priority, deadline=deadline
                )
                self._replies[(device.id, item.host_tier, item.host)] = (time.monotonic(), data)
            else:
                data = reply[1]
            _decode_into(values, device, host, item.block.points, data)
        return values

    def _mark_offline(self, device: Device, error: str, fault: DeviceFault) -> DeviceReading:
        state = self._state[device.id]
        state.failed_at = time.monotonic()
        state.misses = state.misses + 1 if fault is DeviceFault.NO_ANSWER else 0
        state.error = error
        state.fault = fault
        if state.online:
            state.online = False
            state.offline_since = datetime.now(UTC)
            _LOGGER.warning(
                "Device %s (unit %s on gateway %s) is unavailable: %s",
                device.id,
                device.unit,
                device.gateway,
                error,
            )
        return DeviceReading(False, error=error, offline_since=state.offline_since, fault=fault)

    def _mark_online(self, device: Device) -> None:
        state = self._state[device.id]
        if not state.online:
            _LOGGER.info(
                "Device %s (unit %s on gateway %s) is available again", device.id, device.unit, device.gateway
            )
        state.online, state.offline_since, state.error, state.failed_at = True, None, None, 0.0
        state.fault, state.misses = None, 0

    async def async_write_point(self, device_id: str, key: str, value: Any, *, verify: bool = True) -> None:
        """Write one writable point of a device, in engineering units, verified by read-back."""
        device = self.devices[device_id]
        point = next((p for p in device.points if p.key == key), None)
        if point is None or not point.writable:
            raise ValueError(f"{device_id} has no writable point {key}")
        words = encode_point(point, value)
        if point.table is Table.COIL:
            await self.client.async_write_coils(
                device.unit, point.address, [bool(w) for w in words], verify=verify
            )
        else:
            await self.client.async_write_registers(
                device.unit, point.address, [int(w) for w in words], verify=verify
            )


def _decode_into(
    values: dict[str, Any], device: Device, block: ReadBlock, points: Iterable[Point], data: Sequence[Any]
) -> None:
    for point in points:
        try:
            values[point.key] = decode_point(point, block, data)
        except (ValueError, KeyError, struct.error) as err:
            raise InvalidReplyError(device.unit, f"{point.key}: {err}") from err


async def async_close_all(clients: Iterable[GatewayClient]) -> None:
    """Close several clients, ignoring those already closed."""
    for client in clients:
        with suppress(Exception):
            await client.async_close()
