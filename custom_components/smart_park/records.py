"""Records kept by id in an HA Store, saved on the next loop turn from a snapshot serialised off the loop.

Incidents and roll-calls are saved after every change (a crash loses nothing acted on). Each record's stored
form is made once, when it changes; a save hands the Store a snapshot of those forms (a list copy, cheap on
the event loop) and the Store serialises it in a worker thread. Written once here for every capability that
keeps records this way.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

STORAGE_VERSION: Final = 1


class RecordStore:
    """The stored forms of a capability's records by id, and the Store they are saved to."""

    def __init__(self, hass: HomeAssistant, key: str, list_key: str) -> None:
        self._list_key = list_key
        self._stored: dict[str, dict[str, Any]] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, key, atomic_writes=True, serialize_in_event_loop=False
        )

    async def async_load(self) -> dict[str, Any]:
        """What was saved ({} the first time); its records are under the list key."""
        return await self._store.async_load() or {}

    @callback
    def put(self, record_id: str, stored: dict[str, Any]) -> None:
        """Keep (or replace) a record's stored form; saved with the next :meth:`save`."""
        self._stored[record_id] = stored

    @callback
    def drop(self, record_id: str) -> None:
        """Forget a pruned record."""
        self._stored.pop(record_id, None)

    def _snapshot(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {**extra, self._list_key: list(self._stored.values())}

    @callback
    def save(self, **extra: Any) -> None:
        """Save on the next loop turn (``extra``: the other top-level fields, e.g. a sequence number)."""
        snapshot = self._snapshot(extra)
        self._store.async_delay_save(lambda: snapshot, 0)

    async def async_flush(self, **extra: Any) -> None:
        """Save now (on unload)."""
        await self._store.async_save(self._snapshot(extra))
