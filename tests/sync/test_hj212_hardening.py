"""HJ 212 under malformed input (issue #11 item 15): the central answers instead of dropping the link and
closes idle connections; park_sync answers a malformed platform command and refuses MN/PW values that would
forge packet fields, at configuration and at the codec."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from central.hj212_server import frame
from central.ingest import IngestSettings
from central.server import Central
from park_sync import hj212
from park_sync.config import OptionsError, parse_options
from park_sync.uplink_hj212 import HJ212Uplink

from .conftest import HJ_MN, HJ_PW, SECRET, TOKEN
from .test_hj212_link import station  # noqa: F401 - fixture

QN = "20250501120000123"


async def _exchange(port: int, *segments: str) -> list[hj212.Packet]:
    """Send raw segments on one connection, return the replies (one per segment)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    try:
        for segment in segments:
            writer.write(frame(segment))
            await writer.drain()
            replies.append(hj212.decode(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)))
    finally:
        writer.close()
    return replies


async def test_central_answers_non_numeric_flag_and_keeps_the_connection(central: Central) -> None:
    bad = f"QN={QN};ST=22;CN=2011;PW={HJ_PW};MN={HJ_MN};Flag=abc;CP=&&DataTime=20250501120000&&"
    good = f"QN=20250501120001000;ST=22;CN=2011;PW={HJ_PW};MN={HJ_MN};Flag=5;CP=&&DataTime=20250501120000&&"
    first, second = await _exchange(central.hj212_port, bad, good)
    assert (first.cn, first.qn, first.cp) == ("9011", QN, "QnRtn=6")
    assert second.cn == "9014"  # same connection still served
    assert (await central.storage.summary())["hj212"]["rejected"] == {"flag": 1}


async def test_central_answers_packet_without_cn(central: Central) -> None:
    (reply,) = await _exchange(
        central.hj212_port, f"QN={QN};ST=22;PW={HJ_PW};MN={HJ_MN};Flag=5;CP=&&DataTime=20250501120000&&"
    )
    assert (reply.cn, reply.cp) == ("9011", "QnRtn=8")
    assert await central.storage.hj212_rows() == []


async def test_central_closes_idle_connections(tmp_path: Path) -> None:
    c = Central(tmp_path / "c.db", IngestSettings(TOKEN, SECRET), hj212_idle_timeout=0.3)
    await c.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", c.hj212_port)
        # The server closes the silent connection: EOF well before this test's own timeout.
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        assert (await c.storage.summary())["hj212"]["packets"] == 0
    finally:
        await c.stop()


async def test_station_answers_malformed_platform_command(
    station: HJ212Uplink,  # noqa: F811 - fixture
    central: Central,
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: unhandled.append(ctx))
    try:
        replies = await central.hj212.request(HJ_MN, "1000", "OverTime", timeout=5)
    finally:
        loop.set_exception_handler(None)
    assert [(p.cn, p.cp) for p in replies] == [("9011", "QnRtn=2")]
    assert station.timeout == 0.3  # nothing changed
    assert not unhandled
    assert any(r.levelno == logging.WARNING and "rejected" in r.getMessage() for r in caplog.records)


BASE: dict[str, Any] = {
    "park_id": "zhifeng",
    "central_url": "https://central.example",
    "central_token": "t",
    "hmac_secret": "0123456789abcdef",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mn", "M1;CN=9014"),
        ("mn", "M1=x"),
        ("mn", "M1 X"),
        ("pw", "12;=56"),
        ("pw", "12&&56"),
        ("mn", "M1\r\n"),
    ],
)
async def test_config_refuses_separators_in_mn_and_pw(field: str, value: str) -> None:
    hj = {"enabled": True, "host": "127.0.0.1", "port": 1, "mn": "M1", "pw": "123456", field: value}
    with pytest.raises(OptionsError) as err:
        parse_options({**BASE, "hj212": hj})
    assert err.value.path == f"hj212.{field}"
    assert value not in str(err.value)


@pytest.mark.parametrize(("field", "value"), [("mn", "M1;CN=9014"), ("pw", "1;CN=9")])
async def test_codec_refuses_frame_injection(field: str, value: str) -> None:
    fields: dict[str, Any] = {"qn": QN, "st": "22", "cn": "2011", "pw": "123456", "mn": "M1", "flag": 5}
    fields[field] = value
    with pytest.raises(hj212.HJ212Error) as err:
        hj212.Packet(**fields, cp="DataTime=20250501120000").encode()
    assert err.value.field == field.upper()
    assert value not in str(err.value)
    with pytest.raises(hj212.HJ212Error, match="CP"):
        hj212.Packet(qn=QN, st="22", cn="2011", pw="123456", mn="M1", flag=5, cp="a=1&&CN=9014").encode()
