"""The district view over HTTP: ``GET /api/v1/district`` (JSON) and ``GET /district`` (a plain page, no JS).

Both read with the central's bearer token, like ``/api/v1/records``. The page also takes HTTP Basic with the
token as the password, so a browser can open it (it asks; the token never goes into a URL). The page is in
Simplified Chinese or English: ``?lang=zh-Hans|en``, else the browser's Accept-Language, else Chinese.
Every value is escaped; only counts and figures are shown (central/district.py).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from datetime import UTC, datetime
from html import escape
from typing import Any, Final, Protocol, runtime_checkable

from aiohttp import web

from .district import DEFAULT_MONTHS, district, readings_since
from .ingest import API_PREFIX, SETTINGS_KEY, STORAGE_KEY

MAX_MONTHS: Final = 36
LANGS: Final = ("zh-Hans", "en")
_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

TEXT: Final[dict[str, dict[str, str]]] = {
    "zh-Hans": {
        "title": "片区总览",
        "generated": "生成时间",
        "tz": "时区",
        "parks": "园区",
        "park": "园区",
        "open": "未关闭事件",
        "acknowledged": "其中已确认",
        "by_kind": "按类型",
        "rollcalls": "点名次数",
        "on_way": "首位出发用时（中位/P90，秒）",
        "arrival": "首位到场用时（中位/P90，秒）",
        "unavailable": "离线实体/总数",
        "health": "状态",
        "reported": "上报时间（UTC）",
        "energy": "用电量（kWh）",
        "output": "产值（元）",
        "total": "合计",
        "none": "暂无园区上报数据。",
        "fire": "火警",
        "one_key": "一键报警",
        "gas": "燃气",
        "ok": "正常",
        "dark": "大面积离线",
        "unknown": "未知",
        "note": "离线按实体计（park_sync 的 health 记录）；用电量由电表累计值的增量计算。",
    },
    "en": {
        "title": "District overview",
        "generated": "Generated",
        "tz": "Time zone",
        "parks": "Parks",
        "park": "Park",
        "open": "Open incidents",
        "acknowledged": "of which acknowledged",
        "by_kind": "By kind",
        "rollcalls": "Roll-calls",
        "on_way": "First on the way (median/p90, s)",
        "arrival": "First arrival (median/p90, s)",
        "unavailable": "Entities offline/total",
        "health": "State",
        "reported": "Reported (UTC)",
        "energy": "Electricity (kWh)",
        "output": "Output value (CNY)",
        "total": "Total",
        "none": "No park has reported yet.",
        "fire": "fire",
        "one_key": "one-key alarm",
        "gas": "gas",
        "ok": "ok",
        "dark": "dark",
        "unknown": "unknown",
        "note": (
            "Offline counts entities (park_sync's health records); electricity is the increase of the"
            " meters' counters."
        ),
    },
}


@runtime_checkable
class DistrictStore(Protocol):
    """The reads the view needs (storage.Storage; storage_pg.PgStorage mirrors them)."""

    async def park_ids(self) -> list[str]: ...
    async def latest_records(
        self, kind: str, key: str | None = "id", order: str | None = "updated_at"
    ) -> list[dict[str, Any]]: ...
    async def counter_readings(self, device_class: str, since: str) -> list[dict[str, Any]]: ...


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/district", district_json)
    app.router.add_get("/district", district_page)


def _authorized(request: web.Request, basic: bool) -> bool:
    token = request.app[SETTINGS_KEY].token.encode()
    header = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if hmac.compare_digest(header, b"Bearer " + token):
        return True
    if not basic or not header.startswith(b"Basic "):
        return False
    try:
        _user, _sep, password = base64.b64decode(header[6:], validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(password, token)


def _error(status: int, field: str, message: str) -> web.Response:
    return web.json_response({"error": message, "field": field}, status=status)


def _months(request: web.Request, allowed: set[str]) -> int | web.Response:
    """The ``months`` query parameter, or the 400 naming the bad parameter."""
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        return _error(400, unknown[0][:64], "unknown query parameter")
    raw = request.query.get("months", str(DEFAULT_MONTHS))
    if not re.fullmatch(r"[0-9]{1,2}", raw) or not 1 <= int(raw) <= MAX_MONTHS:
        return _error(400, "months", f"must be an integer 1-{MAX_MONTHS}")
    return int(raw)


async def build(request: web.Request, months: int) -> dict[str, Any]:
    """Read what the view needs through the store's public methods and aggregate it."""
    storage = request.app[STORAGE_KEY]
    if not isinstance(storage, DistrictStore):
        raise web.HTTPNotImplemented(text="this store has no district reads")
    now = datetime.now(UTC)
    return district(
        park_ids=await storage.park_ids(),
        latest_incidents=await storage.latest_records("incident"),
        latest_enterprises=await storage.latest_records("enterprise"),
        latest_health=await storage.latest_records("health", key=None, order=None),
        energy_readings=await storage.counter_readings("energy", readings_since(now, months)),
        now=now,
        months=months,
    )


async def district_json(request: web.Request) -> web.Response:
    if not _authorized(request, basic=False):
        return _error(401, "Authorization", "missing or wrong bearer token")
    months = _months(request, {"months"})
    if isinstance(months, web.Response):
        return months
    return web.json_response(await build(request, months))


