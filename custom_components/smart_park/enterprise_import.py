"""Enterprise records: the model, CSV/YAML import with validation, and CSV export.

Pure (no Home Assistant), so that the options flow, the import action and the tests share one validator.

Import is all-or-nothing: :func:`plan_import` either returns what would change or raises
:class:`EnterpriseImportError` listing every problem, each with its row and the column as the file names it.
Rows are numbered as a spreadsheet shows them (the CSV header is row 1, the first enterprise row 2); in YAML
the first item is row 1. A row updates the enterprise with its id and only touches the columns the file has;
an empty cell clears that field. Enterprises missing from the file are left alone.

Messages never quote personal data (USCC, contact, phone): the HA layer's errors are logged. Nor do they quote
other file content: a header is named only when it looks like a column name (short, identifier-like), a bad
date or number only when it looks like one; anything else is named by its position.

Cells a spreadsheet would run as a formula (text starting with = + - @) are refused on import and escaped
with a leading ' on export (OWASP's CSV injection rule).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from . import safe_yaml, uscc
from .profile import Building

MAX_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 10000
# What a spreadsheet runs as a formula when a cell starts with it (OWASP CSV injection); tab and CR too.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


class Status(StrEnum):
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
    status: Status = Status.ACTIVE

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
        values["status"] = Status(data.get("status", Status.ACTIVE))
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

# Header spellings a park manager's spreadsheet uses, besides the field names themselves.
ALIASES: Final[dict[str, str]] = {
    "企业编号": "id",
    "编号": "id",
    "企业名称": "name",
    "名称": "name",
    "统一社会信用代码": "uscc",
    "信用代码": "uscc",
    "行业代码": "industry",
    "行业": "industry",
    "industry_code": "industry",
    "楼栋": "building",
    "楼号": "building",
    "楼层": "floor",
    "房号": "unit",
    "单元": "unit",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "电话": "contact_phone",
    "phone": "contact_phone",
    "员工人数": "employees",
    "从业人数": "employees",
    "入驻日期": "move_in_date",
    "入园日期": "move_in_date",
    "迁出日期": "move_out_date",
    "状态": "status",
    "入驻状态": "status",
}
STATUS_ALIASES: Final[dict[str, Status]] = {
    "active": Status.ACTIVE,
    "在园": Status.ACTIVE,
    "入驻": Status.ACTIVE,
    "在驻": Status.ACTIVE,
    "moved_out": Status.MOVED_OUT,
    "moved out": Status.MOVED_OUT,
    "迁出": Status.MOVED_OUT,
    "已迁出": Status.MOVED_OUT,
    "退园": Status.MOVED_OUT,
}

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


# --- reading files ---


def _encoding_issue(code: str, data: bytes, position: int) -> EnterpriseImportError:
    """The file-level refusal naming the row (line) and the 1-based byte offset of the first bad byte."""
    placeholders = {"byte": str(position + 1), "value": f"{data[position]:02X}"}
    return EnterpriseImportError([ImportIssue(data.count(b"\n", 0, position) + 1, None, code, placeholders)])


def _plausibly_utf8(data: bytes) -> bool:
    """Whether undecodable UTF-8 is damaged UTF-8 rather than another encoding.

    GBK text read as UTF-8 fails on most of its characters (only about one pair in five happens to form a
    valid sequence); a UTF-8 file with a stray byte fails once among many good characters. So: at least as
    many non-ASCII characters decode as fail.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    return good >= bad


