"""Reading spreadsheets people upload (.xlsx, .csv): streamed, and bounded.

Every import of a file (rosters, lab results, and whatever comes next) reads it here, so
every one has the same limits and the same refusals. A file is hostile until proven
otherwise: a 121 KB workbook can hold hundreds of thousands of merged ranges, a zip can
inflate a thousandfold, a CSV can hold one cell of 100 MB. The limits come from settings
(`FANGKONG_SHEET_*`, see `Limits`), and each refusal is a `SpreadsheetError`: bilingual,
naming the row and column where there is one.

Two steps, so that a request never parses a hostile file:

    kind = inspect(stream)           # cheap: size, type, the zip's directory; no parsing
    ...store the upload, enqueue the task...
    with open_table(stream) as table:              # in the task
        for record in table.records:               # Record(row=5, values={"姓名": "张三", …})
            ...

- `inspect(stream) -> Inspection`: the file's kind, size, unpacked size and estimated
  rows, from the bytes and the zip's central directory only. Refuses an old .xls, a
  broken zip, one too big packed or unpacked, or inflating beyond the ratio. Small files
  (`Inspection.small`) may be read in the request; others go to a background task.
- `open_table(stream) -> Table`: the first sheet's first non-blank row as the header,
  then `Record(row, values)` for every non-blank row: `values` maps each header to the
  cell as text (`cell_text`). For imports whose header sits lower or whose cells must stay
  typed (an ID number Excel made a float), `open_sheets(stream)` gives every sheet's
  `(row number, [raw cell values])`.
- `RowError(row, column, code, zh, en)`: how a caller reports a bad row, the same way in
  every import.

Rows are numbered as the spreadsheet shows them (the header of a plain file is row 1);
rows blank in the file are left out; every cell of a merged range holds the range's
top-left value. Nothing reads a whole workbook into memory.
"""

import codecs
import contextlib
import csv
import datetime as dt
import functools
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO
from xml.parsers import expat

from django.conf import settings
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from .errors import DomainError

RawRow = tuple[int, list]
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003) and other OLE files
CHUNK = 1 << 20
MB = 1 << 20


