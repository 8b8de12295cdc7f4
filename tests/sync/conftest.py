"""Shared fixtures: a real reference central on 127.0.0.1, add-on options pointing at it, and HA's API."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.components.config import entity_registry as entity_registry_ws
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from central.ingest import IngestSettings
from central.server import Central
from park_sync.config import Options, parse_options

TOKEN = "central-test-token-0123456789"
SECRET = "hmac-secret-for-tests-0123456789"
HJ_MN = "010000A8900016F000169DC0"
HJ_PW = "123456"


@pytest.fixture(autouse=True)
def _loopback(socket_enabled: None) -> None:
    """pytest-socket (from the HA plugin) blocks sockets; these tests need real loopback peers."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def central(tmp_path: Path) -> AsyncIterator[Central]:
    c = Central(tmp_path / "central.sqlite3", IngestSettings(TOKEN, SECRET), hj212_passwords={HJ_MN: HJ_PW})
    await c.start()
    yield c
    await c.stop()


def make_options(tmp_path: Path, central_url: str, **overrides: Any) -> Options:
    raw: dict[str, Any] = {
        "park_id": "zhifeng",
        "central_url": central_url,
        "central_token": TOKEN,
        "hmac_secret": SECRET,
        "outbox_path": str(tmp_path / "outbox.sqlite3"),
        "batch_max_records": 50,
        "batch_max_seconds": 0.05,
        "retry_initial_seconds": 0.05,
        "retry_max_seconds": 0.3,
        "status_port": 0,
    }
    raw.update(overrides)
    return parse_options(raw)


async def wait_for(
    cond: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await cond():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def ha_api(hass: HomeAssistant, hass_admin_user: Any) -> AsyncIterator[tuple[str, str]]:
    """HA's http + websocket_api on a real 127.0.0.1 port, and a long-lived access token."""
    assert await async_setup_component(hass, "http", {"http": {}})
    assert await async_setup_component(hass, "websocket_api", {})
    # Components that register HTTP views must load before the test server freezes the router (a real
    # hass lets them register later; aiohttp's TestServer does not).
    assert await async_setup_component(hass, "media_player", {})
    entity_registry_ws.async_setup(hass)  # config/entity_registry/list, as the frontend's config panel has it
    refresh = await hass.auth.async_create_refresh_token(
        hass_admin_user, client_name="park_sync", token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
    )
    token = hass.auth.async_create_access_token(refresh)
    server = TestServer(hass.http.app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}", token
    await server.close()