def language(request: web.Request) -> str | None:
    """``?lang=`` when given (None when it is not one we have), else the best of Accept-Language."""
    if "lang" in request.query:
        wanted = request.query["lang"]
        return wanted if wanted in LANGS else None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        match = re.fullmatch(r"\s*q=([0-9.]{1,5})\s*", params)
        if match:
            try:
                quality = float(match[1])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower()
        lang = "zh-Hans" if code.startswith("zh") else "en" if code.startswith("en") else None
        if lang and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else LANGS[0]


async def district_page(request: web.Request) -> web.Response:
    if not _authorized(request, basic=True):
        return web.Response(
            status=401,
            text="401: missing or wrong token (Bearer, or Basic with the token as password)\n",
            headers={**_HEADERS, "WWW-Authenticate": 'Basic realm="district", charset="UTF-8"'},
        )
    months = _months(request, {"months", "lang"})
    if isinstance(months, web.Response):
        return months
    lang = language(request)
    if lang is None:
        return _error(400, "lang", f"must be one of {list(LANGS)}")
    doc = await build(request, months)
    return web.Response(
        text=render(doc, lang, months), content_type="text/html", charset="utf-8", headers=_HEADERS
    )


# --- the page ----------------------------------------------------------------------------------------------


def _num(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _td(value: Any, cls: str = "") -> str:
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<td{attr}>{escape(str(value))}</td>"


def _pair(stats: dict[str, Any]) -> str:
    return f"{_num(stats['median'])} / {_num(stats['p90'])}"


def _park_cells(park: dict[str, Any], text: dict[str, str]) -> str:
    name = park["name"] or park["park_id"]
    label = f"{escape(name)}<br><small>{escape(park['park_id'])}</small>" if park["name"] else escape(name)
    incidents, rollcalls, devices = park["incidents"], park["rollcalls"], park["devices"]
    kinds = ", ".join(f"{text.get(k, k)} {n}" for k, n in sorted(incidents["by_kind"].items()))
    offline = f"{_num(devices['unavailable'], 0)} / {_num(devices['entities'], 0)}"
    state = devices["state"]
    return "".join(
        [
            f"<th scope=row>{label}</th>",
            _td(incidents["open"], "alarm" if incidents["open"] else ""),
            _td(incidents["acknowledged"]),
            _td(kinds or "—"),
            _td(rollcalls["count"]),
            _td(_pair(rollcalls["first_on_my_way_s"])),
            _td(_pair(rollcalls["first_arrival_s"])),
            _td(offline, "alarm" if state == "dark" else ""),
            _td(text.get(state, "—") if state else "—"),
            _td((devices["reported_at"] or "—")[:19].replace("T", " ")),
        ]
    )


def _month_table(doc: dict[str, Any], key: str, title: str, text: dict[str, str], digits: int) -> str:
    months = [m["month"] for m in doc["totals"]["months"]]
    head = "".join(f"<th scope=col>{escape(m)}</th>" for m in months)
    rows = [
        f"<tr><th scope=row>{escape(p['name'] or p['park_id'])}</th>"
        + "".join(_td(_num(m[key], digits)) for m in p["months"])
        + "</tr>"
        for p in doc["parks"]
    ]
    total = "".join(_td(_num(m[key], digits)) for m in doc["totals"]["months"])
    return (
        f"<h2>{escape(title)}</h2><table><thead><tr><th scope=col>{escape(text['park'])}</th>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody><tfoot><tr><th scope=row>{escape(text['total'])}</th>"
        f"{total}</tr></tfoot></table>"
    )


_STYLE: Final = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #bbb;padding:.25em .5em;text-align:right}th[scope=row]{text-align:left}"
    ".alarm{background:#fdd;font-weight:bold}nav a{margin-right:1em}small{color:#666}"
)


def render(doc: dict[str, Any], lang: str, months: int) -> str:
    """The page: the parks' table, then electricity and output value per park and month."""
    text = TEXT[lang]
    columns = ("park", "open", "acknowledged", "by_kind", "rollcalls", "on_way", "arrival")
    head = "".join(
        f"<th scope=col>{escape(text[c])}</th>" for c in (*columns, "unavailable", "health", "reported")
    )
    rows = "".join(f"<tr>{_park_cells(park, text)}</tr>" for park in doc["parks"])
    nav = "".join(
        f'<a href="?lang={escape(code)}&amp;months={months}" hreflang="{escape(code)}">{escape(name)}</a>'
        for code, name in (("zh-Hans", "中文"), ("en", "English"))
    )
    body = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        + _month_table(doc, "energy_kwh", text["energy"], text, 1)
        + _month_table(doc, "output_value", text["output"], text, 0)
        if doc["parks"]
        else f"<p>{escape(text['none'])}</p>"
    )
    totals = doc["totals"]
    return (
        f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(text['title'])}</title><style>{_STYLE}</style></head><body><nav>{nav}</nav>"
        f"<h1>{escape(text['title'])}</h1><p>{escape(text['generated'])}: {escape(doc['generated_at'][:19])}"
        f" UTC · {escape(text['tz'])}: {escape(doc['timezone'])} · {escape(text['parks'])}: {totals['parks']}"
        f" · {escape(text['open'])}: {totals['open_incidents']}</p>{body}"
        f"<p><small>{escape(text['note'])}</small></p></body></html>"
    )
