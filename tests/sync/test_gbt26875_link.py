"""GB/T 26875.3 uplink against the reference centre's TCP server: records confirmed, order, retransmission,
denial and dead letters, heartbeats, and the centre's reads, initialise, clock sync and roll-call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central.server import Central
from park_sync.config import GBT26875Options
from park_sync.gbt26875_codes import ComponentState, SystemState, UITDState
from park_sync.outbox import Outbox
from park_sync.uplink_gbt26875 import GBT26875Uplink

from .conftest import wait_for
from .gbt26875_helpers import CENTRE, SOURCE, FakeHA, normal_states, state

DEVICE = f"{SOURCE:012X}"


def options(port: int, **overrides: Any) -> GBT26875Options:
    base: dict[str, Any] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "source_address": SOURCE,
        "centre_address": CENTRE,
        "heartbeat": 0.0,
        "timeout": 0.3,
        "retries": 2,
        "reconnect_max_seconds": 0.2,
    }
    return GBT26875Options(**(base | overrides))


@pytest.fixture
async def device(tmp_path: Path, central: Central) -> AsyncIterator[tuple[GBT26875Uplink, FakeHA]]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    await box.open()
    uplink = GBT26875Uplink(
        options(central.gbt26875_port), box, "zhifeng", lambda: {"ha_connected": True, "state": "ok"}
    )
    ha = FakeHA()
    uplink.ha = ha
    for s in normal_states():
        uplink.observe(s)
    task = asyncio.create_task(uplink.run())
    uplink.ha_connected()
    await wait_for(
        lambda: _true(uplink.status()["connected"] and uplink.model.park_id == "zhifeng"),
        what="link and layout",
    )
    yield uplink, ha
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await box.close()


async def _true(value: Any) -> bool:
    return bool(value)


async def rows(central: Central, type_flag: int | None = None) -> list[dict[str, Any]]:
    return await central.storage.gbt26875_rows(DEVICE, type_flag)


async def test_call_point_fire_reaches_the_centre_confirmed(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    await asyncio.sleep(0.3)
    assert await rows(central, 2) == []  # a first start reports only what is not normal; the tank's values go
    assert {r["record"]["analog_type"] for r in await rows(central, 3)} == {2, 5}
    uplink.observe(state("binary_sensor.cp2", "on", "2026-05-01T01:58:02+00:00"))

    async def arrived() -> bool:
        return len(await rows(central, 2)) == 1 and uplink.store.pending == 0

    await wait_for(arrived, what="the call point's fire record confirmed")
    record = (await rows(central, 2))[0]["record"]
    assert record["component_type"] == 23
    assert record["state"] == ComponentState.NORMAL | ComponentState.FIRE
    assert (record["component_address"] & 0xFFFF, record["component_address"] >> 16) == (
        1,
        201,
    )  # b1, floor 2 #1
    assert record["description"] == "1号楼2层 手动报警按钮"
    assert record["time"] == "2026-05-01T09:58:02"  # HA's last_changed in the device's local time
    uplink.observe(state("binary_sensor.smoke", "on"))
    await wait_for(lambda: _count(central, 2, 2), what="the smoke alarm")
    smoke = (await rows(central, 2))[1]["record"]
    assert (smoke["component_type"], smoke["description"]) == (40, "1号楼2层 恒达机械有限公司")


async def _count(central: Central, type_flag: int, n: int) -> bool:
    return len(await rows(central, type_flag)) >= n


async def test_lost_confirm_is_retransmitted_and_stored_once(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    await wait_for(lambda: _true(uplink.store.pending == 0), what="first values sent")
    central.gbt26875.drop_confirms = 1
    uplink.observe(state("binary_sensor.cp1", "on"))
    await wait_for(
        lambda: _true(uplink.store.pending == 0 and uplink.records >= 3), what="confirmed after a resend"
    )
    assert uplink.retransmissions == 1
    assert len(await rows(central, 2)) == 1
    assert (await central.storage.summary())["gbt26875"]["duplicates"] == 1


async def test_denied_record_goes_again_then_becomes_a_dead_letter(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    await wait_for(lambda: _true(uplink.store.pending == 0), what="first values sent")
    central.gbt26875.deny_uploads = 1
    uplink.observe(state("binary_sensor.cp3", "on"))
    await wait_for(lambda: _count(central, 2, 1), what="accepted after one denial")
    assert uplink.denials == 1
    central.gbt26875.deny_uploads = 3
    uplink.observe(state("binary_sensor.cp3", "off"))
    await wait_for(lambda: _true(uplink.store.dead == 1), what="a dead letter after three denials")
    assert uplink.store.pending == 0
    assert await uplink.requeue_dead() == 1
    await wait_for(lambda: _count(central, 2, 2), what="the requeued record delivered")
    assert (await rows(central, 2))[1]["record"]["state"] == ComponentState.NORMAL


async def test_fire_goes_ahead_of_queued_values(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    await wait_for(lambda: _true(uplink.store.pending == 0), what="first values sent")
    await central.gbt26875.stop()  # the centre is away: records wait
    await wait_for(lambda: _true(not uplink.status()["connected"]), what="link down")
    for n in range(5):
        uplink.observe(state("binary_sensor.tank_low", "on" if n % 2 == 0 else "off"))
        await uplink.feed.flush()
    uplink.observe(state("binary_sensor.cp1", "on"))
    await uplink.feed.flush()
    assert uplink.store.pending == 6
    await central.gbt26875.start("127.0.0.1", central.gbt26875_port)
    await wait_for(lambda: _true(uplink.store.pending == 0), what="the queue drained")
    records = await rows(central, 2)
    assert records[0]["record"]["component_type"] == 23  # the fire first
    tank = [r["record"]["state"] & ComponentState.SUPERVISORY for r in records[1:]]
    assert tank == [16, 0, 16, 0, 16]  # then the tank's records in their order


async def test_heartbeat_is_confirmed(tmp_path: Path, central: Central) -> None:
    box = Outbox(tmp_path / "hb.sqlite3")
    await box.open()
    uplink = GBT26875Uplink(
        options(central.gbt26875_port, heartbeat=1.0), box, "zhifeng", lambda: {"ha_connected": True}
    )
    task = asyncio.create_task(uplink.run())
    try:
        await wait_for(lambda: _true(uplink.heartbeats >= 2), timeout=10, what="two heartbeats")
        assert (await central.storage.summary())["gbt26875"]["heartbeats"] >= 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await box.close()


async def test_centre_reads_are_answered_from_the_latest_states(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    gb = central.gbt26875
    uplink.observe(state("binary_sensor.cp2", "on"))
    uplink.observe(state("sensor.linkage_b1", "alarm", bells_on=True))
    await wait_for(lambda: _true(uplink.store.pending == 0 and uplink.model.any_fire()), what="alarm sent")
    answer = await gb.command(SOURCE, 81, [{"reserved": 0}], timeout=5)
    assert (answer["command"], answer["type"]) == ("response", 21)
    assert answer["records"][0]["state"] == UITDState.NORMAL | UITDState.FIRE
    answer = await gb.command(SOURCE, 61, [{"system_type": 1, "system_address": 1}], timeout=5)
    assert answer["records"][0]["state"] == SystemState.NORMAL | SystemState.FIRE | SystemState.STARTED
    address = 1 | 201 << 16
    answer = await gb.command(
        SOURCE, 62, [{"system_type": 1, "system_address": 1, "component_address": address}]
    )
    assert [(r["component_type"], r["state"]) for r in answer["records"]] == [(23, 3)]
    tank = 1 | 303 << 16  # after floor 3's call point and bell
    answer = await gb.command(
        SOURCE, 63, [{"system_type": 11, "system_address": 1, "component_address": tank}]
    )
    assert sorted((r["analog_type"], r["value"]) for r in answer["records"]) == [(2, 350), (5, 3300)]
    answer = await gb.command(
        SOURCE, 67, [{"system_type": 11, "system_address": 1, "component_address": tank}]
    )
    assert answer["records"][0]["description"] == "1号楼3层 消防水箱"
    for type_flag, expected in ((85, 25), (86, 26), (88, 28)):
        answer = await gb.command(SOURCE, type_flag, [{"reserved": 0}])
        assert (answer["command"], answer["type"]) == ("response", expected)
    assert "park zhifeng" in (await gb.command(SOURCE, 86, [{"reserved": 0}]))["records"][0]["config"]
    missing = await gb.command(SOURCE, 62, [{"system_type": 1, "system_address": 9, "component_address": 1}])
    assert missing["command"] == "deny"
    assert uplink.requests.reads >= 7


async def test_centre_controls_initialise_clock_sync_and_rollcall(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, ha = device
    gb = central.gbt26875
    await wait_for(lambda: _true(uplink.store.pending == 0), what="first values sent")
    before = len(await rows(central))
    assert (await gb.command(SOURCE, 89, [{"reserved": 0}]))["command"] == "confirm"
    # Initialise: every unit goes again (5 components, 1 system, 2 analogue values, the device itself).
    await wait_for(
        lambda: _true(uplink.store.pending == 0 and uplink.feed.records >= before + 9), what="resent"
    )
    ahead = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None) + timedelta(seconds=90)
    assert (await gb.command(SOURCE, 90, [{"time": ahead.replace(microsecond=0)}]))["command"] == "confirm"
    assert 85 < (uplink.requests.clock_offset or 0) < 95
    assert (await gb.command(SOURCE, 91, [{"timeout": 5}]))["command"] == "confirm"
    await wait_for(lambda: _true(len(ha.reports) == 3), what="the reports handed to HA")
    assert [r["event"] for r in ha.reports] == ["initialise", "clock_sync", "rollcall"]
    assert ha.reports[2] == {
        "type": "smart_park/centre/report",
        "park_id": "zhifeng",
        "event": "rollcall",
        "minutes": 5,
    }


async def test_bad_frames_from_the_centre_are_denied(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    uplink, _ = device
    from central import gbt26875 as codec

    writer = central.gbt26875.devices[SOURCE].writer
    assert writer is not None
    good = codec.Packet(
        77,
        datetime(2026, 5, 1, 9, 0, 0),  # noqa: DTZ001 - time labels are local time
        CENTRE,
        SOURCE,
        codec.REQUEST,
        codec.encode_records(81, [{"reserved": 0}]),
    )
    raw = good.encode()
    bad = raw[:-3] + bytes([(raw[-3] + 1) % 256]) + b"##"
    fut: asyncio.Future[codec.Packet] = asyncio.get_running_loop().create_future()
    central.gbt26875.devices[SOURCE].waiting[77] = fut
    writer.write(b"garbage" + bad)
    await writer.drain()
    answer = await asyncio.wait_for(fut, 5)
    assert answer.command == codec.DENY
    assert uplink.bad_frames == 1


async def test_read_to_the_broadcast_address_is_answered_from_ours(
    device: tuple[GBT26875Uplink, FakeHA], central: Central
) -> None:
    from central import gbt26875 as codec

    writer = central.gbt26875.devices[SOURCE].writer
    assert writer is not None
    when = datetime(2026, 5, 1, 9, 0, 0)  # noqa: DTZ001 - time labels are local time
    read = codec.Packet(78, when, CENTRE, 0, codec.REQUEST, codec.encode_records(88, [{"reserved": 0}]))
    fut: asyncio.Future[codec.Packet] = asyncio.get_running_loop().create_future()
    central.gbt26875.devices[SOURCE].waiting[78] = fut
    writer.write(read.encode())
    await writer.drain()
    answer = await asyncio.wait_for(fut, 5)
    assert (answer.command, answer.serial, answer.source, answer.destination) == (
        codec.RESPONSE,
        78,
        SOURCE,
        CENTRE,
    )
    assert codec.decode_records(answer.unit)[0] == 28


async def test_a_restart_sends_nothing_twice(tmp_path: Path, central: Central) -> None:
    """States and audit entries seen again after a restart (HA's snapshot, the audit log's replay) are not
    records again: the last state queued per unit and the last audit entry handled are in the database."""
    from park_sync.outbox import Record

    box = Outbox(tmp_path / "outbox.sqlite3")
    await box.open()
    silence = {
        "id": "zhifeng-a9",
        "seq": 9,
        # After the first start: a first start takes no audit entry older than itself.
        "at": (datetime.now(ZoneInfo("UTC")) + timedelta(seconds=60)).isoformat(),
        "category": "linkage",
        "action": "silence",
        "outcome": "ok",
        "target": "b1",
        "user_id": "admin-user-id",
    }
    sent: list[int] = []
    for _run in range(2):
        uplink = GBT26875Uplink(
            options(central.gbt26875_port), box, "zhifeng", lambda: {"ha_connected": True, "state": "ok"}
        )
        uplink.ha = FakeHA()
        for s in [*normal_states(), state("binary_sensor.cp1", "on")]:
            uplink.observe(s)
        uplink.observe_records([Record("aud-1", "audit", silence["at"], silence)])
        task = asyncio.create_task(uplink.run())
        uplink.ha_connected()

        async def settled(u: GBT26875Uplink = uplink) -> bool:
            return u.model.park_id is not None and u.store.pending == 0

        await wait_for(settled, what="layout loaded, queue empty")
        await asyncio.sleep(0.5)  # the feed's next turns: anything it would queue again, it would now
        await wait_for(settled, what="queue empty")
        sent.append(uplink.feed.records)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await box.close()
    assert sent[0] >= 4  # the call point, the tank's two values, the silence
    assert sent[1] == 0
    assert [r["record"]["operation"] for r in await rows(central, 4)] == [2]  # SILENCE, once
    assert len([r for r in await rows(central, 2) if r["record"]["component_type"] == 23]) == 1
