"""The district view: figures across parks, computed from the records park_sync delivered (no I/O here).

Each figure comes from what the parks send today (docs/central-api.openapi.yaml, ``GET /api/v1/district``):

- open incidents: the newest record of each incident (by its ``updated_at``) says whether it is closed;
- volunteers' response times: the roll-call figures the integration puts on its incident
  (``detail.rollcall.first_on_my_way_s`` / ``first_arrival_s``, seconds from the alarm, no names);
- energy per month: the increase of each electricity counter (telemetry with device class energy and state
  class total_increasing), counted in the month of the reading that shows it, so thinned telemetry loses
  nothing; a drop of more than 10 % is a counter reset, a smaller one read jitter (the integration's rule);
  the integration's own monthly sums (``…_this_month``) are left out, they would count the meters twice;
- output value per month: the monthly figures on each enterprise's newest record;
- offline: the newest ``health`` record of each park (park_sync's count of the park's unavailable entities).

Months are calendar months in the district's time zone (China Standard Time by default). Only counts and
figures leave this module: no names, user ids or entity names (telemetry carries volunteers' names).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final

CHINA: Final = timezone(timedelta(hours=8), "CST")
DEFAULT_MONTHS: Final = 12
# A counter dropping below this share of its last reading restarted (meter replaced or rolled over).
RESET_RATIO: Final = 0.9
# The integration's per-month sums are counters too (they restart each month): not meters.
DERIVED_SUFFIX: Final = "_this_month"
KWH_PER_UNIT: Final = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
_PERIOD_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

type Records = Iterable[Mapping[str, Any]]


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (naive taken as UTC), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def month_of(value: Any, tz: tzinfo = CHINA) -> str | None:
    moment = parse_time(value)
    return moment.astimezone(tz).strftime("%Y-%m") if moment is not None else None


def month_window(now: datetime, months: int = DEFAULT_MONTHS, tz: tzinfo = CHINA) -> list[str]:
    """The last ``months`` calendar months up to ``now``'s, oldest first."""
    local = now.astimezone(tz)
    index = local.year * 12 + local.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


def readings_since(now: datetime, months: int = DEFAULT_MONTHS, tz: tzinfo = CHINA) -> str:
    """The UTC time from which counter readings are needed: the window's first month needs a reading from
    before it as the baseline, so a month earlier than the window starts."""
    first = month_window(now, months + 1, tz)[0]
    start = datetime.fromisoformat(f"{first}-01T00:00:00").replace(tzinfo=tz)
    return start.astimezone(UTC).isoformat()


