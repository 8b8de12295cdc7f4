"""End to end over GB/T 26875.3: park simulator -> HA (smart_park polling it) -> park_sync -> the centre.

Real peers on loopback: the simulator's Modbus TCP, HA's websocket API, park_sync (in process, or the
``python -m park_sync`` subprocess killed with SIGKILL) and the centre's GB/T 26875.3 TCP server. HA polls the
fire-bell controller on its safety tier (0.1 s), so a press at the simulator reaches the centre on its own.
"""

from __future__ import annotations

import asyncio
import copy
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from central.ingest import IngestSettings
from central.server import Central
from custom_components.smart_park.const import CONF_INTERVAL, CONF_PROFILE, DOMAIN
from custom_components.smart_park.engine.catalogue import Tier
from park_sync.app import ParkSync
from park_sync.gbt26875_codes import ComponentState, OperationFlag, SystemState, UITDOperation
from simulator.reference import reference_profile
from simulator.server import ParkSimulator
from tests.conftest import SimulatorFactory
from tests.integration.conftest import entry_options, fail_on_deprecation  # noqa: F401

from .conftest import SECRET, TOKEN, free_port, make_options, wait_for
from .gbt26875_helpers import CENTRE, SOURCE
from .test_e2e_ha import _spawn, _status

DEVICE = f"{SOURCE:012X}"
FIRE = int(ComponentState.NORMAL | ComponentState.FIRE)
NORMAL = int(ComponentState.NORMAL)

Start = Callable[[], Awaitable[ParkSimulator]]


@pytest.fixture
async def park(
    hass: HomeAssistant, enable_custom_integrations: None, park_simulator: SimulatorFactory
) -> AsyncIterator[Start]:
    """Starts one building of the reference park (6 floors, 5 enterprises), polled by HA for real."""
    entries: list[MockConfigEntry] = []

    async def start() -> ParkSimulator:
        profile = reference_profile(5)
        sim = await park_simulator(profile)
        document = copy.deepcopy(profile)
        for gateway in document["gateways"]:
            gateway["port"] = sim.ports[gateway["id"]]
        fast = {CONF_INTERVAL[Tier.SAFETY]: 0.1, CONF_INTERVAL[Tier.FAST]: 0.5}
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="智峰小微园",
            unique_id="zhifeng",
            data={CONF_HOST: "127.0.0.1", CONF_PORT: sim.ports["gw1"], CONF_PROFILE: document},
            options=entry_options(**fast),
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        return sim

    yield start
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()


def gb_options(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "source_address": str(SOURCE),
        "centre_address": str(CENTRE),
        "heartbeat": 20,
        "timeout": 1.0,
        "reconnect_max_seconds": 0.3,
        **extra,
    }


async def records(central: Central, type_flag: int) -> list[dict[str, Any]]:
    return [r["record"] for r in await central.storage.gbt26875_rows(DEVICE, type_flag)]


