"""Property tests of the roster parser: valid people, rendered as messily as real rosters
are, parse back to the same normalised values; and no cell content makes it raise."""

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fangkong.core.idnumbers import make_mainland
from fangkong.people.models import Residency, Tag
from fangkong.people.roster.columns import TAG_NAMES
from fangkong.people.roster.parsing import (
    Rejection,
    RosterFileError,
    RosterRow,
    open_roster,
    parse_rows,
)

from .rosterfiles import csv_bytes, xlsx

SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)

SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋欧阳"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红梅玉"
CN_DIGITS = "零一二三四五六七八九"
SYNONYMS = {
    "compound": ["小区", "小区名称", "所在小区"],
    "building": ["楼栋", "楼号", "楼", "栋", "楼栋号"],
    "unit": ["单元", "单元号"],
    "room": ["房号", "门牌号", "室", "房间号"],
    "name": ["姓名", "名字", "居民姓名", "姓名 Name"],
    "id": [
        "身份证号",
        "身份证号码",
        "证件号码",
        "证件号",
        "公民身份号码",
        "ID",
        "身份证号码（必填）",
    ],
    "phone": ["联系电话", "手机号", "手机号码", "电话", "联系方式"],
    "residency": ["居住类型", "人口类型", "居住性质"],
    "tags": ["重点人群", "人员类别", "标签"],
}
RESIDENCY_WORDS = {
    Residency.PERMANENT: ["户籍", "常住", "本地", ""],
    Residency.TENANT: ["租户", "流动", "暂住", "外来"],
}
YES, NO = ["是", "Y", "y", "√", "1"], ["否", "N", "", "0"]
# Categories communities write that the import does not know: each keeps its person.
LOCAL_LABELS = ["党员", "低保户", "返乡人员", "密接", "退役军人", "候鸟老人", "网格长", "志愿者"]


@dataclass
class Person:
    name: str
    number: str
    phone: str
    building: int
    unit: int
    room: int
    tags: int
    residency: str
    labels: list[str]  # unknown categories written in the category column
    residency_in_category: str = ""


@st.composite
def people(draw) -> Person:
    birth = draw(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)))
    region = draw(st.sampled_from(["431102", "110105", "440305", "310115"]))
    number = make_mainland(region, birth, draw(st.integers(0, 999)))
    phone = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    name = draw(st.sampled_from(SURNAMES)) + draw(st.text(GIVEN, min_size=1, max_size=2))
    tags = sum(draw(st.sets(st.sampled_from(list(Tag)))), Tag(0))
    return Person(
        name=name,
        number=number,
        phone=phone,
        building=draw(st.integers(1, 40)),
        unit=draw(st.integers(1, 9)),
        room=draw(st.integers(101, 3299)),
        tags=int(tags),
        residency=draw(st.sampled_from(Residency.values)),
        labels=draw(st.lists(st.sampled_from(LOCAL_LABELS), unique=True, max_size=3)),
    )


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def chinese(n: int) -> str:
    tens, ones = divmod(n, 10)
    if not tens:
        return CN_DIGITS[ones]
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


class Mess:
    """Draws how each cell is spoilt, the way rosters spoil them."""

    def __init__(self, draw):
        self.draw = draw

    def spaces(self, text: str) -> str:
        if self.draw(st.booleans()):
            cut = self.draw(st.integers(0, len(text)))
            text = text[:cut] + self.draw(st.sampled_from([" ", "\u3000", "  "])) + text[cut:]
        return self.draw(st.sampled_from(["", " "])) + text + self.draw(st.sampled_from(["", " "]))

    def digits(self, text: str) -> str:
        return full_width(text) if self.draw(st.booleans()) else text

    def id_number(self, number: str) -> str:
        if number.endswith("X") and self.draw(st.booleans()):
            number = number[:-1] + "x"
        return self.spaces(self.digits(number))

    def phone(self, phone: str) -> str:
        shape = self.draw(st.sampled_from(["plain", "dashes", "spaces", "+86"]))
        text = {
            "plain": phone,
            "dashes": f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            "spaces": f"{phone[:3]} {phone[3:7]} {phone[7:]}",
            "+86": f"+86 {phone}",
        }[shape]
        return self.digits(text)

    def building(self, n: int) -> str:
        shape = self.draw(st.sampled_from(["{}栋", "{}号楼", "{}幢", "{}#", "{}", "第{}栋", "cn"]))
        text = f"{chinese(n)}号楼" if shape == "cn" else shape.format(n)
        return self.spaces(self.digits(text))

    def unit(self, n: int) -> str:
        shape = self.draw(st.sampled_from(["{}", "{}单元", "cn"]))
        return self.digits(f"{chinese(n)}单元" if shape == "cn" else shape.format(n))

    def room(self, n: int) -> str:
        return self.spaces(
            self.digits(self.draw(st.sampled_from(["{}", "{}室", "{}号"])).format(n))
        )

    def name(self, name: str) -> str:
        return "\u3000".join(name) if self.draw(st.booleans()) else self.spaces(name)


