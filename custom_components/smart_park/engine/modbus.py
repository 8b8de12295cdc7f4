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
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .bus import frame_limits
from .catalogue import Table, Tier
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


class GatewayPoller:
    """Polls every device of one gateway, tier by tier, with reads planned once."""

    def __init__(
        self,
        client: GatewayClient,
        devices: Iterable[Device],
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        offline_retry: float = DEFAULT_OFFLINE_RETRY,
    ) -> None:
        self.client = client
        self.devices = {device.id: device for device in devices}
        self.offline_retry = offline_retry
        self._plans: dict[Tier, dict[str, list[ReadBlock]]] = {tier: {} for tier in Tier}
        # A declared max_frame shortens the reads (none: the protocol's limits, as always).
        limits = frame_limits(client.gateway)
        for device in self.devices.values():
            for tier in Tier:
                tier_points = [p for p in device.points if p.tier is tier]
                if tier_points:
                    self._plans[tier][device.id] = plan_blocks(tier_points, max_gap=max_gap, **limits)
        self._state = {device_id: _DeviceState() for device_id in self.devices}

    def tiers(self) -> set[Tier]:
        """Tiers with at least one point on this gateway."""
        return {tier for tier, plan in self._plans.items() if plan}

    def plan(self, tier: Tier) -> dict[str, list[ReadBlock]]:
        """Device id -> the read blocks of one tier."""
        return self._plans[tier]

    def request_count(self, tier: Tier) -> int:
        """Requests one full cycle of ``tier`` issues while every device answers."""
        return sum(len(blocks) for blocks in self._plans[tier].values())

    def is_online(self, device_id: str) -> bool:
        """Whether the device answered its last request."""
        return self._state[device_id].online

    async def async_poll(self, tier: Tier) -> dict[str, DeviceReading]:
        """Read every device of the tier; unanswering units are skipped until their retry time.

        Raises :class:`GatewayOfflineError` when the gateway itself cannot be reached, or when every unit
        tried in this cycle timed out (a dead serial bus behind a live TCP gateway looks like that).
        """
        readings: dict[str, DeviceReading] = {}
        priority = PRIORITY[tier]
        retry = min(self.offline_retry, SAFETY_OFFLINE_RETRY) if tier is Tier.SAFETY else self.offline_retry
        tried = timed_out = 0
        now = time.monotonic()
        for device_id, blocks in self._plans[tier].items():
            state = self._state[device_id]
            if not state.online and now < state.failed_at + retry:
                readings[device_id] = DeviceReading(
                    False, error=state.error, offline_since=state.offline_since, fault=state.fault
                )
                continue
            tried += 1
            reading = await self._async_poll_device(self.devices[device_id], blocks, priority)
            if reading.fault is DeviceFault.NO_ANSWER:
                timed_out += 1
            readings[device_id] = reading
        if tried >= 2 and timed_out == tried:
            self.client.disconnect()
            raise GatewayOfflineError(f"gateway {self.client.gateway.id}: no unit answered")
        return readings

    async def _async_poll_device(
        self, device: Device, blocks: Sequence[ReadBlock], priority: int
    ) -> DeviceReading:
        """Read one device's blocks of a tier and record whether it answered.

        One device's failure, whatever it is, is that device's: the others of the tier are still read and the
        hooks (the linkage) still run. Only a dead gateway and a cancellation end the poll.
        """
        try:
            values = await self._async_read_blocks(device, blocks, priority)
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
        self, device: Device, blocks: Sequence[ReadBlock], priority: int
    ) -> dict[str, Any]:
        """The device's point values; a reply that does not decode is the device's InvalidReplyError."""
        values: dict[str, Any] = {}
        for block in blocks:
            data = await self.client.async_read(
                device.unit, block.table, block.address, block.count, priority=priority
            )
            for point in block.points:
                try:
                    values[point.key] = decode_point(point, block, data)
                except (ValueError, KeyError, struct.error) as err:
                    raise InvalidReplyError(device.unit, f"{point.key}: {err}") from err
        return values

    def _mark_offline(self, device: Device, error: str, fault: DeviceFault) -> DeviceReading:
        state = self._state[device.id]
        state.failed_at = time.monotonic()
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
        state.fault = None

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


async def async_close_all(clients: Iterable[GatewayClient]) -> None:
    """Close several clients, ignoring those already closed."""
    for client in clients:
        with suppress(Exception):
            await client.async_close()
