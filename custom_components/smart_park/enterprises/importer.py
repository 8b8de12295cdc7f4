"""Enterprise import: every row validated against the registry and the park's buildings, all or nothing.

Pure (no Home Assistant), so that the options flow, the import action and the tests share one validator.

:func:`plan_import` either returns what would change or raises :class:`EnterpriseImportError` listing every
problem, each with its row and the column as the file names it. A row updates the enterprise with its id and
only touches the columns the file has; an empty cell clears that field. Enterprises missing from the file are
left alone.

Messages never quote personal data (USCC, contact, phone): the HA layer's errors are logged. A bad date or
number is quoted only when it looks like one; anything else is named by its position.

Cells a spreadsheet would run as a formula (text starting with = + - @) are refused on import and escaped
with a leading ' on export (OWASP's CSV injection rule).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

from ..engine import uscc
from ..engine.profile import Building
from .documents import read_rows
from .model import (
    COLUMNS,
    FORMULA_PREFIXES,
    EnterpriseImportError,
    EnterpriseRecord,
    EnterpriseStatus,
    ImportIssue,
    ImportPlan,
    RawRow,
)

STATUS_ALIASES: Final[dict[str, EnterpriseStatus]] = {
    "active": EnterpriseStatus.ACTIVE,
    "在园": EnterpriseStatus.ACTIVE,
    "入驻": EnterpriseStatus.ACTIVE,
    "在驻": EnterpriseStatus.ACTIVE,
    "moved_out": EnterpriseStatus.MOVED_OUT,
    "moved out": EnterpriseStatus.MOVED_OUT,
    "迁出": EnterpriseStatus.MOVED_OUT,
    "已迁出": EnterpriseStatus.MOVED_OUT,
    "退园": EnterpriseStatus.MOVED_OUT,
}

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_INDUSTRY_RE = re.compile(r"^(?:[A-T](?:\d{2,4})?|\d{2,4})$")
_EXCEL_NUMBER_RE = re.compile(r"^\d(?:\.\d+)?E\+?\d+$", re.IGNORECASE)
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$")
_SERVICE_RE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_FLOOR_RE = re.compile(r"^(-?\d+)\s*(?:F|层|楼)?$", re.IGNORECASE)
_BASEMENT_RE = re.compile(r"^B(\d+)$", re.IGNORECASE)
MAX_EMPLOYEES: Final = 1_000_000
_TEXT_LIMITS: Final = {"name": 100, "unit": 32, "contact_name": 50}
# Bad values quoted back only when they look like what the column expects; anything else is "…".
_SHOWN_NUMBER_RE = re.compile(r"^[\d\s.,+\-eE]{1,20}$")
_SHOWN_DATE_RE = re.compile(r"^[\d\s./\-年月日]{1,20}$")
# A building (1号楼, B2) or a status word: short, letters and digits.
_SHOWN_WORD_RE = re.compile(r"^[\w\-.#]{1,20}$")


def _shown(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` if it may appear in a message (short, shaped like the field's values), else an ellipsis."""
    return text if pattern.match(text) else "…"


class _Bad(Exception):
    """A field value is invalid: the issue code and its placeholders."""

    def __init__(self, code: str, **placeholders: Any) -> None:
        super().__init__(code)
        self.code = code
        self.placeholders = {k: str(v) for k, v in placeholders.items()}


