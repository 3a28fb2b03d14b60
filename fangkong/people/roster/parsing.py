"""A roster's header row, then each row to a normalised `RosterRow` or a `Rejection`.

Pure: no database. What needs the database (which compound, which household, whether the
person is known) is the importer's business.
"""

import contextlib
import datetime as dt
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from openpyxl.utils import get_column_letter

from fangkong.core.errors import DomainError
from fangkong.core.idnumbers import IdType
from fangkong.core.spreadsheets import Limits, SpreadsheetError, cell_text, open_sheets
from fangkong.core.spreadsheets import RawRow as Row
from fangkong.core.text import clean

from ..models import Residency, Tag
from ..services import ResidentData, resident_validate
from . import columns
from .columns import Col

SCAN_ROWS = 20  # the header is looked for in this many non-blank rows
REQUIRED = (Col.NAME, Col.ID_NUMBER, Col.BUILDING, Col.ROOM)
MAX_BUILDING, MAX_UNIT, MAX_ROOM = 50, 20, 20


class RosterFileError(SpreadsheetError):
    """The file as a whole cannot be read as a roster (as against one bad row)."""


@dataclass(frozen=True)
class Header:
    row: int
    labels: tuple[str, ...]
    columns: Mapping[Col, int]
    tag_columns: Mapping[int, Tag] = field(default_factory=dict)

    def has(self, col: Col) -> bool:
        return col in self.columns

    def label(self, index: int) -> str:
        """How the report names a column: its letter and its header, "H 身份证号码"."""
        text = self.labels[index] if index < len(self.labels) else ""
        return f"{get_column_letter(index + 1)} {text}".strip()

    def label_of(self, col: Col) -> str:
        return self.label(self.columns[col]) if col in self.columns else ""

    @functools.cached_property
    def tag_mask(self) -> int:
        """The tag bits this file speaks for; the others stay as they are."""
        if Col.TAGS in self.columns:
            return int(sum(Tag))
        return int(sum(set(self.tag_columns.values()), Tag(0)))


@dataclass(frozen=True)
class Warning:
    """A row kept with a label the import does not know: the label went to the note."""

    row: int
    column: str
    value: str
    zh: str
    en: str


@dataclass
class RosterRow:
    """A row that passed every check that needs no database."""

    row: int
    data: ResidentData
    compound: str
    building: str
    unit: str
    room: str
    raw: list  # the row's cells as read, made text only if the row is rejected later
    warnings: list[Warning] = field(default_factory=list)
    # Whether the row says the residency (its column, or a category such as 租户); if
    # not, a known resident keeps theirs.
    residency_said: bool = True

    @property
    def cells(self) -> list[str]:
        return cell_texts(self.raw)


@dataclass
class Rejection:
    row: int
    column: str
    zh: str
    en: str
    cells: list[str]


@dataclass
class Roster:
    header: Header
    rows: Iterator[RosterRow | Rejection]
    size: int | None
    sheet: str


@contextlib.contextmanager
def open_roster(stream: BinaryIO, limits: Limits | None = None) -> Iterator[Roster]:
    """The first sheet of the file that has a header, its rows parsed as they stream
    (read by core.spreadsheets, within its limits)."""
    with open_sheets(stream, limits) as sheets:
        first_error = None
        for sheet in sheets:
            try:
                header, rest = find_header(sheet.rows)
            except RosterFileError as exc:
                first_error = first_error or exc
                continue
            yield Roster(header, parse_rows(header, rest), sheet.size, sheet.name)
            return
    raise first_error or RosterFileError("文件中没有工作表", "the file has no sheet")


# Cells ----------------------------------------------------------------------------------


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date | dt.time | dt.timedelta)


def cell_texts(cells: list) -> list[str]:
    """A row's cells as text, without the empty ones at its end."""
    texts = [cell_text(c) for c in cells]
    end = len(texts)
    while end and not texts[end - 1].strip():
        end -= 1
    return texts[:end]


# Header ---------------------------------------------------------------------------------


def _header_of(number: int, cells: list) -> tuple[Header, int]:
    """The header a row would be, and how many cells it recognises."""
    found: dict[Col, int] = {}
    tags: dict[int, Tag] = {}
    score = 0
    for index, cell in enumerate(cells):
        what = columns.column_of(cell)
        if isinstance(what, Col) and what not in found:
            found[what] = index
            score += 1
        elif isinstance(what, Tag):
            tags[index] = what
            score += 1
        elif columns.is_known_header(cell):
            score += 1
    labels = tuple(clean(cell_text(c)) for c in cells)
    return Header(number, labels, found, tags), score


