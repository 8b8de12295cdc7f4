"""The station's data CPs (pure formatting): 2011 real-time values and 2051/2061 window aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import hj212
from .hj212_store import Aggregate


def fmt_value(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def realtime_cp(data_time: str, latest: Mapping[str, tuple[float | None, str]]) -> str:
    """``latest``: code -> (value or None when faulty, flag)."""
    items: list[dict[str, str]] = [{"DataTime": data_time}]
    for code in sorted(latest):
        value, flag = latest[code]
        item = {f"{code}-Rtd": fmt_value(value)} if value is not None else {}
        item[f"{code}-Flag"] = flag
        items.append(item)
    return hj212.format_cp(items)


def window_cp(data_time: str, rows: Iterable[Aggregate], mapped: Iterable[str]) -> str:
    """Avg/Min/Max/Flag per code that had samples; flag B for each ``mapped`` code that had none."""
    items: list[dict[str, str]] = [{"DataTime": data_time}]
    seen: set[str] = set()
    for code, avg, lo, hi in rows:
        seen.add(code)
        items.append(
            {
                f"{code}-Avg": fmt_value(avg),
                f"{code}-Min": fmt_value(lo),
                f"{code}-Max": fmt_value(hi),
                f"{code}-Flag": "N",
            }
        )
    for code in sorted(set(mapped) - seen):
        items.append({f"{code}-Flag": "B"})  # mapped but silent during the window: communication fault
    return hj212.format_cp(items)
