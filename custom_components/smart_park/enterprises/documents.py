"""Enterprise documents: CSV and YAML files read into rows (encoding detection, header aliases), CSV export.

Pure (no Home Assistant). Rows are numbered as a spreadsheet shows them (the CSV header is row 1, the first
enterprise row 2); in YAML the first item is row 1. File-level problems are raised at once as
:class:`EnterpriseImportError`: they make every row suspect. Headers are quoted in a message only when they
look like a column name, so a file that is not a spreadsheet (secrets.yaml) never comes back in an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..engine import safe_yaml
from .model import COLUMNS, PERSONAL_FIELDS, EnterpriseImportError, EnterpriseRecord, ImportIssue, RawRow

MAX_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 10000

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
