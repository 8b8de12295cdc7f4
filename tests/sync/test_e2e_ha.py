"""End to end: HA (test harness, with smart_park on the park simulator) -> park_sync -> reference central.

The HA side is real: the park simulator serves a reference park over Modbus TCP on 127.0.0.1, the smart_park
config entry polls it, HA serves its websocket API on a loopback port, and park_sync (in process, or as the
``python -m park_sync`` subprocess) follows the integration's entities from the entity registry. Values are
changed at the simulator and reach the central after the integration polls them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.json import JSONEncoder
from pytest_homeassistant_custom_component.common import MockConfigEntry

from central.ingest import IngestSettings
from central.server import Central
from custom_components.smart_park.const import CONF_PROFILE, DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from park_sync.app import ParkSync
from park_sync.ha_source import state_record
from simulator.reference import reference_profile
from simulator.server import ParkSimulator
from tests.conftest import SimulatorFactory

# The integration tests' options (polls only on demand) and their log check: a deprecation HA reports for
# smart_park fails these tests too.
from tests.integration.conftest import entry_options, fail_on_deprecation  # noqa: F401

from .conftest import SECRET, TOKEN, free_port, make_options, wait_for

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Park:
    """A simulated park and the smart_park config entry polling it."""

    hass: HomeAssistant
    sim: ParkSimulator
    entry: SmartParkConfigEntry

    @property
    def entity_ids(self) -> list[str]:
        """The entry's entities, from the entity registry (what park_sync follows)."""
        registry = er.async_get(self.hass)
        return [e.entity_id for e in er.async_entries_for_config_entry(registry, self.entry.entry_id)]

    def entity_id(self, device_id: str, key: str) -> str:
        """The entity of one point of one simulated device."""
        platform = "binary_sensor" if isinstance(self.sim.get_value(device_id, key), bool) else "sensor"
        unique_id = f"{self.entry.runtime_data.profile.id}_{device_id}_{key}"
        entity_id = er.async_get(self.hass).async_get_entity_id(platform, DOMAIN, unique_id)
        assert entity_id is not None, unique_id
        return entity_id

    async def poll(self) -> None:
        """One poll of every gateway and tier now (the entry's own intervals are an hour)."""
        for coordinator in self.entry.runtime_data.coordinators.values():
            await coordinator.async_refresh()
            assert coordinator.last_update_success
        await self.hass.async_block_till_done()


ParkFactory = Callable[[dict[str, Any]], Awaitable[Park]]


@pytest.fixture
async def smart_park(
    hass: HomeAssistant, enable_custom_integrations: None, park_simulator: SimulatorFactory
) -> AsyncIterator[ParkFactory]:
    """Factory: ``await smart_park(profile_document)`` starts a simulator for it and sets up its entry.

    The stored profile is the document with each gateway's port replaced by the simulator's ephemeral port.
    Entries are unloaded (closing their Modbus connections) before the simulators stop.
    """
    entries: list[MockConfigEntry] = []

    async def factory(profile: dict[str, Any]) -> Park:
        sim = await park_simulator(profile)
        document = copy.deepcopy(profile)
        for gateway in document["gateways"]:
            gateway["port"] = sim.ports[gateway["id"]]
        first = document["gateways"][0]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=document["park"]["name"],
            unique_id=document["park"]["id"],
            data={CONF_HOST: first["host"], CONF_PORT: first["port"], CONF_PROFILE: document},
            options=entry_options(),
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        park = Park(hass, sim, entry)
        assert park.entity_ids
        return park

    yield factory
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()


def annex_profile() -> dict[str, Any]:
    """A second small park (its own gateway and simulator), added while park_sync runs."""
    return {
        "park": {"id": "annex", "name": "Annex"},
        "gateways": [{"id": "gw1", "name": "Annex gateway", "host": "127.0.0.1", "port": 5020}],
        "buildings": [{"id": "b1", "name": "Annex", "floors": 1}],
        "enterprises": [],
        # Several entities registered one by one: registry events arrive while park_sync is refreshing.
        "devices": [
            {"id": "annex_meter", "type": "water_meter", "unit": 1, "building": "b1", "floor": 1},
            {"id": "annex_power", "type": "energy_meter", "unit": 2, "building": "b1", "floor": 1},
            {"id": "annex_air", "type": "air_quality_station", "unit": 3, "building": "b1", "floor": 1},
        ],
    }


