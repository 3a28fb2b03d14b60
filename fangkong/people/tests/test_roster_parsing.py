"""The roster parser on messy rosters, one mess at a time. No database."""

import datetime as dt
import io

import pytest

from fangkong.core.idnumbers import IdType
from fangkong.people.models import Residency, Tag
from fangkong.people.roster import columns
from fangkong.people.roster.parsing import Rejection, RosterFileError, RosterRow, open_roster

from .rosterfiles import HEADER, csv_bytes, id_number, person, roster, xlsx


def parse(data: bytes):
    with open_roster(io.BytesIO(data)) as parsed:
        return parsed.header, list(parsed.rows)


def good(rows) -> list[RosterRow]:
    return [r for r in rows if isinstance(r, RosterRow)]


def rejected(rows) -> list[Rejection]:
    return [r for r in rows if isinstance(r, Rejection)]


@pytest.mark.parametrize("make", [xlsx, csv_bytes], ids=["xlsx", "csv"])
def test_title_rows_above_the_header_are_passed_over(make):
    header, rows = parse(make(roster(person("张三"), person("李四"))))
    assert header.row == 3
    assert [r.row for r in rows] == [4, 5]
    assert [r.data.name for r in good(rows)] == ["张三", "李四"]


def test_merged_address_cells_give_every_row_the_household():
    rows = roster(
        person("张三", building="3号楼", unit="2", room="301"),
        person("张小三", building=None, unit=None, room=None),
        person("张小四", building=None, unit=None, room=None),
        person("李四", building="3号楼", unit="2", room="302"),
    )
    # The title spans the sheet; 楼栋/单元/房号 are merged down the household's rows.
    data = xlsx(rows, merges=("A1:G1", "B4:B6", "C4:C6", "D4:D6"))
    _header, parsed = parse(data)
    assert [(r.data.name, r.building, r.unit, r.room) for r in good(parsed)] == [
        ("张三", "3号楼", "2", "301"),
        ("张小三", "3号楼", "2", "301"),
        ("张小四", "3号楼", "2", "301"),
        ("李四", "3号楼", "2", "302"),
    ]


def test_a_merged_range_running_past_the_last_person_makes_no_row():
    rows = [*roster(person("张三", room="301")), [None] * 7, [None] * 7]
    _header, parsed = parse(xlsx(rows, merges=("D4:D6",)))
    assert [r.row for r in parsed] == [4]


@pytest.mark.parametrize(
    "id_header",
    ["身份证号", "身份证号码", "证件号码", "证件号", "公民身份号码", "ID", "身份证号码（必填）"],
)
@pytest.mark.parametrize("phone_header", ["联系电话", "手机号", "手机号码", "电话", "联系方式"])
def test_header_synonyms(id_header, phone_header):
    number = id_number()
    rows = [
        ["姓名", "楼栋", "房号", id_header, phone_header],
        ["张三", "1", "101", number, "13800138000"],
    ]
    header, parsed = parse(csv_bytes(rows))
    assert header.columns[columns.Col.ID_NUMBER] == 3
    assert header.columns[columns.Col.PHONE] == 4
    assert good(parsed)[0].data.doc.number == number


def test_bilingual_and_starred_headers_are_found():
    rows = [
        ["*姓名 Name", "楼栋", "房号", "身份证号码 ID number"],
        ["张三", "1", "101", id_number()],
    ]
    header, parsed = parse(csv_bytes(rows))
    assert {columns.Col.NAME, columns.Col.ID_NUMBER} <= header.columns.keys()
    assert len(good(parsed)) == 1


def test_full_width_digits_spaces_and_padded_names_are_normalised():
    number = id_number()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    rows = roster(
        [
            "幸福小区",
            "３ 栋",
            "１单元",
            "１０１ 室",
            "张　三",
            f" {full_width[:6]} {full_width[6:]} ",
            "１３８ ００１３ ８０００",
        ]
    )
    row = good(parse(csv_bytes(rows))[1])[0]
    assert row.data.name == "张三"
    assert row.data.doc.number == number
    assert row.data.phone == "13800138000"
    assert (row.building, row.unit, row.room) == ("3号楼", "1", "101")


def test_lower_case_x_is_read_as_upper_case():
    number = next(n for n in (id_number() for _ in range(200)) if n.endswith("X"))
    row = good(parse(csv_bytes(roster(person(number=number.lower()))))[1])[0]
    assert row.data.doc.number == number