class SpreadsheetError(DomainError):
    """The file as a whole cannot be read (as against one bad row): bilingual, with the
    row and column where the reader stopped, if it was at one."""

    code = "bad_file"

    def __init__(self, zh: str, en: str, *, row: int | None = None, column: str = ""):
        if row is not None:
            where_zh = f"第{row}行" + (f"第{column}列" if column else "")
            where_en = f"row {row}" + (f", column {column}" if column else "")
            zh, en = f"{where_zh}：{zh}", f"{where_en}: {en}"
        super().__init__(zh, en, field="file")
        self.row, self.column = row, column


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row of an import: which row and column, a stable code, both languages."""

    row: int
    column: str
    code: str
    zh: str
    en: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
        }


@dataclass(frozen=True)
class Limits:
    """What a file may hold; defaults from settings (FANGKONG_SHEET_*)."""

    max_bytes: int  # the file as uploaded
    max_unpacked: int  # an .xlsx's parts, inflated
    max_ratio: int  # inflated ÷ packed, for any part over 1 MB inflated
    max_parts: int  # files in the zip
    max_rows: int
    max_columns: int
    max_merged: int  # merged ranges in a sheet
    max_shared_strings: int
    max_cell_chars: int
    inline_bytes: int  # a file this small (inflated) may be read inside a request

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_bytes=settings.FANGKONG_SHEET_MAX_BYTES,
            max_unpacked=settings.FANGKONG_SHEET_MAX_UNPACKED_BYTES,
            max_ratio=settings.FANGKONG_SHEET_MAX_RATIO,
            max_parts=settings.FANGKONG_SHEET_MAX_PARTS,
            max_rows=settings.FANGKONG_SHEET_MAX_ROWS,
            max_columns=settings.FANGKONG_SHEET_MAX_COLUMNS,
            max_merged=settings.FANGKONG_SHEET_MAX_MERGED,
            max_shared_strings=settings.FANGKONG_SHEET_MAX_SHARED_STRINGS,
            max_cell_chars=settings.FANGKONG_SHEET_MAX_CELL_CHARS,
            inline_bytes=settings.FANGKONG_SHEET_INLINE_BYTES,
        )


@dataclass(frozen=True)
class Inspection:
    kind: str  # "xlsx" or "csv"
    size: int  # bytes as uploaded
    unpacked: int  # bytes inflated (a CSV: its size)
    rows: int | None  # what the file says (a CSV's lines, an .xlsx's first <dimension>)
    small: bool  # may be read inside a request


@dataclass
class Sheet:
    name: str
    rows: Iterator[RawRow]
    size: int | None  # rows in the sheet, if the file says


@dataclass(frozen=True, slots=True)
class Record:
    row: int
    values: dict[str, str]


@dataclass
class Table:
    sheet: str
    header: list[str]
    records: Iterator[Record]


def _mb(n: int) -> str:
    return f"{n / MB:.0f}"


# Step 1: cheap checks -------------------------------------------------------------------


def inspect(stream: BinaryIO, limits: Limits | None = None) -> Inspection:
    """What kind of file this is and whether it may be read at all, without parsing it."""
    limits = limits or Limits.from_settings()
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise SpreadsheetError("文件是空的", "the file is empty")
    if size > limits.max_bytes:
        raise SpreadsheetError(
            f"文件过大（{_mb(size)}MB，最多{_mb(limits.max_bytes)}MB）",
            f"the file is too big ({_mb(size)} MB; at most {_mb(limits.max_bytes)} MB)",
        )
    if head.startswith(OLE_MAGIC):
        raise SpreadsheetError(
            "这是旧版Excel（.xls）文件，请在Excel中“另存为”.xlsx后再上传",
            "this is an old Excel file (.xls); save it as .xlsx in Excel and upload that",
        )
    if head.startswith(XLSX_MAGIC):
        unpacked, rows = _check_zip(stream, limits)
        kind = "xlsx"
    else:
        unpacked, kind = size, "csv"
        rows = _count_lines(stream)
    return Inspection(kind, size, unpacked, rows, unpacked <= limits.inline_bytes)


def _count_lines(stream: BinaryIO) -> int:
    lines = 0
    while chunk := stream.read(CHUNK):
        lines += chunk.count(b"\n")
    stream.seek(0)
    return lines + 1


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*\bref\s*=\s*[\"']([A-Za-z0-9:$]+)[\"']")


def _check_zip(stream: BinaryIO, limits: Limits) -> tuple[int, int | None]:
    """The zip's directory against the limits (zipfile never inflates a part beyond the
    size the directory declares, so the declared sizes bound what reading costs); the
    inflated size and the first sheet's declared rows."""
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            if len(infos) > limits.max_parts:
                raise SpreadsheetError(
                    f"Excel文件含{len(infos)}个部件，超过上限{limits.max_parts}",
                    f"the Excel file has {len(infos)} parts, more than {limits.max_parts}",
                )
            total = sum(i.file_size for i in infos)
            if total > limits.max_unpacked:
                raise SpreadsheetError(
                    f"Excel文件解压后过大（{_mb(total)}MB，最多{_mb(limits.max_unpacked)}MB）",
                    f"the Excel file is too big unpacked ({_mb(total)} MB; at most "
                    f"{_mb(limits.max_unpacked)} MB)",
                )
            for info in infos:
                if info.file_size > MB and info.file_size > limits.max_ratio * max(
                    info.compress_size, 1
                ):
                    raise SpreadsheetError(
                        f"Excel文件的部件{info.filename}压缩比异常（超过{limits.max_ratio}倍），"
                        "疑为恶意文件",
                        f"part {info.filename} of the Excel file inflates more than "
                        f"{limits.max_ratio} times: refused as a likely zip bomb",
                    )
            rows = _declared_rows(archive)
    except zipfile.BadZipFile:
        raise _unreadable() from None
    finally:
        stream.seek(0)
    return total, rows


