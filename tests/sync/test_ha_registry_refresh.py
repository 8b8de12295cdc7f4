"""park_sync follows entities registered while an entity-registry refresh is already in flight.

An ``entity_registry_updated`` event arriving during a refresh, after that refresh listed the registry,
must still be followed: the source marks the registry dirty and its refresh task loops until it is clean.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from central.server import Central
from park_sync.app import ParkSync
from park_sync.ha_source import HASource

from .conftest import make_options, wait_for


async def test_entity_registered_during_a_refresh_is_followed(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    central: Central,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, token = ha_api
    listed = asyncio.Event()
    release = asyncio.Event()
    call = HASource._call

    async def held_call(self: HASource, payload: dict[str, Any]) -> Any:
        """Hold the first mid-session registry refresh right after its list, as a busy HA would."""
        result = await call(self, payload)
        if payload["type"] == "config/entity_registry/list" and self.connected and not listed.is_set():
            listed.set()
            await release.wait()
        return result

    monkeypatch.setattr(HASource, "_call", held_call)
    app = ParkSync(make_options(tmp_path, central.url), url, token, "127.0.0.1")
    await app.start()
    try:

        async def connected() -> bool:
            return app.ha is not None and app.ha.connected

        await wait_for(connected, what="park_sync connected")
        assert app.ha is not None
        registry = er.async_get(hass)
        first = registry.async_get_or_create("sensor", "smart_park", "first").entity_id
        await asyncio.wait_for(listed.wait(), 5)
        events = app.ha.events
        second = registry.async_get_or_create("sensor", "smart_park", "second").entity_id

        async def event_seen() -> bool:
            return app.ha is not None and app.ha.events > events

        await wait_for(event_seen, what="the second registry event at park_sync")
        release.set()

        async def both_followed() -> bool:
            return app.ha is not None and {first, second} <= app.ha.entities

        await wait_for(both_followed, timeout=2, what="both entities followed")
    finally:
        release.set()
        await app.stop()
