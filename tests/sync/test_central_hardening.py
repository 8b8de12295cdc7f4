"""The central's ingest API under hostile input (issue #11 item 16): every probe gets a 4xx naming the field,
never a 500, and nothing is stored."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any

import aiohttp
import pytest

from central.ingest import sign
from central.server import Central

from .conftest import SECRET, TOKEN


def _batch(ids: list[str]) -> dict[str, Any]:
    return {
        "park_id": "zhifeng",
        "batch_id": "b-1",
        "records": [
            {"id": i, "kind": "telemetry", "ts": "2025-05-01T00:00:00+00:00", "data": {"v": 1}} for i in ids
        ],
    }


async def _raw_post(
    central: Central, body: bytes, headers: dict[str, str] | None = None, *, stamp: str | None = None
) -> tuple[int, dict[str, Any]]:
    stamp = stamp if stamp is not None else str(int(time.time()))
    sent = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Park-Timestamp": stamp,
    }
    # Sign only what can be signed: the central's own sign() needs an ASCII timestamp.
    if stamp.isascii():
        sent["X-Park-Signature"] = sign(SECRET, stamp, body)
    sent.update(headers or {})
    async with (
        aiohttp.ClientSession() as session,
        session.post(central.url + "/api/v1/ingest", data=body, headers=sent) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def _nothing_stored(central: Central) -> bool:
    return await central.storage.record_ids() == []


@pytest.mark.parametrize("token", ["令牌".encode(), b"\xff\xfe\x80"])
async def test_non_ascii_authorization_is_401(central: Central, token: bytes) -> None:
    body = gzip.compress(json.dumps(_batch(["r1"])).encode())
    # Raw UTF-8 bytes in the header, written by hand: HTTP clients refuse to send them.
    reader, writer = await asyncio.open_connection("127.0.0.1", central.http_port)
    stamp = str(int(time.time()))
    head = (
        b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + b"\r\n"
        b"Content-Encoding: gzip\r\nX-Park-Timestamp: " + stamp.encode() + b"\r\n"
        b"X-Park-Signature: " + sign(SECRET, stamp, body).encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    writer.write(head + body)
    await writer.drain()
    reply = await reader.read()
    writer.close()
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 401"), status_line
    assert b'"field": "Authorization"' in reply
    assert await _nothing_stored(central)


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    "make",
    [
        lambda now: now.translate(_FULL_WIDTH),  # int() takes these; the signature's ASCII encode did not
        lambda now: now.translate(_ARABIC_INDIC),
        lambda _now: "1" + "0" * 400,  # overflows a float
        lambda now: f"-{now}",
        lambda now: f"{now}.5",
    ],
    ids=["full-width", "arabic-indic", "1e400", "negative", "fraction"],
)
async def test_odd_timestamps_are_401(central: Central, make: Any) -> None:
    stamp = make(str(int(time.time())))
    body = gzip.compress(json.dumps(_batch(["r1"])).encode())
    status, doc = await _raw_post(central, body, stamp=stamp)
    assert (status, doc["field"]) == (401, "X-Park-Timestamp")
    assert await _nothing_stored(central)


async def test_deep_json_is_400(central: Central) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    status, doc = await _raw_post(central, gzip.compress(deep))
    assert (status, doc["field"]) == (400, "body")
    # Deep but parseable data inside a record: refused by name, before storing.
    inner: Any = {"v": 1}
    for _ in range(100):
        inner = {"x": inner}
    batch = _batch(["r1"])
    batch["records"][0]["data"] = inner
    status, doc = await _raw_post(central, gzip.compress(json.dumps(batch).encode()))
    assert (status, doc["field"]) == (400, "records[0].data")
    assert await _nothing_stored(central)


async def test_id_with_trailing_newline_is_400(central: Central) -> None:
    status, doc = await _raw_post(central, gzip.compress(json.dumps(_batch(["r1\n"])).encode()))
    assert (status, doc["field"]) == (400, "records[0].id")
    batch = _batch(["r1"])
    batch["park_id"] = "zhifeng\n"
    status, doc = await _raw_post(central, gzip.compress(json.dumps(batch).encode()))
    assert (status, doc["field"]) == (400, "park_id")
    assert await _nothing_stored(central)


async def test_gzip_without_crc_trailer_is_400(central: Central) -> None:
    whole = gzip.compress(json.dumps(_batch(["r1"])).encode())
    status, doc = await _raw_post(central, whole[:-8])  # CRC32 and ISIZE cut off
    assert (status, doc["field"]) == (400, "body")
    status, doc = await _raw_post(central, whole + b"junk")
    assert (status, doc["field"]) == (400, "body")
    assert await _nothing_stored(central)


@pytest.mark.parametrize("limit", ["-1", "0", "10001", "１", "abc"])
async def test_records_limit_out_of_range_is_400(central: Central, limit: str) -> None:
    status, _ = await _raw_post(central, gzip.compress(json.dumps(_batch(["r1", "r2"])).encode()))
    assert status == 200
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            central.url + "/api/v1/records",
            params={"limit": limit},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["field"] == "limit"


async def test_bad_records_are_all_named_in_the_400(central: Central) -> None:
    batch = _batch(["r1", "r2", "r3", "r4"])
    batch["records"][1]["kind"] = "gossip"
    batch["records"][3]["data"] = "not an object"
    status, doc = await _raw_post(central, gzip.compress(json.dumps(batch).encode()))
    assert status == 400
    assert doc["field"] == "records[1].kind"
    assert [(r["index"], r["id"], r["field"]) for r in doc["rejected"]] == [
        (1, "r2", "records[1].kind"),
        (3, "r4", "records[3].data"),
    ]
    assert await _nothing_stored(central)