def call_points(found: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(floor, state) of each call point record, in arrival order."""
    return [((r["component_address"] >> 16) // 100, r["state"]) for r in found if r["component_type"] == 23]


async def started(app: ParkSync, central: Central) -> None:
    async def ready() -> bool:
        gb = app.gbt26875
        return (
            gb is not None
            and gb.status()["connected"]
            and gb.status()["components"] > 0
            and gb.store.pending == 0
            and SOURCE in central.gbt26875.devices  # the centre learnt the device from its first frame
        )

    await wait_for(ready, what="GB/T 26875.3 link up with the park's layout")


async def test_call_point_reaches_the_centre_within_10_s(
    hass: HomeAssistant, ha_api: tuple[str, str], park: Start, central: Central, tmp_path: Path
) -> None:
    url, token = ha_api
    sim = await park()
    app = ParkSync(
        make_options(tmp_path, central.url, gbt26875=gb_options(central.gbt26875_port)), url, token
    )
    await app.start()
    try:
        await started(app, central)
        assert app.gbt26875 is not None
        layout = app.gbt26875.model
        assert len(layout.systems) == 1
        assert {c.component_type for c in layout.components.values()} == {23, 121, 40, 10, 92}
        pressed = time.monotonic()
        sim.press_call_point("b1_bells", 3)

        async def confirmed() -> bool:
            return (3, FIRE) in call_points(await records(central, 2)) and app.gbt26875.store.pending == 0

        await wait_for(confirmed, timeout=10, what="the fire record confirmed by the centre")
        elapsed = time.monotonic() - pressed
        assert elapsed < 10
        fire = next(r for r in await records(central, 2) if r["component_type"] == 23)
        assert fire["description"] == "1号楼3层 手动报警按钮"
        assert fire["component_address"] & 0xFFFF == 1  # zone: building 1
        # The linkage rang the bells: the building's system started, every bell component started.

        async def linkage() -> bool:
            systems = await records(central, 1)
            bells = [r for r in await records(central, 2) if r["component_type"] == 121]
            started_bits = int(SystemState.FIRE | SystemState.STARTED)
            return any(s["state"] & started_bits == started_bits for s in systems) and len(bells) == 6

        await wait_for(linkage, what="system state and bells at the centre")
        summary = await central.storage.summary()
        assert summary["gbt26875"]["duplicates"] == 0
        assert central.gbt26875.summary() == [
            {"address": DEVICE, "connected": True, "last_seen": central.gbt26875.devices[SOURCE].last_seen}
        ]
        print(f"call point -> confirmed by the centre: {elapsed * 1000:.0f} ms")
    finally:
        await app.stop()


async def test_centre_down_during_an_alarm_loses_and_doubles_nothing(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    park: Start,
    central: Central,
    tmp_path: Path,
    hass_admin_user: Any,
) -> None:
    url, token = ha_api
    sim = await park()
    app = ParkSync(
        make_options(tmp_path, central.url, gbt26875=gb_options(central.gbt26875_port)), url, token
    )
    await app.start()
    try:
        await started(app, central)
        gb = app.gbt26875
        assert gb is not None
        await central.gbt26875.stop()
        await wait_for(lambda: _false(gb.status()["connected"]), what="link down")
        sim.press_call_point("b1_bells", 2)
        await wait_for(lambda: _queued(gb, 2), what="the alarm queued")
        # Records queued are not yet the alarm latched (the link's own records may come first): silence
        # only what sounds.
        (entry,) = hass.config_entries.async_entries(DOMAIN)
        group = entry.runtime_data.linkage.groups["b1"]
        await wait_for(lambda: _true(group.group.latched), what="the alarm latched")
        admin = Context(user_id=hass_admin_user.id)
        await hass.services.async_call(DOMAIN, "silence_alarm", {"group": "b1"}, blocking=True, context=admin)
        sim.release_call_point("b1_bells", 2)
        await asyncio.sleep(0.5)
        await hass.services.async_call(DOMAIN, "reset_alarm", {"group": "b1"}, blocking=True, context=admin)
        await asyncio.sleep(1.0)
        queued = gb.store.pending
        assert queued >= 6  # call point x2, system states, bells, two operations at least
        await central.gbt26875.start("127.0.0.1", central.gbt26875_port)
        await wait_for(lambda: _true(gb.store.pending == 0), what="everything delivered")
        assert call_points(await records(central, 2)) == [(2, FIRE), (2, NORMAL)]
        operations = [(r["operation"], r["operator"]) for r in await records(central, 4)]
        assert operations == [(OperationFlag.SILENCE, 1), (OperationFlag.RESET, 1)]  # the admin: operator 1
        systems = [r["state"] for r in await records(central, 1)]
        assert systems[0] & SystemState.FIRE
        assert systems[-1] == SystemState.NORMAL
        summary = await central.storage.summary()
        assert summary["gbt26875"]["duplicates"] == 0
        assert summary["gbt26875"]["records"] == gb.records  # every confirmed record stored, once
    finally:
        await app.stop()


async def _true(value: Any) -> bool:
    return bool(value)


async def _false(value: Any) -> bool:
    return not value


async def _queued(gb: Any, n: int) -> bool:
    return bool(gb.store.pending >= n)


async def test_sigkill_mid_send_loses_and_doubles_nothing(
    hass: HomeAssistant, ha_api: tuple[str, str], park: Start, tmp_path: Path
) -> None:
    url, token = ha_api
    sim = await park()
    central = Central(tmp_path / "central.sqlite3", IngestSettings(TOKEN, SECRET))
    central.gbt26875.confirm_delay = 0.4  # stored at the centre, confirm still on its way when the kill lands
    await central.start(hj212_port=None)
    status_port = free_port()
    options = make_options(tmp_path, central.url, status_port=status_port)
    raw = {
        k: getattr(options, k)
        for k in ("park_id", "central_url", "central_token", "hmac_secret", "outbox_path", "status_port")
    }
    raw["gbt26875"] = gb_options(central.gbt26875_port)
    options_file = tmp_path / "options.json"
    options_file.write_text(json.dumps(raw))
    proc = await _spawn(options_file, url, token)
    try:

        async def ready() -> bool:
            gb = (await _status(status_port)).get("gbt26875", {})
            return bool(gb.get("connected") and gb.get("components") and gb.get("pending") == 0)

        await wait_for(ready, what="park_sync's GB/T 26875.3 link up")
        for floor in range(1, 7):  # each floor's call point pressed and released: 12 records, each its own
            sim.press_call_point("b1_bells", floor)
            await asyncio.sleep(0.3)
            sim.release_call_point("b1_bells", floor)
            await asyncio.sleep(0.3)

        async def mid_send() -> bool:
            stored = len(await records(central, 2))
            return stored >= 3 and (await _status(status_port)).get("gbt26875", {}).get("pending", 0) > 0

        await wait_for(mid_send, what="records delivered with more still pending")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    at_kill = len(await records(central, 2))
    proc = await _spawn(options_file, url, token)
    try:

        async def drained() -> bool:
            gb = (await _status(status_port)).get("gbt26875", {})
            return bool(gb.get("connected") and gb.get("pending") == 0 and gb.get("records_confirmed"))

        await wait_for(drained, timeout=40, what="the queue drained after the restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    found = call_points(await records(central, 2))
    expected = [(floor, state) for floor in range(1, 7) for state in (FIRE, NORMAL)]
    assert sorted(found) == sorted(expected)  # every press and release, once
    for floor in range(1, 7):
        assert [s for f, s in found if f == floor] == [FIRE, NORMAL]  # in order per call point
    summary = await central.storage.summary()
    print(f"kill -9 after {at_kill} call point records; {summary['gbt26875']['duplicates']} resends absorbed")
    await central.stop()


async def test_rollcall_from_the_centre_answered_from_ha(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    park: Start,
    central: Central,
    tmp_path: Path,
    hass_admin_user: Any,
) -> None:
    url, token = ha_api
    await park()
    app = ParkSync(
        make_options(tmp_path, central.url, gbt26875=gb_options(central.gbt26875_port)), url, token
    )
    await app.start()
    try:
        await started(app, central)
        answer = await central.gbt26875.command(SOURCE, 91, [{"timeout": 5}], timeout=5)
        assert answer["command"] == "confirm"
        notification_id = "smart_park_zhifeng_centre_rollcall"

        async def prompted() -> bool:
            notifications = hass.data.get("persistent_notification", {})
            return notification_id in notifications

        await wait_for(prompted, what="the duty room prompted in HA")
        user = await hass.auth.async_create_user("Duty officer")  # not an administrator
        await hass.services.async_call(
            DOMAIN, "answer_centre_rollcall", {}, blocking=True, context=Context(user_id=user.id)
        )

        async def answered() -> bool:
            return any(r["operation"] & UITDOperation.ROLL_CALL_ANSWER for r in await records(central, 24))

        await wait_for(answered, what="the roll-call answer at the centre")
        record = next(r for r in await records(central, 24))
        assert record["operation"] == UITDOperation.ROLL_CALL_ANSWER
        assert record["operator"] >= 1
        assert notification_id not in hass.data.get("persistent_notification", {})
        assert app.gbt26875 is not None
        assert app.gbt26875.status()["last_rollcall"] is not None
    finally:
        await app.stop()
