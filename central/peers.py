"""A TCP server of the reference central with tracked connections (HJ 212 stations, GB/T 26875.3 devices).

``stop()`` closes the listening socket and every peer's connection and waits for their handlers, so a test or
the demo can stop and restart a receiver without a handler outliving it. Written once for both receivers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class PeerServer:
    """Start, stop and the set of connection handlers; subclasses handle a connection and name their peers."""

    # asyncio's default stream buffer limit; a protocol with bigger frames raises it.
    stream_limit: int = 2**16

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _writers(self) -> Iterable[asyncio.StreamWriter | None]:
        """The connected peers' writers (None for a peer known but not connected)."""
        raise NotImplementedError

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0: an ephemeral port); the bound port."""
        self._server = await asyncio.start_server(self._handle, host, port, limit=self.stream_limit)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, close every peer and wait for their handlers."""
        if self._server is None:
            return
        self._server.close()
        for writer in self._writers():
            if writer is not None:
                writer.close()
        for task in list(self._conn_tasks):
            task.cancel()
        await asyncio.gather(*self._conn_tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
