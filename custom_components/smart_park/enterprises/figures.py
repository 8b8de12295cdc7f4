"""Monthly figures (output value, tax, headcount): which months may be recorded, corrections, park totals.

A later record for the same month replaces the earlier one (a new revision); the audit log keeps both, so
:func:`audit_data` names the values a correction replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.util import dt as dt_util

from ..errors import invalid
from .consumption import month_of
from .model import EnterpriseRecord, MonthlyFigures

_PERIOD_RE: Final = re.compile(r"^(\d{4})-(\d{2})$")

type FiguresByEnterprise = Mapping[str, Mapping[str, MonthlyFigures]]


def check_period(period: str, record: EnterpriseRecord) -> None:
    """A figures period is a past or current month, not before the move-in nor after the move-out month."""
    match = _PERIOD_RE.match(period)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise invalid("bad_period", period=period)
    if period > month_of(dt_util.utcnow()):
        raise invalid("period_in_future", period=period)
    for limit, key, beyond in (
        (record.move_in_date, "period_before_move_in", period.__lt__),
        (record.move_out_date, "period_after_move_out", period.__gt__),
    ):
        if limit is not None and beyond(limit.strftime("%Y-%m")):
            raise invalid(key, period=period, enterprise=record.id, date=limit.isoformat())


def next_figures(
    previous: MonthlyFigures | None, period: str, output_value: float, tax: float, employees: int | None
) -> MonthlyFigures:
    """The record of a month's figures, rounded to cents, one revision after ``previous``."""
    return MonthlyFigures(
        period=period,
        output_value=round(float(output_value), 2),
        tax=round(float(tax), 2),
        employees=employees,
        recorded_at=dt_util.utcnow(),
        revision=previous.revision + 1 if previous else 1,
    )


def audit_data(figures: MonthlyFigures, previous: MonthlyFigures | None) -> dict[str, Any]:
    """What the audit log keeps of a record, with the values a correction replaced."""
    data: dict[str, Any] = {
        "period": figures.period,
        "output_value": figures.output_value,
        "tax": figures.tax,
        "employees": figures.employees,
    }
    if previous is not None:
        data["previous"] = {
            "output_value": previous.output_value,
            "tax": previous.tax,
            "employees": previous.employees,
            "recorded_at": previous.recorded_at.isoformat(),
        }
    return data


def latest_period(figures: FiguresByEnterprise) -> str | None:
    """The latest month any enterprise has figures for."""
    periods = [max(p) for p in figures.values() if p]
    return max(periods) if periods else None


def park_totals(figures: FiguresByEnterprise) -> tuple[str | None, float | None, float | None, int]:
    """Latest month, total output value and tax of the enterprises that reported it, and how many did."""
    period = latest_period(figures)
    if period is None:
        return None, None, None, 0
    reported = [p[period] for p in figures.values() if period in p]
    return (
        period,
        round(sum(f.output_value for f in reported), 2),
        round(sum(f.tax for f in reported), 2),
        len(reported),
    )