@pytest.mark.parametrize("value", [431102197503091234, 4.31102197503091e17])
def test_an_id_excel_stored_as_a_number_is_rejected_never_stored(value):
    rows = roster(["幸福小区", "1号楼", "1", "101", "张三", value, "13800138000"])
    (rejection,) = parse(xlsx(rows))[1]
    assert isinstance(rejection, Rejection)
    assert rejection.column == "F 身份证号码"
    assert "numeric value" in rejection.en and "last digits are lost" in rejection.en
    assert "Excel" in rejection.zh and "数值" in rejection.zh


def test_a_short_numeric_id_is_rejected_too():
    rows = roster(["幸福小区", "1号楼", "1", "101", "张三", 12345678, ""])
    (rejection,) = parse(xlsx(rows))[1]
    assert "leading zeros" in rejection.en


def test_scientific_notation_in_csv_is_rejected():
    rows = roster(["幸福小区", "1号楼", "1", "101", "张三", "4.31102E+17", "13800138000"])
    (rejection,) = parse(csv_bytes(rows))[1]
    assert "scientific notation" in rejection.en and "last digits are lost" in rejection.en
    assert "科学计数法" in rejection.zh


def test_an_id_ending_in_000_with_a_wrong_check_character_is_called_excel_truncation():
    number = id_number()[:15] + "000"
    rows = roster(person(number=number))
    (rejection,) = parse(csv_bytes(rows))[1]
    assert "Excel truncation" in rejection.en and "截" in rejection.zh


def test_a_masked_id_is_rejected_as_masked():
    (rejection,) = parse(csv_bytes(roster(person(number="4311**********1234"))))[1]
    assert "masked" in rejection.en


def test_the_same_person_twice_rejects_the_later_row():
    number = id_number()
    rows = roster(
        person("张三", number=number), person("李四"), person("张三", number=number.lower())
    )
    parsed = parse(csv_bytes(rows))[1]
    assert [type(r).__name__ for r in parsed] == ["RosterRow", "RosterRow", "Rejection"]
    assert parsed[2].row == 6
    assert parsed[2].en.startswith("same person as row 4")
    assert parsed[2].zh.startswith("与第4行是同一人")


@pytest.mark.parametrize("make", [xlsx, csv_bytes], ids=["xlsx", "csv"])
def test_blank_rows_are_skipped_silently(make):
    rows = roster(person("张三"), [None] * 7, ["", " ", "", "", "", "", ""], person("李四"))
    if make is csv_bytes:
        rows = [[c or "" for c in row] for row in rows]
    parsed = parse(make(rows))[1]
    assert [r.row for r in parsed] == [4, 7]
    assert not rejected(parsed)


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("138-0013-8000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("0746-8221234", "07468221234"),
    ],
)
def test_phones_with_dashes_and_spaces(raw, phone):
    row = good(parse(csv_bytes(roster(person(phone=raw))))[1])[0]
    assert row.data.phone == phone


def test_a_bad_phone_rejects_the_row_naming_the_column():
    (rejection,) = parse(csv_bytes(roster(person(phone="12345"))))[1]
    assert rejection.column == "G 联系电话"
    assert "phone" in rejection.en


def test_gbk_csv_is_read():
    rows = roster(person("欧阳娜娜", building="五号楼"))
    header, parsed = parse(csv_bytes(rows, encoding="gbk"))
    assert header.labels[:2] == ("小区", "楼栋")
    assert (parsed[0].data.name, parsed[0].building) == ("欧阳娜娜", "5号楼")


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_the_delimiter_is_sniffed(delimiter):
    parsed = parse(csv_bytes(roster(person("张三")), delimiter=delimiter))[1]
    assert good(parsed)[0].data.name == "张三"


def test_utf16_tab_separated_text_from_excel_is_read():
    parsed = parse(csv_bytes(roster(person("张三")), encoding="utf-16", delimiter="\t"))[1]
    assert good(parsed)[0].data.name == "张三"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("3栋", "3号楼"),
        ("3号楼", "3号楼"),
        ("3幢", "3号楼"),
        ("三号楼", "3号楼"),
        ("第十二栋", "12号楼"),
        ("3#", "3号楼"),
        ("03", "3号楼"),
        ("A座", "A座"),
        ("综合楼", "综合楼"),
    ],
)
def test_building_labels(label, expected):
    assert columns.building_label(label) == expected


