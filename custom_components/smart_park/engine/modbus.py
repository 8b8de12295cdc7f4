"""Modbus engine: read planning, one client per gateway, tiered polling and verified writes.

Nothing here imports Home Assistant: the coordinators, the linkage and the benchmarks drive it, and it is
tested against the park simulator over real TCP.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import struct
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from .catalogue import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, Point, Table, Tier
from .codec import DataType, decode_registers, encode_registers, scale_value, unscale_value
from .profile import Device, Gateway

_LOGGER = logging.getLogger(__name__)


class _NoResponseFilter(logging.Filter):
    """pymodbus logs every unanswered request at error level; the poller logs a unit's outage once instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No response received" not in record.getMessage()


logging.getLogger("pymodbus.logging").addFilter(_NoResponseFilter())

DEFAULT_MAX_GAP = 8
DEFAULT_OFFLINE_RETRY = 30.0
# The safety tier asks an unanswering unit again after at most this: one missed answer under load must not
# leave a building's call points unread for the whole offline retry.
SAFETY_OFFLINE_RETRY = 1.0
# Bits are packed eight to a byte, so a gap of N registers costs as much as 16*N bits on the wire.
BITS_PER_REGISTER = 16
# Safety inputs and writes (bells, lamps) go ahead of measurements queued on the same gateway.
PRIORITY = {"write": 0, Tier.SAFETY: 1, Tier.FAST: 2, Tier.NORMAL: 3, Tier.SLOW: 4}
RECONNECT_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ModbusError(Exception):
    """Base of the engine's errors."""


class GatewayOfflineError(ModbusError):
    """The gateway cannot be reached (refused, dropped, or no unit answers)."""


class DeviceNotRespondingError(ModbusError):
    """One unit did not answer within the request timeout."""


class DeviceExceptionError(ModbusError):
    """The unit answered with a Modbus exception (illegal address, device failure, ...)."""

    def __init__(self, unit: int, exception_code: int) -> None:
        super().__init__(f"unit {unit} answered with Modbus exception {exception_code}")
        self.exception_code = exception_code


class InvalidReplyError(ModbusError):
    """The unit answered, but not with what was asked: wrong function code, address, count or length."""

    def __init__(self, unit: int, problem: str) -> None:
        super().__init__(f"unit {unit} sent an invalid reply: {problem}")


class WriteVerifyError(ModbusError):
    """A write was acknowledged but reading it back gave other values."""


class DeviceFault(StrEnum):
    """Why a device's last poll failed; the linkage reports a controller's fault by this."""

    NO_ANSWER = "offline"
    EXCEPTION = "exception_reply"
    INVALID_REPLY = "invalid_reply"


def _raise_if_cancelled(err: BaseException) -> None:
    """Re-raise a cancellation that a library turned into an ordinary error.

    pymodbus 3.13 turns a request's ``CancelledError`` into ``ModbusIOException("Request cancelled outside
    library.")``. Mapped to "did not answer", it would swallow the cancellation: a poll loop being stopped
    would poll on and unload would wait for it forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from err


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: a contiguous address range of one table and the points decoded from it."""

    table: Table
    address: int
    count: int
    points: tuple[Point, ...]