def _declared_rows(archive: zipfile.ZipFile) -> int | None:
    """Rows of the first worksheet by its <dimension>, from its first few KB."""
    names = sorted(n for n in archive.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n))
    if not names:
        return None
    with archive.open(names[0]) as part:
        head = part.read(4096)
    match = _DIMENSION.search(head)
    if not match:
        return None
    with contextlib.suppress(ValueError, TypeError):
        bounds = range_boundaries(match.group(1).decode().replace("$", ""))
        if bounds[3] is not None:
            return bounds[3]
    return None


def _unreadable() -> SpreadsheetError:
    return SpreadsheetError(
        "无法读取该Excel文件（文件损坏或不是.xlsx格式）",
        "cannot read this Excel file (it is damaged or not an .xlsx workbook)",
    )


# Step 2: reading, with the limits enforced as it streams ------------------------------


@contextlib.contextmanager
def open_sheets(stream: BinaryIO, limits: Limits | None = None) -> Iterator[Iterator[Sheet]]:
    """The sheets of a file (a .csv has one), whatever its name says it is; cells raw
    (as openpyxl types them, or text from a CSV)."""
    limits = limits or Limits.from_settings()
    kind = inspect(stream, limits).kind
    if kind == "xlsx":
        with _open_workbook(stream, limits) as workbook:
            yield (_xlsx_sheet(stream, ws, limits) for ws in workbook.worksheets)
    else:
        sheet, text = _csv_sheet(stream, limits)
        try:
            yield iter([sheet])
        finally:
            text.detach()  # so that dropping the text wrapper does not close `stream`


@contextlib.contextmanager
def open_table(stream: BinaryIO, limits: Limits | None = None) -> Iterator[Table]:
    """The first sheet as a header and records of text (see the module's docstring).

    Headers are the header row's cells as text, trimmed; a blank one is named by its
    column letter ("F"), a repeated one gets its letter too ("姓名 (F)")."""
    with open_sheets(stream, limits) as sheets:
        sheet = next(sheets, None)
        if sheet is None:
            raise SpreadsheetError("文件中没有工作表", "the file has no sheet")
        first = next(sheet.rows, None)
        if first is None:
            raise SpreadsheetError("文件中没有数据", "the file holds no rows")
        header = _header_names(first[1])
        yield Table(sheet.name, header, _records(header, sheet.rows))


def _header_names(cells: list) -> list[str]:
    names = [cell_text(c).strip() for c in cells]
    counts = Counter(names)
    out = []
    for i, name in enumerate(names):
        letter = get_column_letter(i + 1)
        out.append(name if name and counts[name] == 1 else f"{name} ({letter})" if name else letter)
    return out


def _records(header: list[str], rows: Iterator[RawRow]) -> Iterator[Record]:
    width = len(header)
    for number, cells in rows:
        texts = [cell_text(c) for c in cells[:width]]
        texts += [""] * (width - len(texts))
        yield Record(number, dict(zip(header, texts, strict=True)))


def cell_text(value: object) -> str:
    """A cell as text, as a person reading the sheet would copy it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        # As Excel shows it: 15 significant digits, so 431102197503091234 (stored by
        # Excel as 4.31102197503091E+17) reads 431102197503091000.
        return format(Decimal(repr(value)).to_integral_value(), "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Guard:
    """Counts rows and checks each row's width and cells as they stream by."""

    def __init__(self, limits: Limits):
        self.limits = limits

    def row(self, number: int, cells: list, text_only: bool = False) -> None:
        limits = self.limits
        if number > limits.max_rows:
            raise SpreadsheetError(
                f"行数超过上限{limits.max_rows}", f"more than {limits.max_rows} rows", row=number
            )
        if len(cells) > limits.max_columns:
            last = max((i for i, c in enumerate(cells) if not _empty(c)), default=-1)
            if last >= limits.max_columns:
                raise SpreadsheetError(
                    f"列数超过上限{limits.max_columns}",
                    f"more than {limits.max_columns} columns",
                    row=number,
                    column=get_column_letter(last + 1),
                )
            del cells[limits.max_columns :]
        if text_only and sum(map(len, cells)) <= limits.max_cell_chars:
            return  # no cell can be too long (checked in C: a million rows go by here)
        for i, cell in enumerate(cells):
            if type(cell) is str and len(cell) > limits.max_cell_chars:
                raise SpreadsheetError(
                    f"单元格超过{limits.max_cell_chars}个字符",
                    f"a cell holds more than {limits.max_cell_chars} characters",
                    row=number,
                    column=get_column_letter(i + 1),
                )


