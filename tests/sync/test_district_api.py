"""The district view of a real central over HTTP, fed by signed ingest batches of several parks."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

from central.district import month_window
from central.ingest import sign
from central.server import Central

from .conftest import SECRET, TOKEN
from .test_central_contract import central_url  # noqa: F401 - the fixture: a real `python -m central`

SPEC = Path(__file__).parents[2] / "docs" / "central-api.openapi.yaml"
HOSTILE = "<script>alert(1)</script>"
PHONE = "13800138000"
_ids = itertools.count(1)
PREV, THIS = month_window(datetime.now(UTC), 2)


def at(month: str, day: int, hour: int = 4) -> str:
    """A UTC time well inside ``month`` in China time too (04:00 UTC is noon in China)."""
    return f"{month}-{day:02d}T{hour:02d}:00:00+00:00"


def rec(kind: str, ts: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"r{next(_ids)}", "kind": kind, "ts": ts, "data": data}


def incident(iid: str, updated: str, **fields: Any) -> dict[str, Any]:
    data = {"id": iid, "kind": "fire", "opened_at": at(THIS, 1), "updated_at": updated, "closed_at": None}
    return rec("incident", updated, {**data, **fields})


def rollcall(asked: int, on_way: float | None, arrival: float | None) -> dict[str, Any]:
    return {"rollcall": {"asked": asked, "first_on_my_way_s": on_way, "first_arrival_s": arrival}}


def meter(entity: str, ts: str, state: str, unit: str = "kWh", cls: str = "energy") -> dict[str, Any]:
    attributes = {"unit_of_measurement": unit, "device_class": cls, "state_class": "total_increasing"}
    return rec("telemetry", ts, {"entity_id": entity, "state": state, "attributes": attributes})


def enterprise(eid: str, updated: str, figures: list[tuple[str, float]], **fields: Any) -> dict[str, Any]:
    items = [{"period": p, "output_value": v, "tax": 0.0, "revision": 1} for p, v in figures]
    return rec("enterprise", updated, {"id": eid, "figures": items, "updated_at": updated, **fields})


def health(ts: str, entities: int, unavailable: int, state: str) -> dict[str, Any]:
    share = round(unavailable / entities, 4)
    data = {"entities": entities, "unavailable": unavailable, "unavailable_share": share, "state": state}
    return rec("health", ts, data)


async def post(central: Central, park: str, records: list[dict[str, Any]]) -> None:
    body = gzip.compress(
        json.dumps({"park_id": park, "batch_id": f"b{next(_ids)}", "records": records}).encode()
    )
    stamp = str(int(time.time()))
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Park-Timestamp": stamp,
        "X-Park-Signature": sign(SECRET, stamp, body),
    }
    async with (
        aiohttp.ClientSession() as s,
        s.post(central.url + "/api/v1/ingest", data=body, headers=headers) as r,
    ):
        assert r.status == 200, await r.text()


async def feed(central: Central) -> None:
    """Three parks; alpha's records arrive out of order and over several batches, as retries deliver them."""
    closed = incident("alpha-i2", at(THIS, 2, 5), closed_at=at(THIS, 2, 5), detail=rollcall(2, 30.0, None))
    await post(central, "alpha", [closed, meter("sensor.m1", at(PREV, 5), "1000")])
    await post(
        central,
        "alpha",
        [
            incident("alpha-i2", at(THIS, 2, 4)),  # older than the close, arrives after it
            incident("alpha-i1", at(THIS, 1, 4)),
            incident("alpha-i1", at(THIS, 1, 5), detail=rollcall(3, 42.0, 180.5)),
            incident(
                "alpha-i3", at(THIS, 3), kind="gas", acknowledged_at=at(THIS, 3), detail=rollcall(3, 60, 240)
            ),
            meter("sensor.m1", at(PREV, 20), "1100"),
            meter("sensor.m1", at(THIS, 2), "1150"),
            meter("sensor.m1", at(THIS, 3), "1149.5"),
            meter("sensor.m1", at(THIS, 4), "1160"),
            meter("sensor.m2", at(THIS, 2), "5000000", unit="Wh"),
            meter("sensor.m2", at(THIS, 9), "5200000", unit="Wh"),
            meter("sensor.m3", at(THIS, 2), "500"),
            meter("sensor.m3", at(THIS, 3), "20"),
            meter("sensor.m3", at(THIS, 4), "35"),
            meter("sensor.alpha_enterprises_electricity_this_month", at(THIS, 2), "0"),
            meter("sensor.alpha_enterprises_electricity_this_month", at(THIS, 9), "999"),
            meter("sensor.w1", at(THIS, 2), "10", unit="m³", cls="water"),
            meter("sensor.w1", at(THIS, 9), "90", unit="m³", cls="water"),
        ],
    )
    await post(
        central,
        "alpha",
        [
            enterprise("e1", at(THIS, 1), [(PREV, 1_000_000.0)]),
            enterprise("e1", at(THIS, 6), [(PREV, 1_200_000.0), (THIS, 800_000.0)]),  # a correction
            enterprise("e2", at(THIS, 1), [(PREV, 300_000.0)], contact_phone=PHONE),
            health(at(THIS, 1), 100, 5, "ok"),
            health(at(THIS, 2), 100, 2, "ok"),
        ],
    )
    await post(
        central,
        "beta",
        [
            incident("beta-i1", at(THIS, 5), kind=HOSTILE, park_name=HOSTILE, detail=rollcall(1, 15.0, 95.0)),
            health(at(THIS, 5), 100, 80, "dark"),
            rec(
                "telemetry",
                at(THIS, 5),
                {
                    "entity_id": "binary_sensor.wang_wei_push_path",
                    "state": "on",
                    "attributes": {"friendly_name": "王伟 Push path"},
                },
            ),
        ],
    )
    await post(central, "gamma", [rec("telemetry", at(THIS, 5), {"entity_id": "sensor.t", "state": "21"})])


