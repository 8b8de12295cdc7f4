"""Enterprise import: CSV in every encoding a park manager's spreadsheet uses, YAML, all-or-nothing validation
with every bad row and field listed, idempotent re-import, updates by id, and CSV export that Excel opens."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from custom_components.smart_park.engine.profile import Building
from custom_components.smart_park.enterprises.documents import decode, detect_format, export_csv
from custom_components.smart_park.enterprises.importer import plan_import
from custom_components.smart_park.enterprises.model import (
    COLUMNS,
    EnterpriseImportError,
    EnterpriseRecord,
    EnterpriseStatus,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "enterprises"
BUILDINGS = {
    "b1": Building("b1", "1号楼", floors=6, basements=0),
    "b2": Building("b2", "2号楼", floors=4, basements=1),
}
# What every fixture file holds.
EXPECTED = (
    EnterpriseRecord(
        id="e101",
        name="恒达机械有限公司",
        uscc="91330100MA27Y5K8AA",
        industry="C3484",
        building="b1",
        floor=2,
        unit="201",
        contact_name="张三",
        contact_phone="13800000001",
        employees=35,
        move_in_date=date(2021, 5, 13),
    ),
    EnterpriseRecord(
        id="e102",
        name="瑞丰电子科技有限公司, 二期",
        uscc="91330106MA2H3Q4B15",
        industry="C3982",
        building="b1",
        floor=3,
        unit="301-305",
        contact_name="李四",
        contact_phone="0571-88886666",
        employees=1200,
        move_in_date=date(2022, 1, 4),
    ),
    EnterpriseRecord(
        id="e103",
        name='金鹏"五金"制品厂',
        uscc="92330100MA28FG3C5Y",
        building="b2",
        floor=-1,
        contact_name="王五",
        contact_phone="13900000003",
        employees=8,
        move_in_date=date(2019, 11, 30),
        move_out_date=date(2024, 6, 30),
        status=EnterpriseStatus.MOVED_OUT,
    ),
)


def _issues(err: pytest.ExceptionInfo[EnterpriseImportError]) -> list[tuple[int | None, str | None, str]]:
    return [(issue.row, issue.column, issue.code) for issue in err.value.issues]


def test_fixtures_are_what_the_tools_write() -> None:
    """The fixtures really are in the encodings and line ends they stand for."""
    gbk = (FIXTURES / "gbk_excel.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert gbk.decode("gbk").startswith("企业编号,企业名称")
    assert b"\r\n" in gbk
    assert b'"1,200"' in gbk
    bom = (FIXTURES / "utf8_bom.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in bom
    plain = (FIXTURES / "utf8.csv").read_bytes()
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in plain


@pytest.mark.parametrize("name", ["utf8.csv", "utf8_bom.csv", "gbk_excel.csv", "enterprises.yaml"])
def test_every_format_reads_the_same(name: str) -> None:
    """UTF-8 with and without BOM, GBK as Excel saves it (Chinese headers, quoted commas, 2021/5/13), YAML."""
    plan = plan_import((FIXTURES / name).read_bytes(), {}, BUILDINGS, name=name)
    assert plan.records == EXPECTED
    assert plan.added == ("e101", "e102", "e103")
    assert plan.updated == plan.unchanged == ()


@pytest.mark.parametrize("name", ["utf8.csv", "gbk_excel.csv", "enterprises.yaml"])
def test_format_detected_from_content(name: str) -> None:
    """Pasted text has no file name: CSV and YAML are told apart by their content."""
    text = decode((FIXTURES / name).read_bytes())
    assert detect_format(text) == ("yaml" if name.endswith(".yaml") else "csv")
    assert plan_import(text, {}, BUILDINGS).records == EXPECTED


def test_reimport_changes_nothing() -> None:
    """Importing the same file again (in any of its encodings) finds every enterprise unchanged."""
    existing = {record.id: record for record in EXPECTED}
    for name in ("utf8.csv", "gbk_excel.csv", "enterprises.yaml"):
        plan = plan_import((FIXTURES / name).read_bytes(), existing, BUILDINGS, name=name)
        assert plan.unchanged == ("e101", "e102", "e103")
        assert plan.added == plan.updated == ()
        assert plan.changed == ()


def test_every_bad_row_and_field_is_reported() -> None:
    """One file with every kind of bad row: nothing is planned and each row and field is named."""
    with pytest.raises(EnterpriseImportError) as err:
        plan_import((FIXTURES / "invalid.csv").read_bytes(), {}, BUILDINGS, name="invalid.csv")
    assert _issues(err) == [
        (3, "uscc", "duplicate_uscc_row"),
        (4, "id", "duplicate_id"),
        (5, "building", "unknown_building"),
        (6, "floor", "floor_out_of_range"),
        (7, "contact_phone", "bad_phone"),
        (8, "move_in_date", "bad_date"),
        (9, "employees", "bad_number"),
        (10, "uscc", "uscc_length"),
        (11, "uscc", "uscc_character"),
        (12, "uscc", "uscc_check"),
        (13, "floor", "bad_number"),
        (13, "contact_phone", "excel_number"),
    ]
    english = [issue.english() for issue in err.value.issues]
    assert english[0] == "row 3, uscc: same USCC as enterprise e201 in row 2"
    assert english[1] == "row 4, id: id e201 already appears in row 2"
    assert english[2] == "row 5, building: no building b9 in the park profile"
    assert english[3] == "row 6, floor: floor 9 is outside building b1 (1 to 6)"
    assert english[6] == "row 9, employees: … is not a whole number from 0 to 1000000"
    assert english[7] == "row 10, uscc: a USCC has 18 characters, this one has 10"
    assert english[8] == "row 11, uscc: character I at position 17 is not allowed in a USCC"
    assert english[9] == "row 12, uscc: the check character should be A, found B"


def test_messages_carry_no_personal_data() -> None:
    """Errors are logged by HA: no phone number or USCC appears in them."""
    with pytest.raises(EnterpriseImportError) as err:
        plan_import((FIXTURES / "invalid.csv").read_bytes(), {}, BUILDINGS, name="invalid.csv")
    text = str(err.value)
    for secret in ("12345", "91330100MA27Y5K8", "9133010057", "1.39E+10", "138000000"):
        assert secret not in text


def test_issues_name_the_column_as_the_file_does() -> None:
    """A Chinese header is reported as written, so the user finds the cell."""
    text = "企业编号,企业名称,楼层\r\ne1,恒达,3\r\n"
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(text, {}, BUILDINGS)
    assert _issues(err) == [(2, "楼层", "building_required")]


def test_update_by_id_touches_only_the_given_columns() -> None:
    """A file of ids and headcounts updates those; an empty cell clears its field; others stay."""
    existing = {record.id: record for record in EXPECTED}
    plan = plan_import("id,employees,unit\ne101,40,\ne102,1200,301-305\n", existing, BUILDINGS)
    assert plan.updated == ("e101",)
    assert plan.unchanged == ("e102",)
    (e101,) = plan.changed
    assert e101 == replace(EXPECTED[0], employees=40, unit=None)


def test_new_enterprise_needs_a_name() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("id,employees\ne999,3\n", {}, BUILDINGS)
    assert _issues(err) == [(2, "name", "required")]


def test_duplicate_uscc_against_the_registry() -> None:
    """A USCC may only be used once in the registry as it would be after the import."""
    existing = {EXPECTED[0].id: EXPECTED[0]}
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("id,name,uscc\ne500,新企业,91330100MA27Y5K8AA\n", existing, BUILDINGS)
    assert _issues(err) == [(2, "uscc", "duplicate_uscc_registered")]
    assert err.value.issues[0].placeholders == {"other": "e101"}
    # Moving the USCC from e101 to e500 in the same file is fine.
    plan = plan_import("id,name,uscc\ne101,恒达,\ne500,新企业,91330100MA27Y5K8AA\n", existing, BUILDINGS)
    assert plan.added == ("e500",)


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("id,name,colour\ne1,a,red\n", [(1, "colour", "unknown_column")]),
        ("id,name,name\ne1,a,b\n", [(1, "name", "duplicate_column")]),
        ("name\na\n", [(1, None, "missing_column")]),
        ("", [(None, None, "empty")]),
        ("id,name\n,,\n", [(None, None, "empty")]),
    ],
)
def test_file_level_problems(csv_text: str, expected: list[tuple[int | None, str | None, str]]) -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(csv_text, {}, BUILDINGS, fmt="csv")
    assert _issues(err) == expected


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("status", "closed", "bad_status"),
        ("industry", "C34845", "bad_industry"),
        ("id", "e 1", "bad_id"),
        ("move_in_date", "13/05/2021", "bad_date"),
        ("employees", "-3", "bad_number"),
        ("employees", "2.5", "bad_number"),
        ("contact_phone", "010-1234", "bad_phone"),
        ("name", "x" * 101, "too_long"),
    ],
)
def test_field_checks(column: str, value: str, code: str) -> None:
    row = {"id": "e1", "name": "恒达", column: value}
    text = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(text, {}, BUILDINGS, fmt="csv")
    assert [(issue.column, issue.code) for issue in err.value.issues] == [(column, code)]


def test_accepted_spellings() -> None:
    """Forms a spreadsheet produces: 2021年5月13日, 20210513, Excel's ="..." text guard, 3F, 400 numbers."""
    text = (
        "id,name,move_in_date,uscc,floor,building,contact_phone,status\n"
        'e1,恒达,2021年5月13日,"=""91330100ma27y5k8aa""",3F,b1,400-800-1234,已迁出\n'
        "e2,瑞丰,20210513,,B1,2号楼,+8613800000002,在园\n"
    )
    e1, e2 = plan_import(text, {}, BUILDINGS, fmt="csv").records
    assert (e1.move_in_date, e1.uscc, e1.floor, e1.contact_phone, e1.status) == (
        date(2021, 5, 13),
        "91330100MA27Y5K8AA",
        3,
        "400-800-1234",
        EnterpriseStatus.MOVED_OUT,
    )
    assert (e2.move_in_date, e2.floor, e2.building, e2.contact_phone, e2.status) == (
        date(2021, 5, 13),
        -1,
        "b2",
        "13800000002",
        EnterpriseStatus.ACTIVE,
    )