# .xlsx ----------------------------------------------------------------------------------


def read_shared_strings(source: BinaryIO, limit: int | None = None) -> list[str]:
    """The strings openpyxl's read_string_table gives, by expat callbacks in a fifth of
    the time (a roster's ID numbers and names are all different: 200,000 strings), and
    refusing a table of more than `limit` strings as soon as it gets there.

    A string is the text of its <t>, or of its runs' <t>s; phonetic guides (<rPh>) are
    not part of it.
    """
    strings: list[str] = []
    parts: list[str] = []
    state = {"phonetic": 0, "text": False}

    def start(name: str, attrs) -> None:
        local = name.rpartition(" ")[2]
        if local == "si":
            parts.clear()
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "t":
            state["text"] = not state["phonetic"]

    def end(name: str) -> None:
        local = name.rpartition(" ")[2]
        if local == "si":
            strings.append("".join(parts).replace("x005F_", ""))
            if limit is not None and len(strings) > limit:
                raise SpreadsheetError(
                    f"Excel文件的共享字符串超过上限{limit}",
                    f"the Excel file has more than {limit} shared strings",
                )
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "t":
            state["text"] = False

    def text(data: str) -> None:
        if state["text"]:
            parts.append(data)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text
    parser.ParseFile(source)
    return strings


def _workbook_reader(stream: BinaryIO, limits: Limits):
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class _WorkbookReader(ExcelReader):
        """openpyxl's reader (what load_workbook uses), with a faster, bounded
        shared-string table."""

        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = read_shared_strings(source, limits.max_shared_strings)

    return _WorkbookReader(stream, read_only=True, data_only=True)


@contextlib.contextmanager
def _open_workbook(stream: BinaryIO, limits: Limits):
    try:
        reader = _workbook_reader(stream, limits)
        reader.read()
        workbook = reader.wb
    except SpreadsheetError:
        raise
    except Exception:  # openpyxl raises a dozen kinds for a damaged or foreign zip
        raise _unreadable() from None
    try:
        yield workbook
    finally:
        workbook.close()


def _xlsx_sheet(stream: BinaryIO, ws, limits: Limits) -> Sheet:
    merged, last_row = scan_sheet(stream, getattr(ws, "_worksheet_path", ""), limits)
    # The <dimension> a file declares may be wrong or missing; read every row there is.
    size = last_row or ws.max_row
    return Sheet(ws.title, _guarded_xlsx_rows(ws, merged, limits), size)


class _CellParser(WorkSheetParser):
    """openpyxl's cell parser giving each cell's cached value (what Excel shows), as
    `data_only=True` does, except that a formula with no cached value (a file written by
    a program, not by Excel) comes as its formula text, "=HYPERLINK(…)", rather than as
    an empty cell: the row is then refused for what it holds, not for a blank."""

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        if cell["value"] is None and element.find(FORMULA_TAG) is not None:
            cell["value"] = "=" + (element.findtext(FORMULA_TAG) or "")
        return cell


def _sheet_rows(ws) -> Iterator[tuple[int, list]]:
    """Every row the sheet holds, numbered as in the file, however wrong the <dimension>
    it declares (what iter_rows after reset_dimensions gives, through _CellParser)."""
    book = ws.parent
    with ws._get_source() as source:
        parser = _CellParser(
            source,
            ws._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            yield number, list(ws._get_row(cells, 1, None, values_only=True))


def _guarded_xlsx_rows(ws, merged, limits: Limits) -> Iterator[RawRow]:
    guard = _Guard(limits)

    def rows():
        for number, cells in _sheet_rows(ws):
            guard.row(number, cells)
            yield number, cells

    try:
        yield from fill_merged(rows(), merged, limits.max_columns)
    except SpreadsheetError:
        raise
    except Exception:  # a sheet openpyxl cannot parse half-way
        raise _unreadable() from None


# <row r="12" ...> and <mergeCell ref="A3:A5"/>, with or without a namespace prefix.
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|mergeCell)\b([^>]*)>")
_ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d+)[\"']")
_REF = re.compile(rb"\bref\s*=\s*[\"']([A-Za-z0-9:$]+)[\"']")