async def get(central: Central, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as s, s.get(central.url + path, headers=headers) as r:
        return r.status, dict(r.headers), await r.text()


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_every_figure_per_park(central: Central) -> None:
    await feed(central)
    status, _headers, text = await get(central, "/api/v1/district?months=2", **BEARER)
    assert status == 200
    doc = json.loads(text)
    parks = {p["park_id"]: p for p in doc["parks"]}
    assert sorted(parks) == ["alpha", "beta", "gamma"]
    alpha, beta, gamma = parks["alpha"], parks["beta"], parks["gamma"]

    assert alpha["incidents"] == {
        "open": 2,
        "acknowledged": 1,
        "by_kind": {"fire": 1, "gas": 1},
        "oldest_open_at": at(THIS, 1),
    }
    assert alpha["rollcalls"] == {
        "count": 3,
        "first_on_my_way_s": {"answered": 3, "median": 42.0, "p90": 60.0, "max": 60.0},
        "first_arrival_s": {"answered": 2, "median": 210.2, "p90": 240.0, "max": 240.0},
    }
    assert alpha["months"] == [
        {"month": PREV, "energy_kwh": 100.0, "output_value": 1_500_000.0, "enterprises_reporting": 2},
        {"month": THIS, "energy_kwh": 275.0, "output_value": 800_000.0, "enterprises_reporting": 1},
    ]
    assert alpha["devices"]["unavailable"] == 2
    assert alpha["devices"]["entities"] == 100
    assert alpha["devices"]["state"] == "ok"
    assert alpha["name"] is None

    assert beta["incidents"]["open"] == 1
    assert beta["rollcalls"]["first_arrival_s"]["median"] == 95.0
    assert beta["devices"]["state"] == "dark"
    assert beta["devices"]["unavailable"] == 80
    assert beta["name"] == HOSTILE

    assert gamma["incidents"]["open"] == 0
    assert gamma["devices"]["entities"] is None
    assert [m["energy_kwh"] for m in gamma["months"]] == [None, None]

    assert doc["totals"]["open_incidents"] == 3
    assert doc["totals"]["unavailable_entities"] == 82
    assert doc["totals"]["months"] == [
        {"month": PREV, "energy_kwh": 100.0, "output_value": 1_500_000.0},
        {"month": THIS, "energy_kwh": 275.0, "output_value": 800_000.0},
    ]
    # Numbers only: a phone, a volunteer's name in a friendly name, entity ids never leave the central here.
    for needle in (PHONE, "王伟", "wang_wei", "sensor.m1"):
        assert needle not in text


async def test_page_language_and_escaping(central: Central) -> None:
    await feed(central)
    status, headers, page = await get(central, "/district?months=2", **BEARER)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no script runs
    assert '<html lang="zh-Hans">' in page
    assert "片区总览" in page
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "<img" not in page
    assert PHONE not in page
    assert "王伟" not in page
    assert "275.0" in page
    assert "1,500,000" in page

    status, _headers, page = await get(
        central,
        "/district",
        Authorization=BEARER["Authorization"],
        **{"Accept-Language": "fr;q=1, en-GB;q=0.8, zh;q=0.5"},
    )
    assert status == 200
    assert '<html lang="en">' in page
    assert "District overview" in page
    status, _headers, page = await get(
        central, "/district?lang=zh-Hans", **BEARER, **{"Accept-Language": "en"}
    )
    assert '<html lang="zh-Hans">' in page
    status, _headers, page = await get(central, "/district?lang=en", **BEARER, **{"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page


async def test_refused_without_the_token_and_bad_parameters_name_the_field(central: Central) -> None:
    await feed(central)
    for path in ("/api/v1/district", "/district"):
        status, _headers, _text = await get(central, path)
        assert status == 401
        status, _headers, _text = await get(central, path, Authorization="Bearer wrong")
        assert status == 401
    status, headers, _text = await get(central, "/district")
    assert headers["WWW-Authenticate"].startswith("Basic ")
    basic = "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    status, _headers, page = await get(central, "/district?lang=en", Authorization=basic)
    assert (status, '<html lang="en">' in page) == (200, True)
    wrong = "Basic " + base64.b64encode(b"anyone:nope").decode()
    assert (await get(central, "/district", Authorization=wrong))[0] == 401
    # The JSON API is for programs: bearer only.
    assert (await get(central, "/api/v1/district", Authorization=basic))[0] == 401

    for path, field in (
        ("/api/v1/district?months=0", "months"),
        ("/api/v1/district?months=37", "months"),
        ("/api/v1/district?months=x", "months"),
        ("/api/v1/district?lang=en", "lang"),  # no language in JSON
        ("/district?lang=fr", "lang"),
        ("/district?park=alpha", "park"),
    ):
        status, _headers, text = await get(central, path, **BEARER)
        assert (status, json.loads(text)["field"]) == (400, field), path


@pytest.mark.parametrize("operation_id", ["district", "districtPage"])
@pytest.mark.parametrize("authorized", [True, False], ids=["token", "no-token"])
def test_district_conforms_to_openapi(central_url: str, operation_id: str, authorized: bool) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_path(SPEC)
    operation = schema.find_operation_by_id(operation_id)
    headers = {"Authorization": f"Bearer {TOKEN}"} if authorized else {}
    seen: list[int] = []

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        case=st.one_of(
            operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        )
    )
    def check(case: Case[Any]) -> None:
        response = case.call_and_validate(base_url=central_url, headers=headers, timeout=10)
        seen.append(response.status_code)

    check()
    assert seen