def test_move_out_dates() -> None:
    """A move-out date means moved out; it cannot precede the move-in, nor go with status active."""
    plan = plan_import("id,name,move_out_date\ne1,恒达,2024-06-30\n", {}, BUILDINGS)
    assert plan.records[0].status is EnterpriseStatus.MOVED_OUT
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(
            "id,name,move_in_date,move_out_date,status\n"
            "e1,恒达,2024-06-30,2024-01-01,\n"
            "e2,瑞丰,,2024-01-01,active\n",
            {},
            BUILDINGS,
        )
    assert _issues(err) == [
        (2, "move_out_date", "move_out_before_move_in"),
        (3, "status", "active_with_move_out"),
    ]


def test_yaml_problems() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("enterprises: [a, {id: e1}]\n", {}, BUILDINGS, fmt="yaml")
    assert _issues(err) == [(1, None, "not_a_mapping")]
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("- id: e1\n  name: [unclosed\n", {}, BUILDINGS, name="x.yaml")
    assert _issues(err) == [(None, None, "bad_yaml")]
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("- {id: e1, floor: 2}\n", {}, BUILDINGS, fmt="yaml")
    assert _issues(err) == [(1, "name", "required")]


def test_too_large() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(b"id,name\n" + b"e1,a\n" * 1_200_000, {}, BUILDINGS)
    assert _issues(err) == [(None, None, "too_large")]


