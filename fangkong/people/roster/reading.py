"""Cells out of a roster file, streamed: .xlsx through openpyxl's read-only mode, or .csv.

A sheet is an iterator of `(row number, cells)`; rows blank in the file are left out, and
every cell of a merged range holds the range's top-left value. Nothing reads a whole
workbook into memory.
"""

import codecs
import contextlib
import csv
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS

from fangkong.core.errors import DomainError

Row = tuple[int, list]


class RosterFileError(DomainError):
    """The file as a whole cannot be read as a roster (as against one bad row)."""

    code = "bad_file"


@dataclass
class Sheet:
    name: str
    rows: Iterator[Row]
    size: int | None  # rows in the sheet, if the file says


XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003) and other OLE files
CHUNK = 1 << 20


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@contextlib.contextmanager
def open_sheets(stream: BinaryIO) -> Iterator[Iterator[Sheet]]:
    """The sheets of a roster file (a .csv has one), whatever its name says it is."""
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise RosterFileError("文件是空的", "the file is empty")
    if head.startswith(OLE_MAGIC):
        raise RosterFileError(
            "这是旧版Excel（.xls）文件，请在Excel中“另存为”.xlsx后再导入",
            "this is an old Excel file (.xls); save it as .xlsx in Excel and import that",
        )
    if head.startswith(XLSX_MAGIC):
        with _open_workbook(stream) as workbook:
            yield (_xlsx_sheet(stream, ws) for ws in workbook.worksheets)
    else:
        sheet, text = _csv_sheet(stream)
        try:
            yield iter([sheet])
        finally:
            text.detach()  # so that dropping the text wrapper does not close `stream`


# .xlsx ----------------------------------------------------------------------------------


class _WorkbookReader(ExcelReader):
    """openpyxl's reader (what load_workbook uses), with a faster shared-string table."""

    def read_strings(self):
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = read_shared_strings(source)


def read_shared_strings(source: BinaryIO) -> list[str]:
    """The strings openpyxl's read_string_table gives, by expat callbacks in a fifth of
    the time (a roster's ID numbers and names are all different: 200,000 strings).

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


@contextlib.contextmanager
def _open_workbook(stream: BinaryIO):
    try:
        reader = _WorkbookReader(stream, read_only=True, data_only=True)
        reader.read()
        workbook = reader.wb
    except Exception:  # openpyxl raises a dozen kinds for a damaged or foreign zip
        raise RosterFileError(
            "无法读取该Excel文件（文件损坏或不是.xlsx格式）",
            "cannot read this Excel file (it is damaged or not an .xlsx workbook)",
        ) from None
    try:
        yield workbook
    finally:
        workbook.close()


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


def _xlsx_sheet(stream: BinaryIO, ws) -> Sheet:
    merged, last_row = scan_sheet(stream, getattr(ws, "_worksheet_path", ""))
    # The <dimension> a file declares may be wrong or missing; read every row there is.
    size = last_row or ws.max_row
    return Sheet(ws.title, fill_merged(_sheet_rows(ws), merged), size)


# <row r="12" ...> and <mergeCell ref="A3:A5"/>, with or without a namespace prefix.
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|mergeCell)\b([^>]*)>")
_ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d+)[\"']")
_REF = re.compile(rb"\bref\s*=\s*[\"']([A-Za-z0-9:$]+)[\"']")


def scan_sheet(stream: BinaryIO, sheet_path: str) -> tuple[list[tuple[int, int, int, int]], int]:
    """A sheet's merged ranges as (min_col, min_row, max_col, max_row), and its last row.

    openpyxl's read-only mode does not expose merged ranges. They sit in <mergeCells>
    after all of <sheetData>, so an XML parse must walk every cell to reach them (about
    7 s for 100,000 rows); instead the decompressed sheet is streamed through a byte
    search for the two tags, which cannot occur inside cell text (a "<" there is
    escaped). The last row number is had on the way, for the progress bar.
    """
    if not sheet_path:
        return [], 0
    ranges, last_row, tail = [], 0, b""
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
                        with contextlib.suppress(ValueError, TypeError):
                            bounds = range_boundaries(ref.group(1).decode().replace("$", ""))
                            if None not in bounds:
                                ranges.append(bounds)
                # Keep what may be a tag cut in two by the chunk boundary.
                tail = buffer[max(end, len(buffer) - 512) :]
    stream.seek(0)
    return ranges, last_row


def fill_merged(rows: Iterable[tuple[int, Iterable]], ranges) -> Iterator[Row]:
    """Give every cell of a merged range its top-left value; leave out rows blank in the file.

    A row counts as blank by what the file holds in it, so the tail of a merged address
    column running past the last person does not make a row.
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
            for _max_row, min_col, max_col, value in active:
                if len(cells) < max_col:
                    cells.extend([None] * (max_col - len(cells)))
                cells[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
        if not blank:
            yield number, cells


# .csv -----------------------------------------------------------------------------------

DELIMITERS = (",", "\t", ";", "|")


def _csv_sheet(stream: BinaryIO) -> tuple[Sheet, io.TextIOWrapper]:
    encoding, lines = _encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(64 * 1024)
    text.seek(0)
    delimiter = sniff_delimiter(sample)
    return Sheet("csv", _csv_rows(text, delimiter), lines), text


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
        raise RosterFileError(
            "无法识别的文件：请上传.xlsx或.csv花名册",
            "this is not a roster file: upload an .xlsx or .csv roster",
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
    raise RosterFileError(
        "文件编码无法识别：请存为UTF-8或GBK编码的CSV，或直接上传.xlsx",
        "cannot tell the text encoding: save the CSV as UTF-8 or GBK, or upload the .xlsx",
    )


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def _binary(sample: bytes) -> bool:
    """Whether the file's start looks like a binary file rather than text: control
    bytes (NUL and the like, which text does not hold) are more than a few and more
    than one byte in a hundred (UTF-16 without its mark is half NULs). A NUL or two in
    a cell of a text roster is that row's fault, found and named when it is read."""
    controls = len(_CONTROL.findall(sample))
    return controls > 16 and controls * 100 > len(sample)


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


def _csv_rows(text: io.TextIOWrapper, delimiter: str) -> Iterator[Row]:
    # A NUL stays in its cell: the row is refused naming it (parsing.parse_row).
    reader = csv.reader(text, delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if not all(_empty(c) for c in cells):
                yield number, cells
    except csv.Error as exc:
        raise RosterFileError(
            f"CSV文件第{number + 1}行格式错误：{exc}",
            f"the CSV file is malformed at row {number + 1}: {exc}",
        ) from None