def find_header(rows: Iterable[Row]) -> tuple[Header, Iterator[Row]]:
    """The best-matching row among the first ones (title rows above it are passed over)."""
    rows = iter(rows)
    scanned = list(itertools.islice(rows, SCAN_ROWS))
    best, best_score = None, 1
    for number, cells in scanned:
        header, score = _header_of(number, cells)
        if score > best_score:
            best, best_score = header, score
    if best is None:
        raise RosterFileError(
            f"前{SCAN_ROWS}行中找不到表头：表头应含“姓名”“身份证号”“楼栋”“房号”等列",
            f"no header row in the first {SCAN_ROWS} rows: it should have columns such as "
            "姓名 (name), 身份证号 (ID number), 楼栋 (building) and 房号 (room)",
        )
    missing = [c for c in REQUIRED if not best.has(c)]
    if missing:
        zh = "、".join(f"“{columns.COL_NAMES[c][0]}”" for c in missing)
        en = ", ".join(f"{columns.COL_NAMES[c][0]} ({columns.COL_NAMES[c][1]})" for c in missing)
        raise RosterFileError(
            f"第{best.row}行表头缺少这些列：{zh}", f"the header (row {best.row}) lacks: {en}"
        )
    after = [item for item in scanned if item[0] > best.row]
    return best, itertools.chain(after, rows)


# Rows -----------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?e[+-]?\d+$", re.IGNORECASE)
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_FIELD_COLUMN = {
    "name": Col.NAME,
    "id_number": Col.ID_NUMBER,
    "phone": Col.PHONE,
    "residency": Col.RESIDENCY,
    "tags": Col.TAGS,
}

EXCEL_NUMBER = (
    "证件号码被Excel存成了数值，末几位已丢失（变成0），不能使用；请把该列设为“文本”格式后重新录入",
    "Excel turned the ID number into a numeric value and its last digits are lost (they "
    "became 0); set the column's format to Text and type the number again",
)
EXCEL_SHORT_NUMBER = (
    "证件号码被Excel存成了数值，开头的0可能已丢失；请把该列设为“文本”格式后重新录入",
    "Excel turned the ID number into a numeric value, which drops leading zeros; set the "
    "column's format to Text and type the number again",
)
EXCEL_SCIENTIFIC = (
    "证件号码是科学计数法（如4.31102E+17）：被Excel转成了数值，末几位已丢失；"
    "请把该列设为“文本”格式后重新录入",
    "the ID number is in scientific notation (such as 4.31102E+17): Excel turned it into a "
    "numeric value and its last digits are lost; set the column's format to Text and type "
    "the number again",
)
EXCEL_TRUNCATED = (
    "证件号码以000结尾且校验位不对，多半是被Excel截掉了末几位；请核对原始号码",
    "the ID number ends in 000 and its check character is wrong: probably Excel truncation "
    "(its last digits were lost); check the original number",
)
MASKED = (
    "证件号码已打码（含*），请填写完整号码",
    "the ID number is masked (has *); give the full number",
)


def excel_damage(raw: object) -> tuple[str, str] | None:
    """Why an ID cell cannot be trusted because Excel made it a number, if it did."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return EXCEL_NUMBER if abs(raw) >= 1e15 else EXCEL_SHORT_NUMBER
    if _SCIENTIFIC.match(clean(raw)):
        return EXCEL_SCIENTIFIC
    return None


def _plain(value: object) -> str:
    """Free text (language, treatment, note): NFKC, runs of space made one, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", cell_text(value)).split())


def _person_name(value: object) -> str:
    """'张　三' (padded to line up with three-character names) is 张三."""
    return _CJK_GAP.sub("", unicodedata.normalize("NFKC", cell_text(value)).strip())


