"""The reference central's ingest API over real HTTP: auth, HMAC, replay window, validation, dedup."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import aiohttp

from central.ingest import sign
from central.server import Central

from .conftest import SECRET, TOKEN


def _batch(ids: list[str], batch_id: str = "b-1") -> dict[str, Any]:
    return {
        "park_id": "zhifeng",
        "batch_id": batch_id,
        "records": [
            {
                "id": i,
                "kind": "telemetry",
                "ts": "2025-05-01T00:00:00+00:00",
                "data": {"entity_id": "sensor.x"},
            }
            for i in ids
        ],
    }


async def _post(
    central: Central,
    doc: Any,
    *,
    token: str = TOKEN,
    secret: str = SECRET,
    ts: int | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = body if body is not None else gzip.compress(json.dumps(doc).encode())
    stamp = str(int(time.time()) if ts is None else ts)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Park-Timestamp": stamp,
        "X-Park-Signature": sign(secret, stamp, raw),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(central.url + "/api/v1/ingest", data=raw, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_accepts_signed_batch_and_dedups_by_record_id(central: Central) -> None:
    status, doc = await _post(central, _batch(["r1", "r2"], "b-1"))
    assert status == 200
    assert doc["accepted"] == 2
    assert sorted(doc["acked"]) == ["r1", "r2"]
    # A different batch repeating r2: acked again, stored once.
    status, doc = await _post(central, _batch(["r2", "r3"], "b-2"))
    assert (status, doc["accepted"], doc["duplicates"]) == (200, 1, 1)
    assert sorted(await central.storage.record_ids()) == ["r1", "r2", "r3"]


async def test_same_idempotency_key_replays_first_answer(central: Central) -> None:
    first = await _post(central, _batch(["r1"], "b-same"))
    second = await _post(central, _batch(["r1"], "b-same"))
    assert first[0] == second[0] == 200
    assert second[1]["replayed"] is True
    assert second[1]["acked"] == ["r1"]
    summary = await central.storage.summary()
    assert summary["batches"] == 1
    assert summary["batches_replayed"] == 1


async def test_wrong_token_rejected(central: Central) -> None:
    status, doc = await _post(central, _batch(["r1"]), token="wrong")
    assert status == 401
    assert doc["field"] == "Authorization"
    assert await central.storage.record_ids() == []


async def test_wrong_hmac_rejected(central: Central) -> None:
    status, doc = await _post(central, _batch(["r1"]), secret="another-secret-of-some-length")
    assert status == 401
    assert doc["field"] == "X-Park-Signature"
    assert await central.storage.record_ids() == []


async def test_tampered_body_rejected(central: Central) -> None:
    raw = gzip.compress(json.dumps(_batch(["r1"])).encode())
    stamp = str(int(time.time()))
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Encoding": "gzip",
        "X-Park-Timestamp": stamp,
        "X-Park-Signature": sign(SECRET, stamp, raw),
    }
    tampered = gzip.compress(json.dumps(_batch(["evil"])).encode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(central.url + "/api/v1/ingest", data=tampered, headers=headers) as resp,
    ):
        assert resp.status == 401
    assert await central.storage.record_ids() == []


async def test_replayed_old_timestamp_rejected(central: Central) -> None:
    # A correctly signed request captured ten minutes ago must not be accepted again.
    status, doc = await _post(central, _batch(["r1"]), ts=int(time.time()) - 600)
    assert status == 401
    assert doc["field"] == "X-Park-Timestamp"
    status, _ = await _post(central, _batch(["r1"]), ts=int(time.time()) + 600)
    assert status == 401
    summary = await central.storage.summary()
    assert summary["rejected"]["timestamp"] == 2
    assert summary["records"]["total"] == 0


async def test_bad_record_named_and_nothing_stored(central: Central) -> None:
    doc = _batch(["r1", "r2"])
    doc["records"][1]["kind"] = "gossip"
    status, answer = await _post(central, doc)
    assert status == 400
    assert answer["field"] == "records[1].kind"
    assert await central.storage.record_ids() == []


async def test_bad_gzip_rejected(central: Central) -> None:
    status, answer = await _post(central, None, body=b"not gzip at all")
    assert status == 400
    assert answer["field"] == "body"


async def test_summary_endpoint(central: Central) -> None:
    await _post(central, _batch(["r1", "r2"]))
    async with aiohttp.ClientSession() as session, session.get(central.url + "/api/v1/summary") as resp:
        doc = await resp.json()
    assert doc["records"]["total"] == 2
    assert doc["records"]["by_kind"] == {"telemetry": 2}