def scan_sheet(
    stream: BinaryIO, sheet_path: str, limits: Limits | None = None
) -> tuple[list[tuple[int, int, int, int]], int]:
    """A sheet's merged ranges as (min_col, min_row, max_col, max_row), and its last row.

    openpyxl's read-only mode does not expose merged ranges. They sit in <mergeCells>
    after all of <sheetData>, so an XML parse must walk every cell to reach them (about
    7 s for 100,000 rows); instead the decompressed sheet is streamed through a byte
    search for the two tags, which cannot occur inside cell text (a "<" there is
    escaped). The last row number is had on the way, for the progress bar. More ranges
    than the limit, or a range reaching beyond the row or column limit, refuse the file
    at once (a small file can hold hundreds of thousands of them).
    """
    limits = limits or Limits.from_settings()
    if not sheet_path:
        return [], 0
    ranges: list[tuple[int, int, int, int]] = []
    last_row, tail = 0, b""
    with zipfile.ZipFile(stream) as archive:
        try:
            source = archive.open(sheet_path.lstrip("/"))
        except KeyError:
            return [], 0
        with source:
            while chunk := source.read(CHUNK):
                buffer = tail + chunk
                end = 0
                for match in _TAG.finditer(buffer):
                    end = match.end()
                    if match.group(1) == b"row":
                        number = _ROW_NUMBER.search(match.group(2))
                        last_row = int(number.group(1)) if number else last_row + 1
                    elif ref := _REF.search(match.group(2)):
                        bounds = _merged_bounds(ref.group(1))
                        if bounds is not None:
                            _check_merged(bounds, len(ranges) + 1, limits)
                            ranges.append(bounds)
                # Keep what may be a tag cut in two by the chunk boundary.
                tail = buffer[max(end, len(buffer) - 512) :]
    stream.seek(0)
    return ranges, last_row


_RANGE = re.compile(rb"^\$?([A-Za-z]{1,3})\$?(\d{1,7}):\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


@functools.lru_cache(maxsize=4096)
def _column(letters: bytes) -> int:
    return column_index_from_string(letters.decode().upper())


def _merged_bounds(ref: bytes):
    """(min_col, min_row, max_col, max_row) of "B3:D5" (a tenth of openpyxl's time: a
    forged sheet has hundreds of thousands), or None for a ref that is not a range."""
    match = _RANGE.match(ref)
    if match is None:
        return None
    with contextlib.suppress(ValueError):
        a, r1, b, r2 = match.groups()
        c1, c2, r1, r2 = _column(a), _column(b), int(r1), int(r2)
        return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)
    return None


def _check_merged(bounds, count: int, limits: Limits) -> None:
    if count > limits.max_merged:
        raise SpreadsheetError(
            f"合并单元格区域超过上限{limits.max_merged}个，疑为恶意文件；请取消合并后再上传",
            f"more than {limits.max_merged} merged ranges: refused as a likely hostile file; "
            "unmerge the cells and upload again",
        )
    min_col, min_row, max_col, max_row = bounds
    if max_col > limits.max_columns or max_row > limits.max_rows:
        raise SpreadsheetError(
            f"合并区域{get_column_letter(min_col)}{min_row}超出行数或列数上限"
            f"（{limits.max_rows}行、{limits.max_columns}列）",
            f"the merged range at {get_column_letter(min_col)}{min_row} reaches beyond "
            f"{limits.max_rows} rows or {limits.max_columns} columns",
        )