def _text(value: Any) -> str:
    """A cell as text: trimmed (including full-width spaces), Excel's ="..." text guard removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip()
    return text


def _parse_id(text: str) -> str:
    if len(text) > 64 or not _ID_RE.match(text):
        raise _Bad("bad_id")
    return text


def _parse_uscc(text: str) -> str:
    if _EXCEL_NUMBER_RE.match(text):
        raise _Bad("excel_number")
    try:
        return uscc.validate(text)
    except uscc.UsccError as err:
        raise _Bad(f"uscc_{err.code}", **err.placeholders) from err


def _parse_industry(text: str) -> str:
    code = text.upper().replace(" ", "")
    if not _INDUSTRY_RE.match(code):
        raise _Bad("bad_industry")
    return code


def _parse_phone(text: str) -> str:
    if _EXCEL_NUMBER_RE.match(text):
        raise _Bad("excel_number")
    compact = re.sub(r"[\s()（）]", "", text)
    compact = re.sub(r"^(?:\+86|0086)-?", "", compact)
    if _MOBILE_RE.match(compact.replace("-", "")):
        return compact.replace("-", "")
    if _LANDLINE_RE.match(compact) or _SERVICE_RE.match(compact):
        return compact
    raise _Bad("bad_phone")


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    match = _DATE_RE.match(text) or (
        re.match(r"^(\d{4})(\d{2})(\d{2})$", text) if text.isdigit() and len(text) == 8 else None
    )
    try:
        if match is None:
            raise ValueError(text)
        parsed = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as err:
        raise _Bad("bad_date", value=_shown(text, _SHOWN_DATE_RE)) from err
    if parsed.year < 1900:
        raise _Bad("bad_date", value=_shown(text, _SHOWN_DATE_RE))
    return parsed


def _parse_int(value: Any, lowest: int, highest: int) -> int:
    text = _text(value)
    try:
        if isinstance(value, bool):
            raise TypeError(text)
        number = float(text.replace(",", "")) if not isinstance(value, int) else value
        if not float(number).is_integer():
            raise ValueError(text)
        result = int(number)
    except (TypeError, ValueError) as err:
        raise _Bad("bad_number", value=_shown(text, _SHOWN_NUMBER_RE), min=lowest, max=highest) from err
    if not lowest <= result <= highest:
        raise _Bad("bad_number", value=_shown(text, _SHOWN_NUMBER_RE), min=lowest, max=highest)
    return result


def _parse_floor(value: Any) -> int:
    text = _text(value)
    if match := _BASEMENT_RE.match(text):
        return -int(match[1])
    if isinstance(value, str) and (match := _FLOOR_RE.match(text)):
        text = match[1]
    return _parse_int(text if isinstance(value, str) else value, -10, 120)


def _parse_status(text: str) -> EnterpriseStatus:
    status = STATUS_ALIASES.get(text.strip().lower())
    if status is None:
        raise _Bad("bad_status", value=_shown(text, _SHOWN_WORD_RE))
    return status


def _resolve_building(text: str, buildings: Mapping[str, Building]) -> str:
    """A building by id, or by the name the spreadsheet uses for it (1号楼)."""
    if text in buildings:
        return text
    for building in buildings.values():
        if building.name == text:
            return building.id
    raise _Bad("unknown_building", building=_shown(text, _SHOWN_WORD_RE))


def _parse_field(name: str, value: Any, buildings: Mapping[str, Building]) -> Any:
    """The typed value of one non-empty field."""
    if name in ("move_in_date", "move_out_date"):
        return _parse_date(value)
    if name == "floor":
        return _parse_floor(value)
    if name == "employees":
        return _parse_int(value, 0, MAX_EMPLOYEES)
    text = _text(value)
    if name == "id":
        return _parse_id(text)
    if name == "uscc":
        return _parse_uscc(text)
    if name == "industry":
        return _parse_industry(text)
    if name == "contact_phone":
        return _parse_phone(text)
    if name == "status":
        return _parse_status(text)
    if name == "building":
        return _resolve_building(text, buildings)
    if len(text) > _TEXT_LIMITS.get(name, 100):
        raise _Bad("too_long", max=_TEXT_LIMITS.get(name, 100))
    # A lone "-" (a spreadsheet's "none") is text to Excel too; "=cmd|..." or "@SUM(...)" is not a name.
    if len(text) > 1 and text.startswith(FORMULA_PREFIXES):
        raise _Bad("formula", char=text[0])
    return text


def _is_blank(value: Any) -> bool:
    return value is None or (not isinstance(value, (int, float, date)) and _text(value) == "")


class _RowIssues:
    """Issues of one row, each naming the field's column as the file spells it."""

    def __init__(self, row: RawRow) -> None:
        self.row = row
        self.issues: list[ImportIssue] = []

    def add(self, name: str | None, code: str, **placeholders: Any) -> None:
        column = self.row.columns.get(name, name) if name else None
        self.issues.append(
            ImportIssue(self.row.row, column, code, {k: str(v) for k, v in placeholders.items()})
        )


def validate_row(
    row: RawRow, existing: Mapping[str, EnterpriseRecord], buildings: Mapping[str, Building]
) -> tuple[EnterpriseRecord | None, list[ImportIssue]]:
    """The record a row results in (merged over the registered one with its id), or its issues."""
    out = _RowIssues(row)
    parsed = _parse_row_fields(row, buildings, out)
    if "id" not in row.values:
        out.add("id", "required")
    enterprise_id = parsed.get("id")
    if enterprise_id is None:
        return None, out.issues
    base = existing.get(enterprise_id)
    if base is None and "name" not in row.values:
        out.add("name", "required")
    if out.issues:
        return None, out.issues

    record = EnterpriseRecord(**parsed) if base is None else replace(base, **parsed)
    if "move_out_date" in parsed and parsed["move_out_date"] is not None and "status" not in parsed:
        # A move-out date means the enterprise left, unless the row says otherwise.
        record = replace(record, status=EnterpriseStatus.MOVED_OUT)
    _check_record(record, parsed, buildings, out)
    return (None, out.issues) if out.issues else (record, out.issues)