def test_export_for_excel_and_back() -> None:
    """UTF-8 with BOM, CRLF, the field names as header; re-importing the export changes nothing."""
    data = export_csv(EXPECTED)
    assert data.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    assert '"瑞丰电子科技有限公司, 二期"'.encode() in data
    assert '"金鹏""五金""制品厂"'.encode() in data
    existing = {record.id: record for record in EXPECTED}
    plan = plan_import(data, existing, BUILDINGS, name="enterprises.csv")
    assert plan.unchanged == ("e101", "e102", "e103")


def test_export_without_personal_data() -> None:
    data = export_csv(EXPECTED, personal=False).decode("utf-8-sig")
    for secret in ("张三", "13800000001", "91330100MA27Y5K8AA"):
        assert secret not in data
    assert "恒达机械有限公司" in data


def test_record_round_trip() -> None:
    for record in EXPECTED:
        assert EnterpriseRecord.from_dict(record.as_dict()) == record


# --- issue #11 items 7, 9, 10, 11 ---


def test_config_file_content_never_echoed() -> None:
    """secrets.yaml read as CSV came back as "unknown column db_password: hunter2-very-secret"."""
    secrets = b"db_password: hunter2-very-secret\napi_key: abc123\n"
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(secrets, {}, BUILDINGS, name="secrets.csv")
    assert "hunter2" not in str(err.value)
    assert _issues(err)[0] == (1, None, "unknown_column_at")
    assert err.value.issues[0].english() == "row 1: column 1 has an unknown header"
    # A header that looks like a column name is still named, so a typo is easy to find.
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("id,name,contact_phon\ne1,a,1\n", {}, BUILDINGS)
    assert [issue.english() for issue in err.value.issues] == [
        "row 1, contact_phon: unknown column contact_phon"
    ]