def fill_merged(rows: Iterable[RawRow], ranges, max_columns: int = 16384) -> Iterator[RawRow]:
    """Give every cell of a merged range its top-left value; leave out rows blank in the file.

    A row counts as blank by what the file holds in it, so the tail of a merged address
    column running past the last person does not make a row. Excel's merged ranges never
    overlap, so no more than `max_columns` can be open at a row; more is a forged file.
    """
    starting = defaultdict(list)
    for min_col, min_row, max_col, max_row in ranges:
        if max_row > min_row or max_col > min_col:
            starting[min_row].append((min_col, max_col, max_row))
    active: list[tuple[int, int, int, object]] = []  # (max_row, min_col, max_col, value)
    for number, values in rows:
        cells = list(values)
        blank = all(_empty(c) for c in cells)
        for min_col, max_col, max_row in starting.pop(number, ()):
            value = cells[min_col - 1] if len(cells) >= min_col else None
            active.append((max_row, min_col, max_col, value))
        if active:
            active = [a for a in active if a[0] >= number]
            if len(active) > max_columns:
                raise SpreadsheetError(
                    "合并区域相互重叠，疑为恶意文件",
                    "merged ranges overlap: refused as a likely hostile file",
                    row=number,
                )
            for _max_row, min_col, max_col, value in active:
                if len(cells) < max_col:
                    cells.extend([None] * (max_col - len(cells)))
                cells[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
        if not blank:
            yield number, cells


# .csv -----------------------------------------------------------------------------------

DELIMITERS = (",", "\t", ";", "|")


def _csv_sheet(stream: BinaryIO, limits: Limits) -> tuple[Sheet, io.TextIOWrapper]:
    encoding, lines = _encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(64 * 1024)
    text.seek(0)
    delimiter = sniff_delimiter(sample)
    return Sheet("csv", _csv_rows(text, delimiter, limits), lines), text


def _encoding(stream: BinaryIO) -> tuple[str, int]:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode text"), or GB18030.

    Decodes the whole file once per candidate, so a bad byte late in the file is found
    before any row is imported. Also counts the lines, for the progress bar.
    """
    head = stream.read(4)
    stream.seek(0)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = ["utf-16"]
    elif _binary(stream.read(8192)):
        raise SpreadsheetError(
            "无法识别的文件：请上传.xlsx或.csv文件",
            "this is not a spreadsheet: upload an .xlsx or .csv file",
        )
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        try:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
                lines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        stream.seek(0)
        return encoding, lines + 1
    raise SpreadsheetError(
        "文件编码无法识别：请存为UTF-8或GBK编码的CSV，或直接上传.xlsx",
        "cannot tell the text encoding: save the CSV as UTF-8 or GBK, or upload the .xlsx",
    )


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the most lines into the same number of cells.

    Title rows have none, and a note full of commas in a tab-separated file varies from
    line to line, while the real delimiter comes the same number of times on every row.
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = Counter(n for n in (line.count(delimiter) for line in lines) if n)
        if counts:
            count, lines_with_it = counts.most_common(1)[0]
            if (lines_with_it, count) > best_score:
                best, best_score = delimiter, (lines_with_it, count)
    return best


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def _binary(sample: bytes) -> bool:
    """Whether the file's start looks like a binary file rather than text: control
    bytes (NUL and the like, which text does not hold) are more than a few and more
    than one byte in a hundred (UTF-16 without its mark is half NULs). A NUL or two in
    a cell of a text file is that row's fault, found and named when it is read."""
    controls = len(_CONTROL.findall(sample))
    return controls > 16 and controls * 100 > len(sample)


def _csv_rows(text: io.TextIOWrapper, delimiter: str, limits: Limits) -> Iterator[RawRow]:
    # A NUL stays in its cell: the import refuses that row, naming the cell.
    reader = csv.reader(text, delimiter=delimiter)
    guard = _Guard(limits)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if "".join(cells).strip():  # not a blank row (in C: a million rows go by here)
                guard.row(number, cells, text_only=True)
                yield number, cells
    except csv.Error as exc:
        raise SpreadsheetError(
            f"CSV格式错误：{exc}", f"the CSV file is malformed: {exc}", row=number + 1
        ) from None