def test_a_building_number_excel_made_a_number_is_fine():
    rows = roster(["幸福小区", 3, 1, 101, "张三", id_number(), 13800138000])
    row = good(parse(xlsx(rows))[1])[0]
    assert (row.building, row.unit, row.room, row.data.phone) == (
        "3号楼",
        "1",
        "101",
        "13800138000",
    )


def test_a_room_excel_turned_into_a_date_is_rejected():
    rows = roster(["幸福小区", "1号楼", "1", dt.datetime(2001, 1, 1), "张三", id_number(), ""])
    (rejection,) = parse(xlsx(rows))[1]
    assert rejection.column == "D 房号"
    assert "date" in rejection.en


def test_missing_room_and_bad_name_are_both_named():
    (rejection,) = parse(csv_bytes(roster(person("", room=""))))[1]
    assert rejection.column == "D 房号, E 姓名"
    assert "room is empty" in rejection.en and "name is empty" in rejection.en


def test_tags_from_a_tag_column_and_from_yes_no_columns():
    rows = [
        [
            "姓名",
            "身份证号",
            "楼栋",
            "房号",
            "重点人群",
            "独居",
            "是否卧床",
            "透析/定期治疗",
            "孕妇",
        ],
        ["甲", id_number(), "1", "101", "残疾、70岁以上", "是", "√", "", "否"],
        ["乙", id_number(), "1", "102", "外籍，滞留学生", "", "Y", "血液透析 周二四六", "1"],
        ["丙", id_number(), "1", "103", "低保户", "", "", "", ""],
        ["丁", id_number(), "1", "104", "", "也许", "", "", ""],
    ]
    parsed = parse(csv_bytes(rows))[1]
    first, second, third, fourth = parsed
    assert first.data.tags == Tag.DISABLED | Tag.LIVING_ALONE | Tag.BEDRIDDEN
    assert (
        second.data.tags
        == Tag.FOREIGN | Tag.STRANDED_STUDENT | Tag.BEDRIDDEN | Tag.REGULAR_TREATMENT | Tag.PREGNANT
    )
    assert second.data.treatment == "血液透析 周二四六"
    assert isinstance(third, RosterRow) and third.data.tags == 0  # kept: see below
    assert third.data.note == "重点人群：低保户"
    assert isinstance(fourth, Rejection) and fourth.column == "F 独居" and "yes or no" in fourth.en


@pytest.mark.parametrize(
    ("word", "residency"),
    [
        ("户籍", Residency.PERMANENT),
        ("常住", Residency.PERMANENT),
        ("本地", Residency.PERMANENT),
        ("", Residency.PERMANENT),
        ("租户", Residency.TENANT),
        ("流动", Residency.TENANT),
        ("暂住", Residency.TENANT),
        ("外来", Residency.TENANT),
        ("非户籍", Residency.TENANT),
    ],
)
def test_residency_words(word, residency):
    rows = [["姓名", "身份证号", "楼栋", "房号", "居住类型"], ["甲", id_number(), "1", "101", word]]
    assert good(parse(csv_bytes(rows))[1])[0].data.residency == residency


def test_an_unknown_residency_word_keeps_the_row_with_the_word_in_the_note():
    rows = [
        ["姓名", "身份证号", "楼栋", "房号", "居住类型", "备注"],
        ["甲", id_number(), "1", "101", "候鸟", "冬天在海南"],
    ]
    (row,) = parse(csv_bytes(rows))[1]
    assert isinstance(row, RosterRow) and not row.residency_said
    assert row.data.residency == Residency.PERMANENT  # a new person: the default
    assert row.data.note == "冬天在海南；居住类型：候鸟"
    (warning,) = row.warnings
    assert (warning.row, warning.column, warning.value) == (2, "E 居住类型", "候鸟")
    assert "候鸟" in warning.zh and "kept in the note" in warning.en


@pytest.mark.parametrize(
    ("category", "residency", "tags", "note"),
    [
        ("租户", Residency.TENANT, 0, ""),
        ("流动人口", Residency.TENANT, 0, ""),
        ("暂住、独居", Residency.TENANT, Tag.LIVING_ALONE, ""),
        ("党员", Residency.PERMANENT, 0, "人员类别：党员"),
        ("低保户、孤寡老人", Residency.PERMANENT, Tag.LIVING_ALONE, "人员类别：低保户"),
        ("返乡人员，密接", Residency.PERMANENT, 0, "人员类别：返乡人员、密接"),
        ("血液透析 瘫痪", Residency.PERMANENT, Tag.REGULAR_TREATMENT | Tag.BEDRIDDEN, ""),
    ],
)
def test_a_category_label_never_rejects_a_person(category, residency, tags, note):
    rows = [
        ["姓名", "身份证号", "楼栋", "房号", "人员类别"],
        ["甲", id_number(), "1", "101", category],
    ]
    (row,) = parse(csv_bytes(rows))[1]
    assert isinstance(row, RosterRow), row
    assert (row.data.residency, row.data.tags, row.data.note) == (residency, tags, note)
    assert [w.value for w in row.warnings] == ([note.split("：")[1]] if note else [])
    assert row.residency_said == (residency == Residency.TENANT)