def plan_blocks(
    points: Iterable[Point],
    *,
    max_gap: int = DEFAULT_MAX_GAP,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_bits: int = MAX_BITS_PER_READ,
) -> list[ReadBlock]:
    """Coalesce points into the fewest read requests.

    Points of one table are merged while the unread gap between them is at most ``max_gap`` registers
    (``16 * max_gap`` bits) and the block stays within the protocol limit. Sorted greedy merging is optimal
    here: any split it makes is forced by a gap or by the size limit.
    """
    by_table: dict[Table, list[Point]] = {}
    for point in points:
        by_table.setdefault(point.table, []).append(point)
    blocks: list[ReadBlock] = []
    for table in Table:
        table_points = sorted(by_table.get(table, []), key=lambda p: (p.address, p.count))
        limit = max_bits if table.is_bit else max_registers
        gap = max_gap * BITS_PER_REGISTER if table.is_bit else max_gap
        current: list[Point] = []
        start = end = 0
        for point in table_points:
            if current and point.address - end <= gap and max(end, point.end) - start <= limit:
                current.append(point)
                end = max(end, point.end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [point], point.address, point.end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


def decode_point(point: Point, block: ReadBlock, data: Sequence[int] | Sequence[bool]) -> Any:
    """Engineering value of ``point`` from the data a block read returned.

    Raises :class:`ValueError` when ``data`` does not cover the point (the read path checks replies first;
    this keeps a short list from ever turning into an ``IndexError`` or a value read from the wrong place).
    """
    offset = point.address - block.address
    if offset < 0 or offset + point.count > len(data):
        raise ValueError(f"{point.key}: {len(data)} values do not cover offset {offset} + {point.count}")
    if point.data_type is DataType.BOOL:
        return bool(data[offset])
    raw = decode_registers(
        [int(w) for w in data[offset : offset + point.count]], point.data_type, point.word_order
    )
    if point.options:
        return point.options.get(int(raw))
    return scale_value(raw, point.scale, point.offset, point.precision)


def encode_point(point: Point, value: Any) -> list[int] | list[bool]:
    """Wire words (or bits) for writing ``value`` to ``point``."""
    if point.data_type is DataType.BOOL:
        return [bool(value)]
    if point.options and isinstance(value, str):
        by_name = {name: raw for raw, name in point.options.items()}
        if value not in by_name:
            raise ValueError(f"{point.key}: {value!r} is not one of {sorted(by_name)}")
        value = by_name[value]
    return encode_registers(
        unscale_value(float(value), point.scale, point.offset), point.data_type, point.word_order
    )


class _PriorityLock:
    """A lock whose waiters are served by priority, then arrival: a gateway carries one request at a time."""

    def __init__(self) -> None:
        self._locked = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @asynccontextmanager
    async def hold(self, priority: int) -> AsyncIterator[None]:
        if self._locked:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (priority, next(self._seq), future))
            try:
                await future
            except asyncio.CancelledError:
                # Granted just as we were cancelled: pass the lock on instead of leaking it.
                if future.done() and not future.cancelled():
                    self._release()
                raise
        else:
            self._locked = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # ownership passes straight to the waiter
                return
        self._locked = False