def decode(data: bytes) -> str:
    """Text of a CSV/YAML file: UTF-8 with or without BOM, UTF-16 with BOM, else GB18030; or refused.

    Excel on Chinese Windows saves "CSV (逗号分隔)" in code page 936 (GBK); GB18030 is a superset of GBK, so
    it reads those files and the rare characters GBK lacks. GBK is only tried when the file is not plausibly
    UTF-8 (:func:`_plausibly_utf8`): a UTF-8 file with one broken byte would otherwise be read whole as GBK
    with every name garbled. Nothing is decoded with replacement characters.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as err:
            raise _encoding_issue("bad_utf8", data, err.start + 3) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise _encoding_issue("bad_encoding", data, err.start) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if _plausibly_utf8(data):
            raise _encoding_issue("bad_utf8", data, err.start) from None
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as err:
        raise _encoding_issue("bad_encoding", data, err.start) from None


_YAML_CODES: Final = {"aliases": "yaml_aliases", "depth": "yaml_depth"}


def _load_yaml(text: str) -> Any:
    """YAML through the shared safe loader (no alias bombs, duplicate keys, deep nesting, huge text)."""
    try:
        return safe_yaml.load(text, max_bytes=MAX_BYTES)
    except safe_yaml.YamlError as err:
        placeholders = {"max": str(MAX_BYTES >> 20)} if err.code == "too_large" else err.placeholders
        raise EnterpriseImportError(
            [ImportIssue(None, None, _YAML_CODES.get(err.code, err.code), placeholders)]
        ) from None


def detect_format(text: str, name: str = "") -> str:
    """``csv`` or ``yaml``: from the file name's extension, else from the content.

    CSV text is also YAML (a plain string): content that loads as a list or a mapping is YAML, the rest CSV.
    """
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("yaml", "yml"):
        return "yaml"
    try:
        loaded = _load_yaml(text)
    except EnterpriseImportError as err:
        # Not YAML at all: CSV. YAML the loader refuses (an alias bomb, ...) is reported as YAML.
        return "csv" if err.issues[0].code == "bad_yaml" else "yaml"
    return "yaml" if isinstance(loaded, (list, dict)) else "csv"


def field_of(column: str) -> str | None:
    """The field a column header (or YAML key) stands for, or None."""
    key = str(column).strip().lower().replace(" ", "_").replace("-", "_")
    if key in COLUMNS:
        return key
    return ALIASES.get(str(column).strip())


def _map_columns(
    headers: Iterable[Any], row: int
) -> tuple[dict[int, str], dict[str, str], list[ImportIssue]]:
    """Column index -> field, field -> header as written, and the header's problems."""
    by_index: dict[int, str] = {}
    names: dict[str, str] = {}
    issues: list[ImportIssue] = []
    for index, header in enumerate(headers):
        label = str(header).strip()
        if not label:
            continue
        name = field_of(label)
        if name is None and not safe_yaml.looks_like_name(label):
            # Not quoted: a file that is not a spreadsheet (secrets.yaml) must not come back in the message.
            issues.append(ImportIssue(row, None, "unknown_column_at", {"index": str(index + 1)}))
        elif name is None:
            issues.append(ImportIssue(row, label, "unknown_column", {"column": label}))
        elif name in names:
            issues.append(ImportIssue(row, label, "duplicate_column", {"column": label}))
        else:
            by_index[index] = name
            names[name] = label
    return by_index, names, issues


