"""The rejected rows of an import as a downloadable .xlsx, and the writing both files share."""

import json
import re
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fangkong.core import pii
from fangkong.core.audit import audit_record
from fangkong.core.errors import PermissionDenied
from fangkong.people.permissions import can_import_roster

from ..models import ImportJob

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_HEADER = ["行号 Row", "列 Column", "原因 Reason (zh)", "Reason (en)"]
WARNING_HEADER = ["行号 Row", "列 Column", "内容 Value", "说明 (zh)", "Note (en)"]
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


def write_only_sheet(title: str):
    """A streaming workbook and its one sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_SHEET_TITLE_BAD.sub("", title)[:31] or "Sheet1")
    return workbook, sheet


def cells(sheet, values: list) -> list:
    """A row as written: text stays text, even text that starts with "=".

    openpyxl would take "=..." for a formula; a roster cell must never become one.
    Characters XML cannot hold are dropped.
    """
    out = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith("="):
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"
                value = cell
        out.append(value)
    return out


def roster_report(*, actor, job: ImportJob, out: BinaryIO) -> int:
    """Write the rejected rows of `job` to `out` as .xlsx, and on a second sheet the rows
    imported with a warning (a label kept in the note); how many rejected.

    The cells are the file's own, ID numbers included, so reading them is audited.
    `actor` None is the system (the CLI).
    """
    if actor is not None and not (can_import_roster(actor) and actor.may_see_area(job.area_code)):
        raise PermissionDenied("无权查看该导入", "you may not see this import")
    workbook, sheet = write_only_sheet("rejected")
    sheet.append(cells(sheet, REPORT_HEADER + list(job.header)))
    n = 0
    for rejection in job.rejections.order_by("row", "id").iterator(chunk_size=2000):
        original = json.loads(pii.decrypt(rejection.cells_cipher))
        row = [rejection.row, rejection.column, rejection.reason_zh, rejection.reason_en]
        sheet.append(cells(sheet, row + original))
        n += 1
    warned = workbook.create_sheet("warnings")
    warned.append(cells(warned, WARNING_HEADER))
    for w in job.warnings.order_by("row", "id").iterator(chunk_size=2000):
        warned.append(cells(warned, [w.row, w.column, w.value, w.reason_zh, w.reason_en]))
    workbook.save(out)
    audit_record(
        actor=actor,
        event="people.roster_report",
        target=job,
        area_code=job.area_code,
        # The rows are the file's own cells: whole ID and phone numbers, as typed.
        detail={"rows": n, "file": job.file_name, "full_numbers": True},
    )
    return n