class GatewayClient:
    """One pymodbus async client for one gateway, with request priorities, timeouts and reconnect backoff."""

    def __init__(self, gateway: Gateway, *, request_timeout: float | None = None) -> None:
        self.gateway = gateway
        self.timeout = request_timeout if request_timeout is not None else gateway.timeout
        # retries=0 and reconnect_delay=0: the poller decides when to retry a unit and when to reconnect.
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if gateway.protocol == "rtu":
            self._client = AsyncModbusSerialClient(
                gateway.serial_port or "",
                framer=FramerType.RTU,
                baudrate=gateway.baudrate,
                parity=gateway.parity,
                stopbits=gateway.stopbits,
                bytesize=gateway.bytesize,
                timeout=self.timeout,
                retries=0,
                reconnect_delay=0,
            )
        else:
            self._client = AsyncModbusTcpClient(
                gateway.host or "", port=gateway.port, timeout=self.timeout, retries=0, reconnect_delay=0
            )
        # pymodbus drops the connection after a few unanswered requests; a silent unit must not do that.
        self._client.set_max_no_responses(1_000_000)
        self._lock = _PriorityLock()
        self._failures = 0
        self._next_attempt = 0.0
        self.requests = 0

    @property
    def connected(self) -> bool:
        """Whether the transport is up."""
        return bool(self._client.connected)

    async def async_connect(self) -> None:
        """Connect, or raise :class:`GatewayOfflineError`; repeated failures back off before trying again."""
        if self.connected:
            return
        now = time.monotonic()
        if now < self._next_attempt:
            raise GatewayOfflineError(
                f"gateway {self.gateway.id}: waiting {self._next_attempt - now:.1f} s to retry"
            )
        try:
            ok = await asyncio.wait_for(self._client.connect(), self.timeout + 1)
        except (TimeoutError, OSError, ModbusException) as err:
            _raise_if_cancelled(err)
            ok = False
            _LOGGER.debug("Connecting to gateway %s failed: %s", self.gateway.id, err)
        if not ok:
            delay = RECONNECT_BACKOFF[min(self._failures, len(RECONNECT_BACKOFF) - 1)]
            self._failures += 1
            self._next_attempt = time.monotonic() + delay
            raise GatewayOfflineError(f"gateway {self.gateway.id} ({self._where()}) cannot be reached")
        self._failures = 0
        self._next_attempt = 0.0

    async def async_close(self) -> None:
        """Close the connection."""
        self._client.close()

    def disconnect(self) -> None:
        """Drop the transport so the next request reconnects (used when no unit answers at all)."""
        self._client.close()

    def _where(self) -> str:
        if self.gateway.protocol == "rtu":
            return self.gateway.serial_port or "?"
        return f"{self.gateway.host}:{self.gateway.port}"

    async def _execute(
        self, priority: int, unit: int, function_code: int, call: Any, *args: Any, **kwargs: Any
    ) -> Any:
        async with self._lock.hold(priority):
            await self.async_connect()
            self.requests += 1
            try:
                response = await asyncio.wait_for(call(*args, device_id=unit, **kwargs), self.timeout * 2)
            except ConnectionException as err:
                _raise_if_cancelled(err)
                self._client.close()
                raise GatewayOfflineError(f"gateway {self.gateway.id}: {err}") from err
            except (TimeoutError, ModbusException) as err:
                _raise_if_cancelled(err)
                if not self.connected:
                    raise GatewayOfflineError(f"gateway {self.gateway.id}: connection lost") from err
                raise DeviceNotRespondingError(f"unit {unit} on {self.gateway.id} did not answer") from err
        if response is None:
            raise InvalidReplyError(unit, "no reply object")
        if response.isError():
            if response.function_code != function_code | 0x80:
                raise InvalidReplyError(unit, f"exception reply to function {response.function_code & 0x7F}")
            raise DeviceExceptionError(unit, int(getattr(response, "exception_code", 0)))
        if response.function_code != function_code:
            raise InvalidReplyError(unit, f"function code {response.function_code}, asked {function_code}")
        return response

    async def async_read(
        self, unit: int, table: Table, address: int, count: int, *, priority: int = PRIORITY[Tier.NORMAL]
    ) -> list[int] | list[bool]:
        """Read ``count`` registers or bits of one table."""
        client = self._client
        function_code, call = {
            Table.COIL: (1, client.read_coils),
            Table.DISCRETE_INPUT: (2, client.read_discrete_inputs),
            Table.HOLDING_REGISTER: (3, client.read_holding_registers),
            Table.INPUT_REGISTER: (4, client.read_input_registers),
        }[table]
        response = await self._execute(priority, unit, function_code, call, address, count=count)
        if table.is_bit:
            # Bits come packed eight to a byte: the byte count must be exactly ceil(count / 8).
            got = len(response.bits)
            if not count <= got < count + 8:
                raise InvalidReplyError(unit, f"{got // 8} bytes of bits, asked {count} bits at {address}")
            bits: list[bool] = [bool(b) for b in response.bits[:count]]
            return bits
        registers: list[int] = list(response.registers)
        if len(registers) != count:
            raise InvalidReplyError(unit, f"{len(registers)} registers, asked {count} at {address}")
        return registers

    async def async_write_coils(
        self, unit: int, address: int, values: Sequence[bool], *, verify: bool = True
    ) -> None:
        """Write coils; with ``verify``, read them back and raise :class:`WriteVerifyError` on a mismatch."""
        response = await self._execute(
            PRIORITY["write"], unit, 15, self._client.write_coils, address, list(values)
        )
        _check_write_echo(unit, response, address, len(values))
        if verify:
            got = await self.async_read(unit, Table.COIL, address, len(values), priority=PRIORITY["write"])
            if [bool(v) for v in got] != [bool(v) for v in values]:
                raise WriteVerifyError(f"unit {unit} coils {address}: wrote {list(values)}, read back {got}")

    async def async_write_registers(
        self, unit: int, address: int, values: Sequence[int], *, verify: bool = True
    ) -> None:
        """Write holding registers; with ``verify``, read them back."""
        response = await self._execute(
            PRIORITY["write"], unit, 16, self._client.write_registers, address, list(values)
        )
        _check_write_echo(unit, response, address, len(values))
        if verify:
            got = await self.async_read(
                unit, Table.HOLDING_REGISTER, address, len(values), priority=PRIORITY["write"]
            )
            if list(got) != list(values):
                raise WriteVerifyError(
                    f"unit {unit} registers {address}: wrote {list(values)}, read back {got}"
                )


def _check_write_echo(unit: int, response: Any, address: int, count: int) -> None:
    """A write reply echoes the address and quantity written; anything else is not our acknowledgement."""
    if (response.address, response.count) != (address, count):
        raise InvalidReplyError(
            unit, f"write acknowledged {response.count} at {response.address}, sent {count} at {address}"
        )


async def async_test_connection(host: str, port: int, timeout: float = 3.0) -> None:
    """Check that a Modbus TCP gateway accepts connections (the config flow's test)."""
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)
    try:
        ok = await asyncio.wait_for(client.connect(), timeout + 1)
    except (TimeoutError, OSError, ModbusException) as err:
        raise GatewayOfflineError(f"{host}:{port}: {err}") from err
    finally:
        client.close()
    if not ok:
        raise GatewayOfflineError(f"{host}:{port} refused the connection")


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
        for device in self.devices.values():
            for tier in Tier:
                tier_points = [p for p in device.points if p.tier is tier]
                if tier_points:
                    self._plans[tier][device.id] = plan_blocks(tier_points, max_gap=max_gap)
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
