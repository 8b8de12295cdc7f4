"""The enterprise registry's data: records, import issues and plans, monthly figures.

Pure (no Home Assistant): the importer, the registry's Store, the websocket API and the tests share these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from ..engine import uscc

# What a spreadsheet runs as a formula when a cell starts with it (OWASP CSV injection); tab and CR too.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


class EnterpriseStatus(StrEnum):
    """Whether the enterprise is in the park."""

    ACTIVE = "active"
    MOVED_OUT = "moved_out"


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    """One enterprise of the registry. Equality is by content: an unchanged re-import compares equal."""

    id: str
    name: str
    uscc: str | None = None
    # GB/T 4754-2017 code: a section letter, a division/group/class number, or both (C3484).
    industry: str | None = None
    building: str | None = None
    floor: int | None = None
    unit: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    employees: int | None = None
    move_in_date: date | None = None
    move_out_date: date | None = None
    status: EnterpriseStatus = EnterpriseStatus.ACTIVE

    def as_dict(self) -> dict[str, Any]:
        """JSON form (Store, websocket, diagnostics): dates as ISO strings."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, date) else value
        out["status"] = self.status.value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnterpriseRecord:
        """Read back :meth:`as_dict` (a stored record is trusted: it was validated when written)."""
        values: dict[str, Any] = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for key in ("move_in_date", "move_out_date"):
            if values.get(key):
                values[key] = date.fromisoformat(str(values[key]))
        values["status"] = EnterpriseStatus(data.get("status", EnterpriseStatus.ACTIVE))
        return cls(**values)

    def csv_cells(self) -> list[str]:
        """The record as export cells, in :data:`COLUMNS` order; text a spreadsheet would run is escaped."""
        data = self.as_dict()
        cells = []
        for column in COLUMNS:
            value = data[column]
            cell = "" if value is None else str(value)
            # Numbers (floor -1) stay numbers; text starting like a formula gets OWASP's leading quote.
            if not isinstance(value, int) and cell.startswith(FORMULA_PREFIXES):
                cell = "'" + cell
            cells.append(cell)
        return cells


COLUMNS: Final = tuple(f.name for f in fields(EnterpriseRecord))
PERSONAL_FIELDS: Final = frozenset({"uscc", "contact_name", "contact_phone"})

REDACTED: Final = "**REDACTED**"


# English per issue code; strings.json has the same as exceptions.enterprise_<code> (a test checks both).
ENGLISH: Final[dict[str, str]] = {
    "too_large": "the file is larger than {max} MB",
    "too_many_rows": "more than {max} rows",
    "bad_yaml": "not valid YAML ({reason})",
    "bad_structure": "expected a list of enterprises (or enterprises: followed by one)",
    "not_a_mapping": "expected the fields of one enterprise",
    "empty": "no enterprises found",
    "unknown_column": "unknown column {column}",
    "unknown_column_at": "column {index} has an unknown header",
    "yaml_aliases": "more than {max} YAML aliases, or aliases that expand to more than {nodes} values",
    "yaml_depth": "nested deeper than {max} levels (line {line})",
    "duplicate_key": "key {key} appears twice in the same mapping (line {line})",
    "bad_utf8": (
        "byte {byte} (0x{value}) is not valid UTF-8, though the rest of the file is; save it again as UTF-8"
    ),
    "bad_encoding": "byte {byte} (0x{value}) is neither UTF-8 nor GBK; save the file as UTF-8",
    "formula": "starts with {char}, which a spreadsheet runs as a formula",
    "duplicate_column": "column {column} appears twice",
    "missing_column": "column {column} is required",
    "required": "required",
    "bad_id": "an id is 1–64 letters, digits, _ or -, starting with a letter or digit",
    "too_long": "longer than {max} characters",
    "duplicate_id": "id {id} already appears in row {first_row}",
    "uscc_length": uscc.ENGLISH["length"],
    "uscc_character": uscc.ENGLISH["character"],
    "uscc_check": uscc.ENGLISH["check"],
    "duplicate_uscc_row": "same USCC as enterprise {other} in row {other_row}",
    "duplicate_uscc_registered": "same USCC as registered enterprise {other}",
    "excel_number": "the spreadsheet turned this into a number (1.38E+10); format the column as text",
    "bad_industry": "not a GB/T 4754 industry code (a letter A–T and/or 2 to 4 digits, e.g. C3484)",
    "unknown_building": "no building {building} in the park profile",
    "building_required": "a floor needs a building",
    "floor_out_of_range": "floor {floor} is outside building {building} ({lowest} to {highest})",
    "bad_phone": "not a mainland China mobile or landline number",
    "bad_date": "{value} is not a date (YYYY-MM-DD)",
    "bad_number": "{value} is not a whole number from {min} to {max}",
    "bad_status": "{value} is not a status (active or moved_out)",
    "move_out_before_move_in": "the move-out date is before the move-in date",
    "active_with_move_out": "an active enterprise has no move-out date",
}


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem: the row (None for the file as a whole), the column as written in the file, the code."""

    row: int | None
    column: str | None
    code: str
    placeholders: Mapping[str, str] = field(default_factory=dict)

    def english(self) -> str:
        """The issue in English (tests, CLI); HA renders the translation of ``code`` instead."""
        message = ENGLISH[self.code].format(**self.placeholders)
        if self.row is None:
            return f"file: {message}"
        return f"row {self.row}, {self.column}: {message}" if self.column else f"row {self.row}: {message}"


class EnterpriseImportError(Exception):
    """Nothing was applied; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(issue.english() for issue in self.issues))


@dataclass(slots=True)
class RawRow:
    """One row as read: field -> raw value, and field -> the column name the file used for it."""

    row: int
    values: dict[str, Any]
    columns: dict[str, str]


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import changes: the resulting record of every row, and which ids are new or changed."""

    records: tuple[EnterpriseRecord, ...]
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def changed(self) -> tuple[EnterpriseRecord, ...]:
        """Records that differ from the registry (added or updated)."""
        ids = set(self.added) | set(self.updated)
        return tuple(record for record in self.records if record.id in ids)


@dataclass(frozen=True, slots=True)
class MonthlyFigures:
    """What an enterprise reported for one month."""

    period: str
    output_value: float
    tax: float
    employees: int | None
    recorded_at: datetime
    revision: int = 1

    def same_values(self, other: MonthlyFigures) -> bool:
        """Whether a new record says the same (then it is not a correction)."""
        return (self.output_value, self.tax, self.employees) == (
            other.output_value,
            other.tax,
            other.employees,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form (Store, websocket)."""
        return {
            "period": self.period,
            "output_value": self.output_value,
            "tax": self.tax,
            "employees": self.employees,
            "recorded_at": self.recorded_at.isoformat(),
            "revision": self.revision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonthlyFigures:
        """Read back :meth:`as_dict`."""
        return cls(
            period=data["period"],
            output_value=float(data["output_value"]),
            tax=float(data["tax"]),
            employees=data.get("employees"),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            revision=int(data.get("revision", 1)),
        )


def redacted(item: Mapping[str, Any]) -> dict[str, Any]:
    """An enterprise item with its personal fields (USCC, contact name and phone) replaced."""
    return {key: REDACTED if key in PERSONAL_FIELDS and value else value for key, value in item.items()}
