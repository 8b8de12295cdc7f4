"""An append-only journal beside a Store: each record costs one short append, written in a worker thread.

Saving a whole Store on every change serialises all of it, and HA's JSON library holds the GIL while it does
(even in a worker thread): with a full audit log that stalls the event loop, and with it the fire-bell
linkage, for milliseconds per entry. A journal line is one record's JSON, appended in order by one writer;
the Store becomes a snapshot taken now and then (its owner decides when), after which the journal keeps only
what is newer. A crash (even ``kill -9``) loses nothing written to the journal; a line torn by a crash is the
last one, and reading skips it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.json import json_bytes

from .const import LOGGER


class Journal:
    """JSON lines appended in order; read back, or rewritten keeping what a predicate keeps."""

    def __init__(self, hass: HomeAssistant, path: Path) -> None:
        self.hass = hass
        self.path = path
        self._pending: list[bytes] = []
        self._writer: asyncio.Task[None] | None = None
        # One writer at a time: appends stay in order, and a rewrite never interleaves with them.
        self._lock = asyncio.Lock()

    @callback
    def append(self, item: dict[str, Any]) -> None:
        """Queue one record; it is written on the next loop turn (with the others queued by then)."""
        self._pending.append(json_bytes(item) + b"\n")
        if self._writer is None or self._writer.done():
            self._writer = self.hass.async_create_background_task(
                self._async_write(), f"journal {self.path.name}"
            )

    async def _async_write(self) -> None:
        async with self._lock:
            while self._pending:
                lines, self._pending = self._pending, []
                await self.hass.async_add_executor_job(self._append_lines, lines)

    def _append_lines(self, lines: list[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as file:
            file.write(b"".join(lines))

    async def async_drain(self) -> None:
        """Wait until every queued record is written."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def async_read(self) -> list[dict[str, Any]]:
        """Every record written, in order; a torn or unreadable line is skipped (and logged)."""
        return await self.hass.async_add_executor_job(self._read)

    def _read(self) -> list[dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        items = []
        for number, line in enumerate(raw.splitlines(), 1):
            try:
                item = json.loads(line)
            except ValueError:
                LOGGER.warning("Skipped unreadable line %d of %s (torn by a crash?)", number, self.path.name)
                continue
            if isinstance(item, dict):
                items.append(item)
        return items

    async def async_keep(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite the journal with only the records ``keep`` accepts (after a snapshot), atomically."""
        await self.async_drain()
        async with self._lock:
            await self.hass.async_add_executor_job(self._rewrite, keep)

    def _rewrite(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        if not self.path.exists():
            return  # nothing was ever written: nothing to keep
        kept = [json_bytes(item) + b"\n" for item in self._read() if keep(item)]
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_bytes(b"".join(kept))
        os.replace(temporary, self.path)