def foreign_entities(hass: HomeAssistant, n: int) -> list[str]:
    """Entities of another integration, which park_sync must leave out."""
    registry = er.async_get(hass)
    ids = []
    for i in range(n):
        entry = registry.async_get_or_create("sensor", "other_integration", f"other_{i}")
        hass.states.async_set(entry.entity_id, str(i))
        ids.append(entry.entity_id)
    return ids


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def state_ids(hass: HomeAssistant, entity_ids: list[str]) -> set[str]:
    """The record ids park_sync must produce for the current states (HA's own JSON form of them)."""
    out = set()
    for eid in entity_ids:
        state = hass.states.get(eid)
        assert state is not None, eid
        out.add(state_record(json.loads(json.dumps(state.as_dict(), cls=JSONEncoder))).id)
    return out


async def test_states_flow_from_ha_to_central(
    hass: HomeAssistant, ha_api: tuple[str, str], smart_park: ParkFactory, central: Central, tmp_path: Path
) -> None:
    url, token = ha_api
    park = await smart_park(reference_profile(5))
    entities = park.entity_ids
    other = foreign_entities(hass, 3)
    status_port = free_port()
    app = ParkSync(make_options(tmp_path, central.url, status_port=status_port), url, token, "127.0.0.1")
    await app.start()
    try:
        expected = state_ids(hass, entities)

        async def arrived() -> bool:
            return expected <= set(await central.storage.record_ids())

        await wait_for(arrived, what="initial states at the central")
        meter = park.entity_id("e001_energy_meter", "power")
        assert state_of(hass, meter) == "15000"  # the simulator's catalogue base (dynamics off)
        park.sim.set_value("e001_energy_meter", "power", 23456)
        await park.poll()
        assert state_of(hass, meter) == "23456"
        hass.states.async_set(other[0], "999")
        expected |= state_ids(hass, [meter])
        await wait_for(arrived, what="changed value at the central")
        # A second park set up while running: its entities are picked up through entity_registry_updated.
        annex = await smart_park(annex_profile())
        late = annex.entity_ids
        expected |= state_ids(hass, late)
        await wait_for(arrived, what="the late park's entities at the central")

        records = await central.storage.records("telemetry")
        synced_entities = {r["data"]["entity_id"] for r in records}
        assert synced_entities == set(entities) | set(late)  # nothing from other integrations
        assert {r["id"] for r in records} == expected
        powers = {r["data"]["state"] for r in records if r["data"]["entity_id"] == meter}
        assert powers == {"15000", "23456"}
        power = next(r["data"] for r in records if r["data"]["entity_id"] == meter)
        assert power["attributes"]["unit_of_measurement"] == "W"
        assert power["attributes"]["device_class"] == "power"
        # The integration's streams are all there: an alarm pressed at a door reaches the central as an
        # incident and as audit entries, and the enterprise registry is synced.
        assert app.ha is not None
        assert app.ha.status()["unavailable_streams"] == []
        park.sim.press_alarm_button("e002_one_key_alarm")
        await park.poll()

        async def incident_arrived() -> bool:
            incidents = await central.storage.records("incident")
            audit = await central.storage.records("audit")
            return any(
                r["data"]["kind"] == "one_key" and r["data"]["enterprise"] == "e002" for r in incidents
            ) and any(r["data"]["category"] == "incident" for r in audit)

        await wait_for(incident_arrived, what="the one-key incident and its audit entry at the central")
        enterprises = {r["data"]["id"] for r in await central.storage.records("enterprise")}
        assert {"e001", "e002", "e003", "e004", "e005"} <= enterprises
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{status_port}/status") as resp,
        ):
            doc = await resp.json()
        assert resp.status == 200
        assert doc["central"]["state"] == "up"
        assert doc["home_assistant"]["connected"] is True
        assert doc["home_assistant"]["entities"] == len(entities) + len(late)
    finally:
        await app.stop()


async def _status(port: int) -> dict[str, Any]:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/status") as resp,
        ):
            doc: dict[str, Any] = await resp.json()
            return doc
    except aiohttp.ClientError:
        return {}


async def _spawn(options_file: Path, ha_url: str, token: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "HA_TOKEN": token,
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'addons' / 'park_sync'}",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "park_sync",
        "--options",
        str(options_file),
        "--ha-url",
        ha_url,
        "--status-host",
        "127.0.0.1",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )


def telemetry(ids: Iterable[str]) -> set[str]:
    """The state records among record ids (park_sync names them st-...)."""
    return {i for i in ids if i.startswith("st-")}