def _number(value: Any) -> float | None:
    """A finite number from a JSON value or a numeric state string; None otherwise (bools too)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _data(record: Mapping[str, Any]) -> Mapping[str, Any]:
    data = record.get("data")
    return data if isinstance(data, Mapping) else {}


# --- incidents and roll-calls -------------------------------------------------------------------------------


def incidents(latest: Records) -> dict[str, dict[str, Any]]:
    """Per park: open incidents (acknowledged ones are still open), how many of them acknowledged, open per
    kind, and when the oldest open one opened. ``latest``: the newest record of each incident."""
    out: dict[str, dict[str, Any]] = {}
    for record in latest:
        park = str(record.get("park_id"))
        entry = out.setdefault(park, {"open": 0, "acknowledged": 0, "by_kind": {}, "oldest_open_at": None})
        data = _data(record)
        if "id" not in data or data.get("closed_at") or data.get("state") == "closed":
            continue
        entry["open"] += 1
        if data.get("acknowledged_at") or data.get("state") == "acknowledged":
            entry["acknowledged"] += 1
        kind = str(data.get("kind") or "unknown")
        entry["by_kind"][kind] = entry["by_kind"].get(kind, 0) + 1
        opened = parse_time(data.get("opened_at"))
        oldest = parse_time(entry["oldest_open_at"])
        if opened is not None and (oldest is None or opened < oldest):
            entry["oldest_open_at"] = opened.isoformat()
    return out


def stats(values: list[float]) -> dict[str, Any]:
    """How many, median, 90th percentile (nearest rank) and maximum, in seconds rounded to 0.1."""
    if not values:
        return {"answered": 0, "median": None, "p90": None, "max": None}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "answered": len(ordered),
        "median": round(statistics.median(ordered), 1),
        "p90": round(p90, 1),
        "max": round(ordered[-1], 1),
    }


def response_times(latest: Records) -> dict[str, dict[str, Any]]:
    """Per park: roll-calls (incidents that asked at least one volunteer) and the time from the alarm to the
    first "on my way" and to the first arrival over them."""
    count: dict[str, int] = defaultdict(int)
    on_way: dict[str, list[float]] = defaultdict(list)
    arrival: dict[str, list[float]] = defaultdict(list)
    for record in latest:
        park = str(record.get("park_id"))
        detail = _data(record).get("detail")
        rollcall = detail.get("rollcall") if isinstance(detail, Mapping) else None
        if not isinstance(rollcall, Mapping) or not (_number(rollcall.get("asked")) or 0) > 0:
            continue
        count[park] += 1
        for key, into in (("first_on_my_way_s", on_way), ("first_arrival_s", arrival)):
            seconds = _number(rollcall.get(key))
            if seconds is not None and seconds >= 0:
                into[park].append(seconds)
    return {
        park: {
            "count": count[park],
            "first_on_my_way_s": stats(on_way[park]),
            "first_arrival_s": stats(arrival[park]),
        }
        for park in count
    }


# --- energy and output value --------------------------------------------------------------------------------


def energy_by_month(readings: Records, tz: tzinfo = CHINA) -> dict[str, dict[str, float]]:
    """kWh per park per month from electricity counter readings in (park, entity, ts) order."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    series: tuple[Any, Any] | None = None
    base: float | None = None
    for reading in readings:
        entity = reading.get("entity_id")
        if (reading.get("park_id"), entity) != series:
            series, base = (reading.get("park_id"), entity), None
        per_unit = KWH_PER_UNIT.get(str(reading.get("unit")))
        value = _number(reading.get("state"))
        month = month_of(reading.get("ts"), tz)
        if str(entity).endswith(DERIVED_SUFFIX) or per_unit is None or value is None or month is None:
            continue
        value *= per_unit
        if base is not None and value >= base:
            out[str(reading.get("park_id"))][month] += value - base
        if base is None or value >= base or value < RESET_RATIO * base:
            base = value  # a small drop is jitter: the baseline stays
    return {park: dict(months) for park, months in out.items()}


def output_by_month(latest: Records) -> dict[str, dict[str, tuple[float, int]]]:
    """Per park per month (``YYYY-MM``): the enterprises' output value (CNY) and how many reported it.
    ``latest``: the newest record of each enterprise (each carries all its monthly figures)."""
    out: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
    for record in latest:
        park = str(record.get("park_id"))
        figures = _data(record).get("figures")
        seen: set[str] = set()
        for figure in figures if isinstance(figures, list) else []:
            if not isinstance(figure, Mapping):
                continue
            period, value = figure.get("period"), _number(figure.get("output_value"))
            if not isinstance(period, str) or _PERIOD_RE.fullmatch(period) is None or value is None:
                continue
            if period in seen:
                continue  # one figure per enterprise and month (the integration keeps the newest revision)
            seen.add(period)
            total, reported = out[park].get(period, (0.0, 0))
            out[park][period] = (total + value, reported + 1)
    return dict(out)


# --- offline ------------------------------------------------------------------------------------------------