def _parse_row_fields(row: RawRow, buildings: Mapping[str, Building], out: _RowIssues) -> dict[str, Any]:
    """The row's cells parsed per column; a blank cell clears its field (id and name can't be cleared)."""
    parsed: dict[str, Any] = {}
    for name in COLUMNS:
        if name not in row.values:
            continue
        value = row.values[name]
        if _is_blank(value):
            if name in ("id", "name"):
                out.add(name, "required")
            elif name != "status":
                parsed[name] = None
            continue
        try:
            parsed[name] = _parse_field(name, value, buildings)
        except _Bad as err:
            out.add(name, err.code, **err.placeholders)
    return parsed


def _check_record(
    record: EnterpriseRecord, parsed: Mapping[str, Any], buildings: Mapping[str, Building], out: _RowIssues
) -> None:
    """Checks across fields of the merged record: its place, its dates and its status."""
    # Places are checked when the row gives one: a row that only updates the headcount must not fail on a
    # building that a later profile change removed.
    if ("building" in parsed or "floor" in parsed) and record.floor is not None:
        building = buildings.get(record.building) if record.building else None
        if record.building is None:
            out.add("floor", "building_required")
        elif building is not None and not building.has_floor(record.floor):
            lowest, highest = building.floor_range
            out.add(
                "floor",
                "floor_out_of_range",
                floor=record.floor,
                building=building.id,
                lowest=lowest,
                highest=highest,
            )
    if record.move_in_date and record.move_out_date and record.move_out_date < record.move_in_date:
        out.add("move_out_date", "move_out_before_move_in")
    if parsed.get("status") is EnterpriseStatus.ACTIVE and record.move_out_date is not None:
        out.add("status", "active_with_move_out")


def plan_rows(
    rows: Sequence[RawRow], existing: Mapping[str, EnterpriseRecord], buildings: Mapping[str, Building]
) -> ImportPlan:
    """Validate every row against the registry and the park's buildings; raise with every issue found."""
    issues: list[ImportIssue] = []
    records = _validate_rows(rows, existing, buildings, issues)
    issues.extend(_uscc_conflicts(records, existing))
    if issues:
        issues.sort(key=lambda issue: (issue.row or 0))
        raise EnterpriseImportError(issues)

    added, updated, unchanged = [], [], []
    for record, _row in records.values():
        if record.id not in existing:
            added.append(record.id)
        elif existing[record.id] != record:
            updated.append(record.id)
        else:
            unchanged.append(record.id)
    return ImportPlan(
        records=tuple(record for record, _row in records.values()),
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
    )


def _validate_rows(
    rows: Sequence[RawRow],
    existing: Mapping[str, EnterpriseRecord],
    buildings: Mapping[str, Building],
    issues: list[ImportIssue],
) -> dict[str, tuple[EnterpriseRecord, RawRow]]:
    """Valid rows' records by id, adding every issue to ``issues``; a repeated id is reported, not merged."""
    records: dict[str, tuple[EnterpriseRecord, RawRow]] = {}
    first_row: dict[str, int] = {}
    for row in rows:
        raw_id = _text(row.values.get("id"))
        if raw_id and raw_id in first_row:
            issues.append(
                ImportIssue(
                    row.row,
                    row.columns.get("id", "id"),
                    "duplicate_id",
                    {"id": raw_id, "first_row": str(first_row[raw_id])},
                )
            )
            continue
        if raw_id:
            first_row[raw_id] = row.row
        record, row_issues = validate_row(row, existing, buildings)
        issues.extend(row_issues)
        if record is not None:
            records[record.id] = (record, row)
    return records


def _uscc_conflicts(
    records: Mapping[str, tuple[EnterpriseRecord, RawRow]], existing: Mapping[str, EnterpriseRecord]
) -> list[ImportIssue]:
    """A USCC names one legal entity: unique across the registry as it will be after the import."""
    issues: list[ImportIssue] = []
    holders: dict[str, tuple[str, int | None]] = {}
    for record in existing.values():
        if record.id not in records and record.uscc:
            holders[record.uscc] = (record.id, None)
    for record, row in records.values():
        if not record.uscc:
            continue
        other = holders.get(record.uscc)
        if other is None:
            holders[record.uscc] = (record.id, row.row)
            continue
        column = row.columns.get("uscc", "uscc")
        if other[1] is None:
            issues.append(ImportIssue(row.row, column, "duplicate_uscc_registered", {"other": other[0]}))
        else:
            issues.append(
                ImportIssue(
                    row.row, column, "duplicate_uscc_row", {"other": other[0], "other_row": str(other[1])}
                )
            )
    return issues


def plan_import(
    data: bytes | str,
    existing: Mapping[str, EnterpriseRecord],
    buildings: Mapping[str, Building],
    *,
    name: str = "",
    fmt: str | None = None,
) -> ImportPlan:
    """Read and validate a CSV or YAML document: what it would change, or every problem in it."""
    return plan_rows(read_rows(data, name, fmt), existing, buildings)
