"""Fixtures for talking to a park simulator over real TCP on 127.0.0.1.

``park_simulator`` and ``modbus_client`` serve every test folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from pymodbus.client import AsyncModbusTcpClient

from custom_components.smart_park.engine.profile import ParkProfile, parse_profile
from simulator.reference import reference_profile
from simulator.server import ParkSimulator


class SimulatorFactory(Protocol):
    """Starts a simulator; stopped when the test ends."""

    def __call__(
        self,
        profile: ParkProfile | Mapping[str, Any] | None = None,
        *,
        enterprises: int | None = None,
        **kwargs: Any,
    ) -> Awaitable[ParkSimulator]: ...


@pytest.fixture
def hass_config_dir(tmp_path: Path) -> str:
    """HA's config folder, new per test and as HA makes it (with ``.storage``): the ``hass`` fixture reads it.

    The integration writes there (blueprints, the audit journal); the plugin's default is one folder inside
    its package, shared by every test and run, which such files would pollute for all of them.
    """
    (tmp_path / ".storage").mkdir()
    return str(tmp_path)


@pytest.fixture
async def park_simulator(socket_enabled: None) -> AsyncIterator[SimulatorFactory]:
    """Factory: ``await park_simulator(profile_or_dict)`` or ``await park_simulator(enterprises=N)``.

    Defaults suited to tests: every gateway on an ephemeral port, ``dynamics=False`` (values stay at their
    catalogue base), no zeroconf. Any ParkSimulator keyword overrides them.
    """
    started: list[ParkSimulator] = []

    async def factory(
        profile: ParkProfile | Mapping[str, Any] | None = None,
        *,
        enterprises: int | None = None,
        **kwargs: Any,
    ) -> ParkSimulator:
        if profile is None:
            profile = reference_profile(enterprises if enterprises is not None else 5)
        if not isinstance(profile, ParkProfile):
            profile = parse_profile(dict(profile))
        kwargs.setdefault("port_override", dict.fromkeys(profile.gateways, 0))
        kwargs.setdefault("dynamics", False)
        sim = ParkSimulator(profile, **kwargs)
        await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()


ClientFactory = Callable[..., Awaitable[AsyncModbusTcpClient]]


@pytest.fixture
async def modbus_client(socket_enabled: None) -> AsyncIterator[ClientFactory]:
    """Factory: ``await modbus_client(port, timeout=0.5)`` -> a connected pymodbus client, closed after."""
    clients: list[AsyncModbusTcpClient] = []

    async def factory(port: int, *, timeout: float = 0.5, **kwargs: Any) -> AsyncModbusTcpClient:
        kwargs.setdefault("retries", 0)
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=timeout, **kwargs)
        clients.append(client)
        assert await client.connect(), f"cannot connect to 127.0.0.1:{port}"
        return client

    yield factory
    for client in clients:
        client.close()
