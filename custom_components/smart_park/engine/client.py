"""Modbus gateway client: one connection per gateway, request priorities, reconnect backoff, reply checks.

Every request goes through :class:`GatewayClient`, which checks each reply (function code, exception reply,
count, write echo) before a value is decoded, and raises the engine's errors defined here. The poller
(:mod:`.modbus`) decides what to read and when. A gateway that declares its transport has a bus model
(:mod:`.bus`) fed with each answered request's duration, send to valid reply (timeouts and errors say
nothing about the line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from .bus import BusModel, Request
from .catalogue import Table, Tier
from .profile import Gateway
from .schedule import BusScheduler, Lane

# The engine logs under one name, engine.modbus, whichever of its modules a line comes from.
_LOGGER = logging.getLogger(__name__.rpartition(".")[0] + ".modbus")


class _NoResponseFilter(logging.Filter):
    """pymodbus logs every unanswered request at error level; the poller logs a unit's outage once instead.

    A reply that arrives after its request timed out is skipped by pymodbus (its transaction id is old), with
    an error line per reply: the poller already counted that request as unanswered.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "No response received" not in message and "Skipping" not in message


logging.getLogger("pymodbus.logging").addFilter(_NoResponseFilter())

# The scheduler's lane of each request: safety inputs, then writes (bells, lamps), then the measurements.
PRIORITY: dict[Tier | str, Lane] = {
    Tier.SAFETY: Lane.SAFETY,
    "write": Lane.WRITE,
    Tier.FAST: Lane.FAST,
    Tier.NORMAL: Lane.NORMAL,
    Tier.SLOW: Lane.SLOW,
}
RECONNECT_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Modbus gateway exceptions (0x0A path unavailable, 0x0B target failed to respond): a serial server's way of
# saying that the unit behind it did not answer.
GATEWAY_NO_ANSWER = (10, 11)


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