def test_bad_values_quoted_only_when_shaped_like_the_field() -> None:
    text = (
        "id,name,building,move_in_date,employees,status\n"
        "e1,a,9号楼,hunter2-very-secret,2021-13-01x,db_password: x\n"
        "e2,b,密码: hunter2,2021-13-01,x1,gone\n"
    )
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(text, {}, BUILDINGS)
    assert [issue.english() for issue in err.value.issues] == [
        "row 2, building: no building 9号楼 in the park profile",
        "row 2, employees: … is not a whole number from 0 to 1000000",
        "row 2, move_in_date: … is not a date (YYYY-MM-DD)",
        "row 2, status: … is not a status (active or moved_out)",
        "row 3, building: no building … in the park profile",
        "row 3, employees: … is not a whole number from 0 to 1000000",
        "row 3, move_in_date: 2021-13-01 is not a date (YYYY-MM-DD)",
        "row 3, status: gone is not a status (active or moved_out)",
    ]
    assert "hunter2" not in str(err.value)


def test_yaml_alias_bomb_refused_quickly() -> None:
    """A 481-byte enterprise YAML cost 13 s and 870 MB before it was refused."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    text = "\n".join(lines) + "\nenterprises:\n- {id: e1, name: *a7}\n"
    started = time.perf_counter()
    for fmt in ("yaml", None):  # named, and detected from the content
        with pytest.raises(EnterpriseImportError) as err:
            plan_import(text.encode(), {}, BUILDINGS, fmt=fmt)
        assert _issues(err) == [(None, None, "yaml_aliases")]
    assert time.perf_counter() - started < 1


def test_yaml_duplicate_key_and_depth_refused() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("- id: e1\n  name: a\n  name: b\n", {}, BUILDINGS, fmt="yaml")
    assert [issue.english() for issue in err.value.issues] == [
        "file: key name appears twice in the same mapping (line 3)"
    ]
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("- id: e1\n  name: " + "[" * 5000 + "]" * 5000 + "\n", {}, BUILDINGS, fmt="yaml")
    assert _issues(err) == [(None, None, "yaml_depth")]


def test_pasted_text_size_capped() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("id,name\n" + "e1,a\n" * 1_200_000, {}, BUILDINGS)
    assert _issues(err) == [(None, None, "too_large")]


@pytest.mark.parametrize(
    "cell", ["=cmd|' /C calc'!A0", "+1", "@SUM(1+1)", "-2+3", '=HYPERLINK("http://x")', "\t=1+1"]
)
@pytest.mark.parametrize("column", ["name", "unit", "contact_name"])
def test_formula_cells_refused_on_import(cell: str, column: str) -> None:
    """Cells a spreadsheet would run are refused, naming row and column; nothing is imported."""
    row = {"id": "e1", "name": "恒达", "unit": "201", "contact_name": "张三", column: cell}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(out.getvalue(), {}, BUILDINGS)
    assert _issues(err) == [(2, column, "formula")]
    assert err.value.issues[0].english() == (
        f"row 2, {column}: starts with {cell.strip()[0]}, which a spreadsheet runs as a formula"
    )


def test_formula_in_yaml_refused_and_plain_dash_kept() -> None:
    with pytest.raises(EnterpriseImportError) as err:
        plan_import("- {id: e1, name: '=1+1'}\n", {}, BUILDINGS, fmt="yaml")
    assert _issues(err) == [(1, "name", "formula")]
    # A lone "-" is what spreadsheets use for "none": text, not a formula. Negative floors are numbers.
    plan = plan_import("id,name,unit,building,floor\ne1,恒达,-,b2,-1\n", {}, BUILDINGS)
    assert plan.records[0].unit == "-"
    assert plan.records[0].floor == -1


def test_export_escapes_formulas() -> None:
    """Records written before the import check (or by other means) are exported inert, per OWASP."""
    risky = replace(
        EXPECTED[0],
        name="=cmd|' /C calc'!A0",
        unit="+1",
        contact_name="@SUM(1+1)",
        industry="-2",
        building="b2",
        floor=-1,
    )
    cells = next(csv.reader(io.StringIO(export_csv([risky]).decode("utf-8-sig").splitlines()[1])))
    row = dict(zip(COLUMNS, cells, strict=True))
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert row["unit"] == "'+1"
    assert row["contact_name"] == "'@SUM(1+1)"
    assert row["industry"] == "'-2"
    assert row["floor"] == "-1"  # a number stays a number
    assert row["employees"] == "35"


def test_export_escapes_tab_and_cr() -> None:
    tabbed = replace(EXPECTED[0], name="\tx", unit="\r=1")
    rows = list(csv.reader(io.StringIO(export_csv([tabbed]).decode("utf-8-sig"), newline="")))
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["name"] == "'\tx"
    assert row["unit"] == "'\r=1"


def test_broken_utf8_refused_with_row_and_byte() -> None:
    """A UTF-8 file with one stray byte was decoded whole as GB18030 and imported with every name garbled."""
    good = (FIXTURES / "utf8.csv").read_bytes()
    lines = good.split(b"\n")
    position = len(b"\n".join(lines[:2])) + 1 + lines[2].index(b",") + 1  # start of row 3's name
    broken = good[:position] + b"\xff" + good[position:]
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(broken, {}, BUILDINGS, name="utf8.csv")
    assert _issues(err) == [(3, None, "bad_utf8")]
    assert err.value.issues[0].placeholders == {"byte": str(position + 1), "value": "FF"}
    assert err.value.issues[0].english() == (
        f"row 3: byte {position + 1} (0xFF) is not valid UTF-8, though the rest of the file is; "
        "save it again as UTF-8"
    )
    # A stray byte in a BOM file is refused the same way (it used to become U+FFFD).
    with pytest.raises(EnterpriseImportError) as err:
        plan_import(b"\xef\xbb\xbf" + broken, {}, BUILDINGS, name="utf8.csv")
    assert _issues(err) == [(3, None, "bad_utf8")]
    assert err.value.issues[0].placeholders["byte"] == str(position + 4)


def test_real_gbk_excel_file_still_read() -> None:
    """GBK as Excel saves it is not plausibly UTF-8, so it is read as GB18030 (names intact)."""
    text = decode((FIXTURES / "gbk_excel.csv").read_bytes())
    assert "恒达机械有限公司" in text
    assert "\ufffd" not in text


def test_neither_utf8_nor_gbk_refused() -> None:
    data = "id,name\ne1,恒达\n".encode("gbk") + b"e2,\x80\x80\n"
    with pytest.raises(EnterpriseImportError) as err:
        decode(data)
    assert _issues(err) == [(3, None, "bad_encoding")]