def offline(latest_health: Records, now: datetime) -> dict[str, dict[str, Any]]:
    """Per park: park_sync's newest health figures and how old they are."""
    out: dict[str, dict[str, Any]] = {}
    for record in latest_health:
        data, at = _data(record), parse_time(record.get("ts"))
        entities, unavailable = _number(data.get("entities")), _number(data.get("unavailable"))
        share = _number(data.get("unavailable_share"))
        state = data.get("state")
        out[str(record.get("park_id"))] = {
            "entities": int(entities) if entities is not None else None,
            "unavailable": int(unavailable) if unavailable is not None else None,
            "unavailable_share": share,
            "state": state if state in ("ok", "dark", "unknown") else None,
            "reported_at": at.isoformat() if at else None,
            "age_s": round((now - at).total_seconds(), 1) if at else None,
        }
    return out


# --- the whole view -----------------------------------------------------------------------------------------


def _park_name(*groups: Records) -> dict[str, str]:
    """A park's display name when its records carry one (``park_name``; not sent by the integration yet)."""
    names: dict[str, str] = {}
    for group in groups:
        for record in group:
            name = _data(record).get("park_name")
            if isinstance(name, str) and name.strip():
                names[str(record.get("park_id"))] = name.strip()[:200]
    return names


def district(
    *,
    park_ids: Iterable[str],
    latest_incidents: Sequence[Mapping[str, Any]],
    latest_enterprises: Sequence[Mapping[str, Any]],
    latest_health: Sequence[Mapping[str, Any]],
    energy_readings: Records,
    now: datetime,
    months: int = DEFAULT_MONTHS,
    tz: tzinfo = CHINA,
) -> dict[str, Any]:
    """The district document ``GET /api/v1/district`` answers (schema in docs/central-api.openapi.yaml)."""
    window = month_window(now, months, tz)
    open_ = incidents(latest_incidents)
    times = response_times(latest_incidents)
    energy = energy_by_month(energy_readings, tz)
    output = output_by_month(latest_enterprises)
    health = offline(latest_health, now)
    names = _park_name(latest_incidents, latest_enterprises, latest_health)
    parks = sorted({*park_ids, *open_, *times, *energy, *output, *health})
    no_times = {"count": 0, "first_on_my_way_s": stats([]), "first_arrival_s": stats([])}
    no_health = dict.fromkeys(
        ("entities", "unavailable", "unavailable_share", "state", "reported_at", "age_s")
    )
    rows = []
    for park in parks:
        park_months = []
        for month in window:
            value, reported = output.get(park, {}).get(month, (None, 0))
            kwh = energy.get(park, {}).get(month)
            park_months.append(
                {
                    "month": month,
                    "energy_kwh": round(kwh, 2) if kwh is not None else None,
                    "output_value": round(value, 2) if value is not None else None,
                    "enterprises_reporting": reported,
                }
            )
        rows.append(
            {
                "park_id": park,
                "name": names.get(park),
                "incidents": open_.get(
                    park, {"open": 0, "acknowledged": 0, "by_kind": {}, "oldest_open_at": None}
                ),
                "rollcalls": times.get(park, no_times),
                "devices": health.get(park, no_health),
                "months": park_months,
            }
        )
    return {
        "generated_at": now.isoformat(),
        "timezone": _tz_name(tz, now),
        "parks": rows,
        "totals": _totals(rows, window),
    }


def _tz_name(tz: tzinfo, now: datetime) -> str:
    offset = now.astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _totals(rows: list[dict[str, Any]], window: list[str]) -> dict[str, Any]:
    def total(key: str, index: int) -> float | None:
        values = [row["months"][index][key] for row in rows if row["months"][index][key] is not None]
        return round(sum(values), 2) if values else None

    return {
        "parks": len(rows),
        "open_incidents": sum(row["incidents"]["open"] for row in rows),
        "unavailable_entities": sum(row["devices"]["unavailable"] or 0 for row in rows),
        "months": [
            {"month": month, "energy_kwh": total("energy_kwh", i), "output_value": total("output_value", i)}
            for i, month in enumerate(window)
        ],
    }