class GatewayClient:
    """One pymodbus async client for one gateway, with request priorities, timeouts and reconnect backoff."""

    def __init__(self, gateway: Gateway, *, request_timeout: float | None = None) -> None:
        self.gateway = gateway
        self.timeout = request_timeout if request_timeout is not None else gateway.timeout
        # Each request's own timeout is applied around the call (see _timeout); pymodbus's must not end a
        # request first, so it gets the longest one a request can have (busy line + own timeout) and a margin.
        library_timeout = 2 * self.timeout + 1
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
                timeout=library_timeout,
                retries=0,
                reconnect_delay=0,
            )
        else:
            self._client = AsyncModbusTcpClient(
                gateway.host or "",
                port=gateway.port,
                timeout=library_timeout,
                retries=0,
                reconnect_delay=0,
            )
        # pymodbus drops the connection after a few unanswered requests; a silent unit must not do that.
        self._client.set_max_no_responses(1_000_000)
        self.scheduler = BusScheduler()
        # Function code and bound read method per table, once (not a dict of four per request).
        client = self._client
        self._reads: dict[Table, tuple[int, Any]] = {
            Table.COIL: (1, client.read_coils),
            Table.DISCRETE_INPUT: (2, client.read_discrete_inputs),
            Table.HOLDING_REGISTER: (3, client.read_holding_registers),
            Table.INPUT_REGISTER: (4, client.read_input_registers),
        }
        self._failures = 0
        self._next_attempt = 0.0
        self.requests = 0
        # Only a declared transport gets a model: an undeclared gateway keeps its fixed timeout.
        self.bus: BusModel | None = BusModel.of(gateway) if gateway.transport is not None else None
        # After an unanswered request on a serial line, the serial server may still be waiting for that unit
        # (up to its own response timeout, the profile's ``timeout``): the line is busy until then.
        self._line_busy_until = 0.0

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

    def _timeout(self, request: Request) -> float:
        """This request's reply timeout: sized from the bus model once measured, plus a busy line's rest."""
        timeout = self.bus.timeout(request, self.timeout) if self.bus is not None else self.timeout
        return timeout + max(0.0, self._line_busy_until - time.monotonic())

    async def _execute(
        self,
        priority: int,
        deadline: float,
        request: Request,
        call: Any,
        *args: Any,
        unit: int,
        **kwargs: Any,
    ) -> tuple[Any, float]:
        """The checked reply and its duration in seconds: send to reply, queueing and connecting excluded."""
        cost = self.bus.estimate(request) if self.bus is not None else 0.0
        async with self.scheduler.slot(Lane(priority), deadline=deadline, cost=cost):
            await self.async_connect()
            self.requests += 1
            timeout = self._timeout(request)
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(call(*args, device_id=unit, **kwargs), timeout)
                elapsed = time.monotonic() - started
            except ConnectionException as err:
                _raise_if_cancelled(err)
                self._client.close()
                raise GatewayOfflineError(f"gateway {self.gateway.id}: {err}") from err
            except (TimeoutError, ModbusException) as err:
                _raise_if_cancelled(err)
                if not self.connected:
                    raise GatewayOfflineError(f"gateway {self.gateway.id}: connection lost") from err
                if self.gateway.serial:
                    self._line_busy_until = max(self._line_busy_until, started + self.timeout)
                raise DeviceNotRespondingError(f"unit {unit} on {self.gateway.id} did not answer") from err
        function_code = request.function
        if response is None:
            raise InvalidReplyError(unit, "no reply object")
        if response.isError():
            if response.function_code != function_code | 0x80:
                raise InvalidReplyError(unit, f"exception reply to function {response.function_code & 0x7F}")
            code = int(getattr(response, "exception_code", 0))
            if code in GATEWAY_NO_ANSWER:
                raise DeviceNotRespondingError(f"unit {unit} on {self.gateway.id} did not answer ({code})")
            raise DeviceExceptionError(unit, code)
        if response.function_code != function_code:
            raise InvalidReplyError(unit, f"function code {response.function_code}, asked {function_code}")
        return response, elapsed

    async def async_read(
        self,
        unit: int,
        table: Table,
        address: int,
        count: int,
        *,
        priority: int = PRIORITY[Tier.NORMAL],
        deadline: float = 0.0,
    ) -> list[int] | list[bool]:
        """Read ``count`` registers or bits of one table.

        ``deadline`` (monotonic seconds) orders measurement requests on the line, earliest first.
        """
        function_code, call = self._reads[table]
        request = Request(function_code, count)
        response, elapsed = await self._execute(
            priority, deadline, request, call, address, unit=unit, count=count
        )
        if table.is_bit:
            # Bits come packed eight to a byte: the byte count must be exactly ceil(count / 8).
            got = len(response.bits)
            if not count <= got < count + 8:
                raise InvalidReplyError(unit, f"{got // 8} bytes of bits, asked {count} bits at {address}")
            bits: list[bool] = [bool(b) for b in response.bits[:count]]
            self._measured(request, elapsed)
            return bits
        registers: list[int] = list(response.registers)
        if len(registers) != count:
            raise InvalidReplyError(unit, f"{len(registers)} registers, asked {count} at {address}")
        self._measured(request, elapsed)
        return registers

    async def async_write_coils(
        self, unit: int, address: int, values: Sequence[bool], *, verify: bool = True
    ) -> None:
        """Write coils; with ``verify``, read them back and raise :class:`WriteVerifyError` on a mismatch."""
        request = Request(15, len(values))
        response, elapsed = await self._execute(
            PRIORITY["write"], 0.0, request, self._client.write_coils, address, list(values), unit=unit
        )
        _check_write_echo(unit, response, address, len(values))
        self._measured(request, elapsed)
        if verify:
            got = await self.async_read(unit, Table.COIL, address, len(values), priority=PRIORITY["write"])
            if [bool(v) for v in got] != [bool(v) for v in values]:
                raise WriteVerifyError(f"unit {unit} coils {address}: wrote {list(values)}, read back {got}")

    async def async_write_registers(
        self, unit: int, address: int, values: Sequence[int], *, verify: bool = True
    ) -> None:
        """Write holding registers; with ``verify``, read them back."""
        request = Request(16, len(values))
        response, elapsed = await self._execute(
            PRIORITY["write"], 0.0, request, self._client.write_registers, address, list(values), unit=unit
        )
        _check_write_echo(unit, response, address, len(values))
        self._measured(request, elapsed)
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
