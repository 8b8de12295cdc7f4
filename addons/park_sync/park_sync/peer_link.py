"""The end of a TCP session with a peer platform (HJ 212, GB/T 26875.3): written once for both uplinks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any


async def close_session(writer: asyncio.StreamWriter, waiters: Mapping[Any, asyncio.Future[Any]]) -> None:
    """Close the socket and fail every request still waiting for the peer's answer (it will never come)."""
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    for fut in waiters.values():
        if not fut.done():
            fut.set_exception(ConnectionError("link closed"))