def bump_meters(sim: ParkSimulator) -> None:
    """Every enterprise's meters move on: four energy-meter points and the water volume each."""
    for device_id, device in sim.profile.devices.items():
        keys = {"energy_meter": ("energy_import", "power", "voltage", "current"), "water_meter": ("volume",)}
        for key in keys.get(device.device_type.type, ()):
            sim.set_value(device_id, key, sim.get_value(device_id, key) + 7)


async def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(
    hass: HomeAssistant, ha_api: tuple[str, str], smart_park: ParkFactory, tmp_path: Path
) -> None:
    url, token = ha_api
    # One building of the reference park, then 75 meter changes (and what follows them), in batches of 40.
    park = await smart_park(reference_profile(15))
    entities = park.entity_ids
    # The central acks slowly, so the kill lands while a batch is stored at the central but not acknowledged.
    central = Central(tmp_path / "central.sqlite3", IngestSettings(TOKEN, SECRET, ack_delay=0.25))
    await central.start(hj212_port=None)
    status_port = free_port()
    options = make_options(tmp_path, central.url, batch_max_records=40, status_port=status_port)
    options_file = tmp_path / "options.json"
    raw = {
        k: getattr(options, k)
        for k in (
            "park_id",
            "central_url",
            "central_token",
            "hmac_secret",
            "outbox_path",
            "batch_max_records",
            "batch_max_seconds",
            "retry_initial_seconds",
            "retry_max_seconds",
            "status_port",
        )
    }
    options_file.write_text(json.dumps(raw))
    expected = state_ids(hass, entities)
    snapshot = len(expected)
    proc = await _spawn(options_file, url, token)
    try:

        async def taken(n: int) -> bool:
            return int((await _status(status_port)).get("outbox", {}).get("taken", 0)) >= n

        await wait_for(lambda: taken(snapshot), what="snapshot taken")
        before = {eid: hass.states.get(eid) for eid in entities}
        bump_meters(park.sim)
        await park.poll()
        changed = [eid for eid in entities if hass.states.get(eid) != before[eid]]
        meter_points = {
            park.entity_id(device_id, key)
            for device_id, device in park.sim.profile.devices.items()
            for key in {
                "energy_meter": ("energy_import", "power", "voltage", "current"),
                "water_meter": ("volume",),
            }.get(device.device_type.type, ())
        }
        # Every meter point changed (15 enterprises x 5), and the enterprises' consumption sensors with them.
        assert len(meter_points) == 15 * 5
        assert meter_points <= set(changed)
        expected |= state_ids(hass, entities)
        assert len(expected) == snapshot + len(changed)

        # Incidents, audit entries and enterprise records share the outbox: wait for the telemetry itself.
        async def telemetry_taken() -> bool:
            with closing(sqlite3.connect(options.outbox_path)) as db:  # `with connect()` alone never closes
                queued = {r[0] for r in db.execute("SELECT id FROM outbox")}
            return expected <= telemetry(queued | set(await central.storage.record_ids()))

        await wait_for(telemetry_taken, what="updates taken")

        async def mid_drain() -> bool:
            return len(await central.storage.record_ids()) >= 80

        await wait_for(mid_drain, what="some batches delivered")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    at_kill = set(await central.storage.record_ids())
    with closing(sqlite3.connect(options.outbox_path)) as db:  # `with connect()` alone never closes
        pending = {r[0] for r in db.execute("SELECT id FROM outbox")}
    # Every taken record is either delivered or durable in the outbox.
    assert telemetry(at_kill | pending) == expected
    assert pending, "the kill should have happened with records still pending"

    proc = await _spawn(options_file, url, token)
    try:

        async def all_delivered() -> bool:
            doc = await _status(status_port)
            return doc.get("outbox", {}).get("pending") == 0 and at_kill | pending <= set(
                await central.storage.record_ids()
            )

        await wait_for(all_delivered, timeout=40, what="drain after restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    ids = await central.storage.record_ids()
    assert len(ids) == len(set(ids))
    assert telemetry(ids) == expected  # 0 lost, and nothing stored twice or invented
    assert at_kill | pending <= set(ids)  # incidents, audit and enterprise records: none lost either
    summary = await central.storage.summary()
    assert summary["records"]["total"] == len(ids)
    print("central after kill/restart:", summary["duplicates_received"], "duplicate deliveries absorbed")
    await central.stop()
