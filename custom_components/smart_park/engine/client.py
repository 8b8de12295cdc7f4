"""Modbus gateway client: one connection per gateway, request priorities, reconnect backoff, reply checks.

Every request goes through :class:`GatewayClient`, which checks each reply (function code, exception reply,
count, write echo) before a value is decoded, and raises the engine's errors defined here. The poller
(:mod:`.modbus`) decides what to read and when. A gateway that declares its transport has a bus model
(:mod:`.bus`) fed with each answered request's duration, send to valid reply (timeouts and errors say
nothing about the line).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from .bus import BusModel, Request
from .catalogue import Table, Tier
from .profile import Gateway

# The engine logs under one name, engine.modbus, whichever of its modules a line comes from.
_LOGGER = logging.getLogger(__name__.rpartition(".")[0] + ".modbus")


class _NoResponseFilter(logging.Filter):
    """pymodbus logs every unanswered request at error level; the poller logs a unit's outage once instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No response received" not in record.getMessage()


logging.getLogger("pymodbus.logging").addFilter(_NoResponseFilter())

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


def _raise_if_cancelled(err: BaseException) -> None:
    """Re-raise a cancellation that a library turned into an ordinary error.

    pymodbus 3.13 turns a request's ``CancelledError`` into ``ModbusIOException("Request cancelled outside
    library.")``. Mapped to "did not answer", it would swallow the cancellation: a poll loop being stopped
    would poll on and unload would wait for it forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from err


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
        # Only a declared transport gets a model: an undeclared gateway behaves exactly as before.
        self.bus: BusModel | None = BusModel.of(gateway) if gateway.transport is not None else None

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

    def _measured(self, request: Request, seconds: float) -> None:
        """Feed a valid reply's duration to the bus model, if the gateway has one."""
        if self.bus is not None:
            self.bus.record(request, seconds)

    async def _execute(
        self, priority: int, unit: int, function_code: int, call: Any, *args: Any, **kwargs: Any
    ) -> tuple[Any, float]:
        """The checked reply and its duration in seconds: send to reply, queueing and connecting excluded."""
        async with self._lock.hold(priority):
            await self.async_connect()
            self.requests += 1
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(call(*args, device_id=unit, **kwargs), self.timeout * 2)
                elapsed = time.monotonic() - started
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
        return response, elapsed

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
        response, elapsed = await self._execute(priority, unit, function_code, call, address, count=count)
        if table.is_bit:
            # Bits come packed eight to a byte: the byte count must be exactly ceil(count / 8).
            got = len(response.bits)
            if not count <= got < count + 8:
                raise InvalidReplyError(unit, f"{got // 8} bytes of bits, asked {count} bits at {address}")
            bits: list[bool] = [bool(b) for b in response.bits[:count]]
            self._measured(Request(function_code, count), elapsed)
            return bits
        registers: list[int] = list(response.registers)
        if len(registers) != count:
            raise InvalidReplyError(unit, f"{len(registers)} registers, asked {count} at {address}")
        self._measured(Request(function_code, count), elapsed)
        return registers

    async def async_write_coils(
        self, unit: int, address: int, values: Sequence[bool], *, verify: bool = True
    ) -> None:
        """Write coils; with ``verify``, read them back and raise :class:`WriteVerifyError` on a mismatch."""
        response, elapsed = await self._execute(
            PRIORITY["write"], unit, 15, self._client.write_coils, address, list(values)
        )
        _check_write_echo(unit, response, address, len(values))
        self._measured(Request(15, len(values)), elapsed)
        if verify:
            got = await self.async_read(unit, Table.COIL, address, len(values), priority=PRIORITY["write"])
            if [bool(v) for v in got] != [bool(v) for v in values]:
                raise WriteVerifyError(f"unit {unit} coils {address}: wrote {list(values)}, read back {got}")

    async def async_write_registers(
        self, unit: int, address: int, values: Sequence[int], *, verify: bool = True
    ) -> None:
        """Write holding registers; with ``verify``, read them back."""
        response, elapsed = await self._execute(
            PRIORITY["write"], unit, 16, self._client.write_registers, address, list(values)
        )
        _check_write_echo(unit, response, address, len(values))
        self._measured(Request(16, len(values)), elapsed)
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