def test_a_category_contradicting_the_residency_column_rejects_the_row():
    rows = [
        ["姓名", "身份证号", "楼栋", "房号", "居住类型", "人员类别"],
        ["甲", id_number(), "1", "101", "户籍", "租户"],
        ["乙", id_number(), "1", "102", "租户", "暂住"],
    ]
    rejected, agreed = parse(csv_bytes(rows))[1]
    assert isinstance(rejected, Rejection) and rejected.column == "F 人员类别"
    assert "矛盾" in rejected.zh and "contradicts the residency" in rejected.en
    assert isinstance(agreed, RosterRow) and agreed.data.residency == Residency.TENANT


def test_document_types_other_than_the_id_card():
    rows = [
        ["姓名", "证件类型", "证件号码", "楼栋", "房号"],
        ["John Smith", "护照", "e1234 5678", "1", "101"],
        ["陈大文", "港澳居民来往内地通行证", "h12345678", "1", "102"],
        ["某甲", "驾驶证", "123", "1", "103"],
    ]
    passport, permit, unknown = parse(csv_bytes(rows))[1]
    assert (passport.data.doc.type, passport.data.doc.number) == (IdType.PASSPORT, "E12345678")
    assert passport.data.name == "John Smith"
    assert permit.data.doc.type == IdType.HK_MACAO
    assert isinstance(unknown, Rejection) and "document type" in unknown.en


def test_the_header_repeated_on_every_printed_page_is_skipped():
    parsed = parse(csv_bytes([*roster(person("张三")), HEADER, person("李四")]))[1]
    assert [r.data.name for r in parsed] == ["张三", "李四"]


def test_a_rejection_carries_the_original_cells():
    rows = roster(["幸福小区", "1号楼", "1", "101", "张三", "4.31102E+17", "138-0013-8000"])
    (rejection,) = parse(csv_bytes(rows))[1]
    assert rejection.cells == rows[-1]


def test_a_roster_on_the_second_sheet_is_found():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["填表说明：身份证号请设为文本格式"])
    sheet = workbook.create_sheet("花名册")
    for row in roster(person("张三")):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    assert good(parse(out.getvalue())[1])[0].data.name == "张三"


@pytest.mark.parametrize(
    ("data", "en"),
    [
        (b"just some text\nwithout a header\n", "no header row"),
        (csv_bytes([["姓名", "身份证号"], ["张三", "1"]]), "楼栋 (building), 房号 (room)"),
    ],
    ids=["no-header", "missing-columns"],
)
def test_a_file_that_is_no_roster_gets_a_bilingual_message(data, en):
    """(Files that are no spreadsheet at all: core/tests/test_spreadsheets.py.)"""
    with pytest.raises(RosterFileError) as exc:
        parse(data)
    assert en in exc.value.en
    assert exc.value.zh and any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.zh)


SHARED_STRINGS_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6">
<si><t>幸福小区</t></si>
<si><t xml:space="preserve">  张 三  </t></si>
<si><r><rPr><b/></rPr><t>欧阳</t></r><r><t>娜娜</t></r><rPh sb="0" eb="2"><t>オウヨウ</t></rPh></si>
<si><t>A &amp; B &lt;c&gt;</t></si>
<si><t>_x005F_x000D_ stays escaped</t></si>
<si><t/></si>
</sst>"""


def test_the_fast_shared_string_table_reads_what_openpyxl_reads():
    from openpyxl.reader.strings import read_string_table

    from fangkong.core.spreadsheets import read_shared_strings

    data = SHARED_STRINGS_XML.encode()
    ours = read_shared_strings(io.BytesIO(data))
    assert ours == read_string_table(io.BytesIO(data))
    assert ours[:4] == ["幸福小区", "  张 三  ", "欧阳娜娜", "A & B <c>"]
