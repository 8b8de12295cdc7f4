"""A Modbus TCP server that answers each request with its own transaction id, in arrival order.

pymodbus 3.13's request handler reads ``last_pdu`` again after the datastore answered, not only when its
request arrived: while one request is still being answered (an emulated serial line, a held reply), a second
request on the same connection overwrites it, and the first answer goes out with the second request's
transaction id. A client that asks again after a timeout then takes the old answer for the new request. A
serial server handles a connection's requests one after another, each answered as itself; so does
:class:`OrderedModbusTcpServer` (the same answers as pymodbus's handler otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException, NoSuchIdException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.transaction import TransactionManager


class _OrderedRequestHandler(ServerRequestHandler):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)  # type: ignore[no-untyped-call]
        self._previous: asyncio.Task[None] | None = None

    def callback_data(self, data: bytes, addr: tuple[str, int] | None = None) -> int:
        try:
            used_len: int = TransactionManager.callback_data(self, data, addr)
        except ModbusIOException:
            self.pdu_send(ExceptionResponse(40, exception_code=ExcCodes.ILLEGAL_FUNCTION), addr=None)
            return len(data)
        if self.last_pdu:
            self._previous = self.loop.create_task(
                self._answer(self._previous, self.last_pdu, self.last_addr)
            )
        return used_len

    async def _answer(self, previous: asyncio.Task[None] | None, pdu: ModbusPDU, addr: Any) -> None:
        if previous is not None:
            with contextlib.suppress(BaseException):
                await previous
        try:
            response: ModbusPDU = await pdu.datastore_update(self.server.context, pdu.dev_id)
        except NoSuchIdException:
            return  # ignore_missing_devices: a silent unit sends nothing
        except Exception:  # the datastore failed: what pymodbus answers too
            response = ExceptionResponse(pdu.function_code, ExcCodes.DEVICE_FAILURE)
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.pdu_send(response, addr=addr)


class OrderedModbusTcpServer(ModbusTcpServer):
    """:class:`pymodbus.server.ModbusTcpServer` answering a connection's requests in order, each as itself."""

    def callback_new_connection(self) -> _OrderedRequestHandler:
        return _OrderedRequestHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)
