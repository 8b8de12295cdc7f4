"""Fixtures: Home Assistant with the smart_park integration against the park simulator over real TCP."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_park.const import (
    CONF_INTERVAL,
    CONF_OFFLINE_RETRY,
    CONF_OFFLINE_THRESHOLD,
    CONF_PROFILE,
    DOMAIN,
)
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.engine.profile import parse_profile
from simulator.server import ParkSimulator
from tests.conftest import SimulatorFactory
from tests.integration import phones
from tests.integration.phones import PhoneFactory

PARK_ID = "test_park"
PARK_NAME = "测试小微园"

# One device of every built-in type, on one gateway (unit = position + 1).
DEVICE_TYPES = [
    "fire_water_tank",
    "energy_meter",
    "water_meter",
    "gas_detector",
    "smoke_detector",
    "electrical_safety",
    "air_quality_station",
    "fire_bell_controller",
    "one_key_alarm",
    "broadcast_controller",
    "io_module",
]


def park_document(port: int = 5020) -> dict[str, Any]:
    """A small park; the enterprise carries personal data that diagnostics must redact."""
    return {
        "park": {"id": PARK_ID, "name": PARK_NAME},
        # A short timeout keeps tests of a silent unit fast.
        "gateways": [{"id": "gw1", "name": "Gateway 1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6}],
        "enterprises": [
            {
                "id": "e001",
                "name": "恒达机械有限公司",
                "building": "b1",
                "floor": 2,
                "uscc": "91330100MA2AXXXX07",
                "contact_name": "张三",
                "contact_phone": "13800000000",
            }
        ],
        "devices": [
            {
                "id": t,
                "type": t,
                "unit": i + 1,
                "building": "b1",
                "floor": 1,
                "name": t.replace("_", " ").title(),
            }
            for i, t in enumerate(DEVICE_TYPES)
        ],
    }


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through HA's serializer (ids and timestamps masked), which syrupy's own fixture shadows."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/smart_park."""


def is_deprecation_report(record: logging.LogRecord) -> bool:
    """A log line that reports a deprecated use: HA's ``report_usage`` and deprecation helpers.

    HA names the integration it finds on the call stack; when core code calls into ours (an entity's
    attribute read by the sensor platform) the report names the core platform, so every report counts here,
    not only those naming smart_park.
    """
    message = record.getMessage()
    return record.levelno >= logging.WARNING and (
        "deprecated" in message.lower()
        or message.startswith("Detected that ")
        or "will stop working in Home Assistant" in message
    )


@pytest.fixture(autouse=True)
def fail_on_deprecation(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A test fails when anything logs a deprecation (HA reports those for custom integrations)."""
    yield
    offending = [
        record.getMessage()
        for when in ("setup", "call")
        for record in caplog.get_records(when)
        if is_deprecation_report(record)
    ]
    assert not offending, offending


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[ParkSimulator]:
    """The park simulator on an ephemeral port, with fixed values (dynamics off)."""
    sim = ParkSimulator(parse_profile(park_document()), port_override={"gw1": 0}, dynamics=False)
    await sim.start()
    yield sim
    await sim.stop()


def entry_options(**overrides: Any) -> dict[str, Any]:
    """Options with polls on demand (long intervals) and fast offline handling."""
    options: dict[str, Any] = {CONF_INTERVAL[tier]: 3600.0 for tier in Tier}
    options[CONF_OFFLINE_THRESHOLD] = 300.0
    options[CONF_OFFLINE_RETRY] = 0.0
    options.update(overrides)
    return options


@pytest.fixture
def options() -> dict[str, Any]:
    """Entry options (override in a test module to change them)."""
    return entry_options()


@pytest.fixture
def config_entry(simulator: ParkSimulator, options: dict[str, Any]) -> MockConfigEntry:
    """A park entry pointing at the simulator."""
    document = copy.deepcopy(park_document(simulator.ports["gw1"]))
    return MockConfigEntry(
        domain=DOMAIN,
        title=PARK_NAME,
        unique_id=PARK_ID,
        data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.ports["gw1"], CONF_PROFILE: document},
        options=options,
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncIterator[SmartParkConfigEntry]:
    """Set up the park; unload it (closing its connections) after the test."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry  # type: ignore[misc]
    if config_entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


ParkFactory = Callable[..., Awaitable[tuple[SmartParkConfigEntry, ParkSimulator]]]


@pytest.fixture
async def park_factory(hass: HomeAssistant, park_simulator: SimulatorFactory) -> AsyncIterator[ParkFactory]:
    """Start a park: ``await park_factory(document, *, options=None, platforms=None, unique_id=None, ...)``.

    Starts the simulator of ``document`` (a profile dict) on ephemeral ports over real TCP, builds the
    MockConfigEntry (CONF_HOST/PORT/PROFILE with the bound ports, title and unique id from the park), adds
    it and sets it up (only ``platforms`` when given), and returns ``(entry, simulator)``. At teardown every
    entry still loaded is unloaded, then tests/conftest.py's ``park_simulator`` stops the simulators.

    - ``options``: the entry options; None means :func:`entry_options` (polls on demand), ``{}`` the defaults.
    - ``setup=False``: the entry is added but not set up (a test that seeds storage or stops a gateway first).
    - ``title``/``unique_id``: default to the park's name and id.
    - any other keyword goes to :class:`ParkSimulator` (``http_audio``, ``broadcast_seconds``, ...).
    """
    entries: list[MockConfigEntry] = []
    patchers: list[Any] = []

    async def factory(
        document: dict[str, Any],
        *,
        options: dict[str, Any] | None = None,
        platforms: list[Platform] | None = None,
        unique_id: str | None = None,
        title: str | None = None,
        setup: bool = True,
        **simulator_options: Any,
    ) -> tuple[SmartParkConfigEntry, ParkSimulator]:
        document = copy.deepcopy(document)
        sim = await park_simulator(document, **simulator_options)
        for gateway in document["gateways"]:
            gateway["port"] = sim.ports[gateway["id"]]
        first = document["gateways"][0]["id"]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=title if title is not None else document["park"].get("name", document["park"]["id"]),
            unique_id=unique_id if unique_id is not None else document["park"]["id"],
            data={CONF_HOST: "127.0.0.1", CONF_PORT: sim.ports[first], CONF_PROFILE: document},
            options=entry_options() if options is None else options,
        )
        entries.append(entry)
        if platforms is not None:
            # Kept until teardown, so that an unload forwards to the same platforms as the set-up.
            patcher = patch("custom_components.smart_park.lifecycle.PLATFORMS", platforms)
            patcher.start()
            patchers.append(patcher)
        entry.add_to_hass(hass)
        if setup:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        return entry, sim  # type: ignore[return-value]

    yield factory
    for entry in entries:
        # Not after a test stopped Home Assistant itself.
        if hass.is_running and entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    for patcher in patchers:
        patcher.stop()


@pytest.fixture
async def phone_factory(
    hass: HomeAssistant, aiohttp_client: ClientSessionGenerator, socket_enabled: None
) -> AsyncIterator[PhoneFactory]:
    """Fake companion-app phones on the real mobile_app, set up only for tests using it (see phones.py)."""
    async with phones.phone_factory(hass, aiohttp_client) as factory:
        yield factory