class _RowReader:
    """Reads one row against the header, collecting every problem it has."""

    def __init__(self, header: Header, cells: list):
        self.header = header
        self.cells = cells
        self.problems: list[tuple[str, str, str]] = []  # (column, zh, en)
        self.unknown: list[tuple[Col, list[str]]] = []  # labels kept as a note
        self.residency_said = header.has(Col.RESIDENCY)

    def raw(self, col: Col) -> object:
        index = self.header.columns.get(col)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def text(self, col: Col) -> str:
        return cell_text(self.raw(col))

    def fail(self, col: Col | int, zh: str, en: str) -> None:
        label = self.header.label(col) if isinstance(col, int) else self.header.label_of(col)
        self.problems.append((label, zh, en))

    def address_part(self, col: Col, normalise, limit: int, *, required: bool) -> str:
        zh_name, en_name = columns.COL_NAMES[col]
        raw = self.raw(col)
        if _is_date(raw):
            self.fail(
                col,
                f"{zh_name}被Excel转成了日期（{cell_text(raw)}），请把该列设为“文本”后重新录入",
                f"Excel turned the {en_name} into a date ({cell_text(raw)}); set the column's "
                "format to Text and type it again",
            )
            return ""
        value = normalise(cell_text(raw))
        if required and not value:
            self.fail(col, f"{zh_name}为空", f"{en_name} is empty")
        elif len(value) > limit:
            self.fail(col, f"{zh_name}过长（最多{limit}字）", f"{en_name} is longer than {limit}")
        return value

    def id_type(self) -> str | None:
        id_type = columns.id_type_of(self.text(Col.ID_TYPE))
        if id_type is None:
            self.fail(
                Col.ID_TYPE,
                f"证件类型“{self.text(Col.ID_TYPE)}”无法识别，应为身份证、护照、港澳通行证或台湾通行证",
                f"document type “{self.text(Col.ID_TYPE)}” is unknown; use 身份证 (ID card), "
                "护照 (passport), 港澳通行证 (Hong Kong/Macao) or 台湾通行证 (Taiwan)",
            )
        return id_type

    def id_number(self) -> str | None:
        """The ID cell's text, or None if Excel or masking has spoilt it."""
        raw = self.raw(Col.ID_NUMBER)
        damage = excel_damage(raw)
        text = cell_text(raw).strip().lstrip("'`‘’")
        if damage is None and "*" in text:
            damage = MASKED
        if damage is not None:
            self.fail(Col.ID_NUMBER, *damage)
            return None
        return text

    def labels(self) -> tuple[str, int]:
        """Residency and tag bits from the residency and category (tag) columns.

        Every community labels its people its own way, and a label never costs a person
        their place in the roster: a word meaning residency (租户, 暂住, 流动人口 …) sets
        it, a known synonym sets its tag, and any other label (党员, 低保户, 返乡人员 …)
        is kept in the note and reported as a warning. Only a contradiction (户籍 in one
        column, 租户 in the other) rejects the row. Residency not said by the row is
        permanent for a new resident and left alone for a known one.
        """
        stated = self.text(Col.RESIDENCY)
        residency = columns.residency_of(stated)
        bits, unknown = columns.tags_of(stated) if residency is None else (0, [])
        if residency is None:
            if unknown:
                self.unknown.append((Col.RESIDENCY, [stated.strip()]))
                bits = 0  # "独居 党员" in the residency column: all kept as the note
            self.residency_said = False
        elif not columns.key(stated):
            self.residency_said = False  # blank
        if self.header.has(Col.TAGS):
            tag_bits, words = columns.tags_of(self.text(Col.TAGS))
            bits |= tag_bits
            strange = []
            for word in words:
                meant = columns.RESIDENCY_BY_KEY.get(columns.key(word))
                if meant is None:
                    strange.append(word)
                elif self.residency_said and residency != meant:
                    self.fail(
                        Col.TAGS,
                        f"“{word}”与居住类型“{stated or columns.RESIDENCY_NAMES[residency]}”矛盾",
                        f"“{word}” contradicts the residency "
                        f"“{stated or columns.RESIDENCY_NAMES[residency]}”",
                    )
                else:
                    residency, self.residency_said = meant, True
            if strange:
                self.unknown.append((Col.TAGS, strange))
        return residency or Residency.PERMANENT, bits

    def note(self) -> str:
        """The note column, with the labels the import did not know after it."""
        parts = [_plain(self.raw(Col.NOTE))]
        for col, words in self.unknown:
            label = self.header.labels[self.header.columns[col]] or columns.COL_NAMES[col][0]
            parts.append(f"{label}：{'、'.join(words)}")
        return "；".join(p for p in parts if p)

    def warnings(self, number: int) -> list[Warning]:
        out = []
        for col, words in self.unknown:
            value = "、".join(words)
            out.append(
                Warning(
                    number,
                    self.header.label_of(col),
                    value,
                    f"“{value}”不是系统认识的类别，已记入备注，此人照常导入",
                    f"“{value}” is not a category the import knows: kept in the note; "
                    "the person is imported",
                )
            )
        return out

    def tags(self) -> tuple[int, str]:
        """Tag bits from the yes/no columns; a treatment written there."""
        bits, treatment = 0, ""
        for index, tag in self.header.tag_columns.items():
            value = self.cells[index] if index < len(self.cells) else None
            answer = columns.yes_no(value)
            if answer is None and tag == Tag.REGULAR_TREATMENT:
                # "透析" column saying "血液透析，周二四六": yes, and that is the treatment.
                answer, treatment = True, _plain(value)
            if answer is None:
                self.fail(
                    index,
                    f"“{cell_text(value)}”应为“是”或“否”（是/Y/√/1，否/N/空）",
                    f"“{cell_text(value)}” should be yes or no (是/Y/√/1, or 否/N/blank)",
                )
            elif answer:
                bits |= tag
        return bits, treatment


# Columns whose text is taken as it is: a formula there is not what the person is called
# or where they live (an Excel formula, or text a spreadsheet would run as one).
_FORMULA_CHECKED = (Col.NAME, Col.ID_NUMBER, Col.PHONE, Col.COMPOUND, Col.BUILDING, Col.UNIT)
_FORMULA_CHECKED += (Col.ROOM,)