@st.composite
def messy_rosters(draw, *, gbk_safe: bool):
    """(rows of cells, the people) with synonyms, shuffled columns, title rows, mess."""
    crowd = draw(st.lists(people(), min_size=1, max_size=8, unique_by=lambda p: p.number))
    mess = Mess(draw)
    tag_style = draw(st.sampled_from(["column", "yes-no"]))
    fields = ["compound", "building", "unit", "room", "name", "id", "phone", "residency"]
    fields += ["tags"] if tag_style == "column" else [f"tag:{int(t)}" for t in Tag]
    fields = draw(st.permutations(fields))
    for p in crowd:
        if tag_style != "column":
            p.labels = []  # yes/no columns have nowhere to write them
        elif p.residency == Residency.TENANT and draw(st.booleans()):
            p.residency_in_category = draw(st.sampled_from(RESIDENCY_WORDS[Residency.TENANT]))

    def header(field: str) -> str:
        if field.startswith("tag:"):
            return draw(st.sampled_from(["", "是否"])) + TAG_NAMES[Tag(int(field[4:]))]
        return draw(st.sampled_from(SYNONYMS[field]))

    def cell(field: str, p: Person) -> str:
        if field.startswith("tag:"):
            return draw(st.sampled_from(YES if p.tags & int(field[4:]) else NO))
        if field == "tags":
            names = [TAG_NAMES[t] for t in Tag if p.tags & t]
            names += [p.residency_in_category] if p.residency_in_category else []
            names = draw(st.permutations(names + p.labels))
            return draw(st.sampled_from(["、", ",", "，", "; ", " "])).join(names)
        return {
            "compound": lambda: mess.spaces("幸福小区"),
            "building": lambda: mess.building(p.building),
            "unit": lambda: mess.unit(p.unit),
            "room": lambda: mess.room(p.room),
            "name": lambda: mess.name(p.name),
            "id": lambda: mess.id_number(p.number),
            "phone": lambda: mess.phone(p.phone),
            "residency": lambda: draw(st.sampled_from(RESIDENCY_WORDS[p.residency])),
        }[field]()

    titles = draw(
        st.lists(
            st.sampled_from(
                ["东风社区居民花名册", "填报日期：2022年4月1日", "单位：东风社区居委会"]
            ),
            max_size=3,
        )
    )
    rows = [[t] for t in titles] + [[header(f) for f in fields]]
    rows += [[cell(f, p) for f in fields] for p in crowd]
    if gbk_safe:
        rows = [[c.replace("√", "是") for c in row] for row in rows]
    return rows, crowd


def parsed_rows(data: bytes) -> list:
    with open_roster(io.BytesIO(data)) as roster:
        return list(roster.rows)


def assert_same_people(parsed: list, crowd: list[Person]) -> None:
    assert all(isinstance(r, RosterRow) for r in parsed), [getattr(r, "en", "") for r in parsed]
    assert len(parsed) == len(crowd)
    for row, p in zip(parsed, crowd, strict=True):
        assert row.data.name == p.name
        assert row.data.doc.number == p.number
        assert row.data.phone == p.phone
        assert (row.compound, row.building, row.unit, row.room) == (
            "幸福小区",
            f"{p.building}号楼",
            str(p.unit),
            str(p.room),
        )
        assert row.data.tags == p.tags
        assert row.data.residency == p.residency
        if p.labels:  # kept: in the note (in the order written) and as one warning
            (warning,) = row.warnings
            assert sorted(warning.value.split("、")) == sorted(p.labels)
            assert row.data.note.endswith("：" + warning.value)
            assert warning.row == row.row and warning.zh and warning.en
        else:
            assert not row.warnings and row.data.note == ""


@SLOW
@given(messy_rosters(gbk_safe=False), st.sampled_from([",", "\t", ";"]))
def test_a_messy_utf8_csv_parses_to_the_same_people(roster, delimiter):
    rows, crowd = roster
    assert_same_people(parsed_rows(csv_bytes(rows, delimiter=delimiter)), crowd)


@SLOW
@given(messy_rosters(gbk_safe=True))
def test_a_messy_gbk_csv_parses_to_the_same_people(roster):
    rows, crowd = roster
    assert_same_people(parsed_rows(csv_bytes(rows, encoding="gbk")), crowd)


@settings(SLOW, max_examples=30)
@given(messy_rosters(gbk_safe=False))
def test_a_messy_xlsx_parses_to_the_same_people(roster):
    rows, crowd = roster
    assert_same_people(parsed_rows(xlsx(rows)), crowd)


# Whatever the cells hold ------------------------------------------------------------------

HEADER = [
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "身份证号",
    "电话",
    "居住类型",
    "重点人群",
    "独居",
    "备注",
]
any_cell = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(any_cell, max_size=len(HEADER) + 2), max_size=10))
def test_no_cell_content_makes_the_row_parser_raise(rows):
    from fangkong.people.roster.parsing import find_header

    header, rest = find_header([(1, HEADER)])
    parsed = list(parse_rows(header, [(n, row) for n, row in enumerate(rows, start=2)]))
    assert all(isinstance(r, RosterRow | Rejection) for r in parsed)
    for r in parsed:
        if isinstance(r, Rejection):
            assert r.zh and r.en and r.column is not None


def _sane(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text.replace("\x00", ""))


cell_texts = st.lists(st.lists(st.text(max_size=20).map(_sane), max_size=12), max_size=8)


@SLOW
@given(cell_texts, st.booleans())
def test_no_text_in_a_file_makes_the_parser_raise_anything_but_a_file_error(rows, with_header):
    """With or without a header row, in csv and xlsx: rows, or a RosterFileError."""
    rows = [HEADER, *rows] if with_header else rows
    for data in (csv_bytes(rows), xlsx(rows)):
        try:
            parsed = parsed_rows(data)
        except RosterFileError as exc:
            assert exc.zh and exc.en
            continue
        assert all(isinstance(r, RosterRow | Rejection) for r in parsed)


@pytest.mark.parametrize("n", [1, 9, 10, 11, 19, 20, 21, 40, 99])
def test_chinese_numerals_used_by_the_strategies(n):
    from fangkong.people.roster.columns import chinese_number

    assert chinese_number(chinese(n)) == n
