"""HJ 212 uplink against the central's TCP server: 9014 replies, retransmission, 1000, time, backfill, bad
frames.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.server import Central
from park_sync import hj212
from park_sync.config import HJ212Options
from park_sync.outbox import Outbox
from park_sync.uplink_hj212 import HJ212Uplink

from .conftest import HJ_MN, HJ_PW, wait_for

SO2 = "sensor.air_station_so2"
PM25 = "sensor.air_station_pm25"


@pytest.fixture
async def station(tmp_path: Path, central: Central) -> AsyncIterator[HJ212Uplink]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    await box.open()
    opts = HJ212Options(
        enabled=True,
        host="127.0.0.1",
        port=central.hj212_port,
        mn=HJ_MN,
        pw=HJ_PW,
        timeout=0.3,
        retries=2,
        realtime_seconds=3600,
        pollutants={"a21026": SO2, "a34004": PM25},
    )
    uplink = HJ212Uplink(opts, box)
    task = asyncio.create_task(uplink.run())

    async def connected() -> bool:
        return HJ_MN in central.hj212.stations or uplink.status()["connected"]

    await wait_for(connected, what="HJ 212 link")
    # The central learns the station from its first packet; a real-time packet introduces it.
    uplink.observe({"entity_id": SO2, "state": "10"})
    await uplink.send_and_wait(uplink.packet(hj212.CN_REALTIME, uplink.realtime_cp() or ""))
    yield uplink
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await box.close()


async def test_minute_window_sent_with_avg_min_max_and_acknowledged(
    station: HJ212Uplink, central: Central
) -> None:
    for value in ("10", "14", "12"):
        station.observe({"entity_id": SO2, "state": value})
    station.observe({"entity_id": PM25, "state": "unavailable"})
    now = time.time()
    assert await station.close_window(hj212.CN_MINUTE, now - 60, now + 1)

    async def delivered() -> bool:
        return len(await central.storage.hj212_rows("2051")) == 1 and not await station.pending_history()

    await wait_for(delivered, what="2051 at the central and marked sent")
    cp = hj212.parse_cp((await central.storage.hj212_rows("2051"))[0]["cp"])
    assert cp["a21026-Min"] == "10"
    assert cp["a21026-Max"] == "14"
    assert cp["a21026-Avg"] == "11.5"  # includes the introductory 10
    assert cp["a21026-Flag"] == "N"
    assert cp["a34004-Flag"] == "B"  # mapped, but no valid sample in the window
    rt = (await central.storage.hj212_rows("2011"))[0]
    assert "a21026-Rtd=10" in rt["cp"]


async def test_missing_reply_is_retransmitted_and_stored_once(station: HJ212Uplink, central: Central) -> None:
    central.hj212.drop_replies = 1
    await station.add_history(hj212.CN_HOURLY, "20250501100000", "DataTime=20250501100000;a21026-Avg=1")

    async def delivered() -> bool:
        return not await station.pending_history()

    await wait_for(delivered, what="hourly packet acknowledged")
    assert station.retransmissions == 1
    summary = await central.storage.summary()
    assert summary["hj212"]["by_cn"]["2061"] == 1
    assert summary["hj212"]["duplicates"] == 1


async def test_platform_1000_changes_timeout_and_retries(station: HJ212Uplink, central: Central) -> None:
    replies = await central.hj212.request(HJ_MN, "1000", "OverTime=5;ReCount=1", timeout=5)
    assert [(p.cn, p.cp) for p in replies] == [("9011", "QnRtn=1"), ("9012", "ExeRtn=1")]
    assert (station.timeout, station.retries) == (5.0, 1)
    bad = await central.hj212.request(HJ_MN, "1000", "OverTime=abc;ReCount=1", timeout=5)
    assert [(p.cn, p.cp) for p in bad] == [("9011", "QnRtn=2")]
    assert (station.timeout, station.retries) == (5.0, 1)


async def test_platform_time_request(station: HJ212Uplink, central: Central) -> None:
    replies = await central.hj212.request(HJ_MN, "1011", "", timeout=5)
    assert [p.cn for p in replies] == ["9011", "1011", "9012"]
    system_time = replies[1].cp_fields()["SystemTime"]
    assert len(system_time) == 14
    assert system_time.isdigit()
    rejected = await central.hj212.request(HJ_MN, "1012", "SystemTime=20200101000000", timeout=5)
    assert [(p.cn, p.cp) for p in rejected] == [("9011", "QnRtn=2")]


async def test_backfill_served_from_history(station: HJ212Uplink, central: Central) -> None:
    for minute in ("00", "10", "20", "30"):
        dt = f"2025050110{minute}00"
        await station.add_history(hj212.CN_MINUTE, dt, f"DataTime={dt};a21026-Avg=1,a21026-Flag=N")
    await wait_for(lambda: _no_pending(station), what="live sends done")
    replies = await central.hj212.request(
        HJ_MN, "2051", "BeginTime=20250501101000;EndTime=20250501102000", timeout=5
    )
    assert [p.cn for p in replies] == ["9011", "2051", "2051", "9012"]
    assert [p.cp_fields()["DataTime"] for p in replies[1:3]] == ["20250501101000", "20250501102000"]
    assert replies[-1].cp == "ExeRtn=1"
    empty = await central.hj212.request(HJ_MN, "2061", "BeginTime=20200101000000;EndTime=20200101230000")
    assert [(p.cn, p.cp) for p in empty] == [("9011", "QnRtn=1"), ("9012", "ExeRtn=100")]
    no_range = await central.hj212.request(HJ_MN, "2051", "BeginTime=yesterday")
    assert [(p.cn, p.cp) for p in no_range] == [("9011", "QnRtn=2")]


async def _no_pending(station: HJ212Uplink) -> bool:
    return not await station.pending_history()


async def _exchange(central: Central, frame: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", central.hj212_port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_central_rejects_bad_crc_and_bad_length(central: Central) -> None:
    good = hj212.Packet(
        qn="20250501120000123",
        st="22",
        cn="2011",
        pw=HJ_PW,
        mn=HJ_MN,
        flag=5,
        cp="DataTime=20250501120000;a21026-Rtd=1,a21026-Flag=N",
    ).encode()
    reply = hj212.decode(await _exchange(central, good[:-6] + b"0000\r\n"))
    assert (reply.cn, reply.qn, reply.cp) == ("9011", "20250501120000123", "QnRtn=9")
    length = int(good[2:6])
    bad_len = good[:2] + f"{length + 1:04d}".encode() + good[6:]
    reply = hj212.decode(await _exchange(central, bad_len))
    assert (reply.cn, reply.cp) == ("9011", "QnRtn=2")
    wrong_pw = hj212.Packet(
        qn="20250501120000124",
        st="22",
        cn="2011",
        pw="000000",
        mn=HJ_MN,
        flag=5,
        cp="DataTime=20250501120000",
    ).encode()
    reply = hj212.decode(await _exchange(central, wrong_pw))
    assert reply.cp == "QnRtn=3"
    reply = hj212.decode(await _exchange(central, good))
    assert (reply.cn, reply.qn) == ("9014", "20250501120000123")
    summary = await central.storage.summary()
    assert summary["hj212"]["rejected"] == {"crc": 1, "length": 1, "pw": 1}
    assert summary["hj212"]["packets"] == 1