def _unreadable_cells(r: _RowReader) -> None:
    """Cells no import should take: a NUL character anywhere; a formula where a name,
    number or address belongs (=HYPERLINK(…) is not a name, nor an empty one)."""
    for index, value in enumerate(r.cells):
        if isinstance(value, str) and "\x00" in value:
            r.fail(
                index,
                "单元格含有空字符（NUL），请删除该单元格内容后重新录入",
                "the cell contains a NUL character; clear the cell and type its value again",
            )
    for col in _FORMULA_CHECKED:
        text = r.text(col).strip()
        if len(text) > 1 and text.startswith("="):
            zh_name, en_name = columns.COL_NAMES[col]
            shown = text if len(text) <= 40 else text[:39] + "…"
            r.fail(
                col,
                f"{zh_name}是Excel公式（{shown}），不是{zh_name}本身；请填写{zh_name}，"
                "或在Excel中“选择性粘贴→数值”",
                f"the {en_name} is a spreadsheet formula ({shown}), not the {en_name} itself; "
                "type it, or paste the column as values in Excel",
            )


def _rejection(r: _RowReader, number: int) -> Rejection:
    labels = list(dict.fromkeys(p[0] for p in r.problems))
    return Rejection(
        number,
        ", ".join(labels),
        "；".join(p[1] for p in r.problems),
        "; ".join(p[2] for p in r.problems),
        cell_texts(r.cells),
    )


def parse_row(header: Header, number: int, cells: list) -> RosterRow | Rejection:
    """One row to a RosterRow, or a Rejection naming every column at fault."""
    r = _RowReader(header, cells)
    _unreadable_cells(r)
    if r.problems:  # nothing else in the row is worth checking
        return _rejection(r, number)
    id_type = r.id_type()
    id_number = r.id_number()
    residency, tags = r.labels()
    yes_no_tags, tag_treatment = r.tags()
    tags |= yes_no_tags
    building = r.address_part(Col.BUILDING, columns.building_label, MAX_BUILDING, required=True)
    unit = r.address_part(Col.UNIT, columns.unit_label, MAX_UNIT, required=False)
    room = r.address_part(Col.ROOM, columns.room_label, MAX_ROOM, required=True)
    data = None
    if id_type is not None and id_number is not None and residency:
        try:
            data = resident_validate(
                name=_person_name(r.raw(Col.NAME)),
                id_type=id_type,
                id_number=id_number,
                phone=r.text(Col.PHONE),
                residency=residency,
                tags=tags,
                language=_plain(r.raw(Col.LANGUAGE)),
                treatment=_plain(r.raw(Col.TREATMENT)) or tag_treatment,
                note=r.note(),
            )
        except DomainError as exc:
            col = _FIELD_COLUMN.get(exc.field, Col.NAME)
            digits = clean(id_number).upper()
            if col == Col.ID_NUMBER and id_type == IdType.MAINLAND and _truncated(digits):
                r.fail(col, *EXCEL_TRUNCATED)
            else:
                r.fail(col, exc.zh, exc.en)
    if r.problems or data is None:
        return _rejection(r, number)
    compound = clean(r.text(Col.COMPOUND))
    return RosterRow(
        number,
        data,
        compound,
        building,
        unit,
        room,
        cells,
        warnings=r.warnings(number),
        residency_said=r.residency_said,
    )


def _truncated(digits: str) -> bool:
    return len(digits) == 18 and digits.isdigit() and digits.endswith("000")


def same_person(first_row: int) -> tuple[str, str]:
    return (
        f"与第{first_row}行是同一人（证件号码相同）",
        f"same person as row {first_row} (same ID number)",
    )


def parse_rows(header: Header, rows: Iterable[Row]) -> Iterator[RosterRow | Rejection]:
    """Every row after the header. The second row of a person already seen is rejected."""
    seen: dict[tuple[str, str], int] = {}
    header_keys = {i: columns.key(header.labels[i]) for i in header.columns.values()}
    for number, cells in rows:
        if _repeats_header(cells, header_keys):
            continue  # printed rosters repeat the header on every page
        parsed = parse_row(header, number, cells)
        if isinstance(parsed, RosterRow):
            first = seen.setdefault((parsed.data.doc.type, parsed.data.doc.number), number)
            if first != number:
                zh, en = same_person(first)
                parsed = Rejection(number, header.label_of(Col.ID_NUMBER), zh, en, parsed.cells)
        yield parsed


def _repeats_header(cells: list, header_keys: dict[int, str]) -> bool:
    return all(
        index < len(cells) and columns.key(cell_text(cells[index])) == k
        for index, k in header_keys.items()
    )