def parse_csv(text: str) -> tuple[list[RawRow], list[ImportIssue]]:
    """Rows of a CSV file whose first row names the columns; blank rows (Excel leaves some) are skipped."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    if delimiter == "," and ";" in first_line and "," not in first_line:
        delimiter = ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error:
        return [], [ImportIssue(reader.line_num or None, None, "bad_structure")]
    if not records:
        return [], [ImportIssue(None, None, "empty")]
    by_index, names, issues = _map_columns(records[0], 1)
    if "id" not in names:
        issues.append(ImportIssue(1, None, "missing_column", {"column": "id"}))
    rows = []
    # Spreadsheet row numbers: a quoted cell with a line break is still one row.
    for number, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: cells[index] if index < len(cells) else "" for index, name in by_index.items()}
        rows.append(RawRow(number, values, dict(names)))
    return rows, issues


def parse_yaml(text: str) -> tuple[list[RawRow], list[ImportIssue]]:
    """Rows of a YAML list of enterprises, or of a mapping with an ``enterprises:`` list (a park profile)."""
    try:
        data = _load_yaml(text)
    except EnterpriseImportError as err:
        return [], err.issues
    if isinstance(data, Mapping):
        data = data.get("enterprises")
    if not isinstance(data, list):
        return [], [ImportIssue(None, None, "bad_structure")]
    rows: list[RawRow] = []
    issues: list[ImportIssue] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            issues.append(ImportIssue(number, None, "not_a_mapping"))
            continue
        by_index, names, header_issues = _map_columns(item.keys(), number)
        issues.extend(header_issues)
        keys = list(item.keys())
        rows.append(RawRow(number, {name: item[keys[index]] for index, name in by_index.items()}, names))
    return rows, issues


def read_rows(data: bytes | str, name: str = "", fmt: str | None = None) -> list[RawRow]:
    """Rows of a CSV or YAML document (bytes decoded by :func:`decode`); raise on file-level issues."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise EnterpriseImportError([ImportIssue(None, None, "too_large", {"max": str(MAX_BYTES >> 20)})])
        text = decode(data)
    else:
        if len(data) > MAX_BYTES or len(data.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
            raise EnterpriseImportError([ImportIssue(None, None, "too_large", {"max": str(MAX_BYTES >> 20)})])
        text = data
    text = text.removeprefix("\ufeff")
    fmt = fmt or detect_format(text, name)
    rows, issues = parse_csv(text) if fmt == "csv" else parse_yaml(text)
    if len(rows) > MAX_ROWS:
        issues.append(ImportIssue(None, None, "too_many_rows", {"max": str(MAX_ROWS)}))
    if not rows and not issues:
        issues.append(ImportIssue(None, None, "empty"))
    if issues:
        # Header problems make every row suspect: report them before validating anything else.
        raise EnterpriseImportError(issues)
    return rows


# --- validating rows ---

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


def _parse_status(text: str) -> Status:
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


def validate_row(
    row: RawRow, existing: Mapping[str, EnterpriseRecord], buildings: Mapping[str, Building]
) -> tuple[EnterpriseRecord | None, list[ImportIssue]]:
    """The record a row results in (merged over the registered one with its id), or its issues."""
    issues: list[ImportIssue] = []

    def bad(name: str | None, code: str, **placeholders: Any) -> None:
        column = row.columns.get(name, name) if name else None
        issues.append(ImportIssue(row.row, column, code, {k: str(v) for k, v in placeholders.items()}))

    parsed: dict[str, Any] = {}
    for name in COLUMNS:
        if name not in row.values:
            continue
        value = row.values[name]
        if _is_blank(value):
            if name in ("id", "name"):
                bad(name, "required")
            elif name != "status":
                parsed[name] = None
            continue
        try:
            parsed[name] = _parse_field(name, value, buildings)
        except _Bad as err:
            bad(name, err.code, **err.placeholders)
    if "id" not in row.values:
        bad("id", "required")
    enterprise_id = parsed.get("id")
    if enterprise_id is None:
        return None, issues
    base = existing.get(enterprise_id)
    if base is None and "name" not in row.values:
        bad("name", "required")
    if issues:
        return None, issues

    if base is None:
        record = EnterpriseRecord(**parsed)
    else:
        record = replace(base, **parsed)
    if "move_out_date" in parsed and parsed["move_out_date"] is not None and "status" not in parsed:
        # A move-out date means the enterprise left, unless the row says otherwise.
        record = replace(record, status=Status.MOVED_OUT)
    # Places are checked when the row gives one: a row that only updates the headcount must not fail on a
    # building that a later profile change removed.
    if ("building" in parsed or "floor" in parsed) and record.floor is not None:
        building = buildings.get(record.building) if record.building else None
        if record.building is None:
            bad("floor", "building_required")
        elif building is not None and not building.has_floor(record.floor):
            lowest, highest = building.floor_range
            bad(
                "floor",
                "floor_out_of_range",
                floor=record.floor,
                building=building.id,
                lowest=lowest,
                highest=highest,
            )
    if record.move_in_date and record.move_out_date and record.move_out_date < record.move_in_date:
        bad("move_out_date", "move_out_before_move_in")
    if parsed.get("status") is Status.ACTIVE and record.move_out_date is not None:
        bad("status", "active_with_move_out")
    return (None, issues) if issues else (record, issues)


def plan_rows(
    rows: Sequence[RawRow], existing: Mapping[str, EnterpriseRecord], buildings: Mapping[str, Building]
) -> ImportPlan:
    """Validate every row against the registry and the park's buildings; raise with every issue found."""
    issues: list[ImportIssue] = []
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

    # A USCC names one legal entity: unique across the registry as it will be after the import.
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


# --- export ---


def export_csv(records: Iterable[EnterpriseRecord], *, personal: bool = True) -> bytes:
    """CSV for Excel: UTF-8 with a BOM (without it Excel reads UTF-8 as the ANSI code page), CRLF rows.

    The header is the field names, which :func:`plan_import` reads back: exporting and re-importing changes
    nothing. With ``personal=False`` the USCC and contact columns are left empty.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        cells = record.csv_cells()
        if not personal:
            cells = [
                "" if column in PERSONAL_FIELDS else cell for column, cell in zip(COLUMNS, cells, strict=True)
            ]
        writer.writerow(cells)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
