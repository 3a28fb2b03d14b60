"""The workforce numbers as .xlsx (one sheet a table), written by the service that audits it."""

import io

from django.db import transaction
from openpyxl import Workbook

from fangkong.core.audit import audit_record
from fangkong.core.guards import authorize

from .permissions import can_read_numbers
from .selectors import Numbers, numbers

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SHEETS = [
    (
        "按社区 By community",
        "by_community",
        [
            ("社区代码 Code", "code"),
            ("社区 Community", "name"),
            ("需求 Asked", "asked"),
            ("已调配 Allocated", "allocated"),
            ("已报到 Reported", "reported"),
            ("已确认 Confirmed", "confirmed"),
        ],
    ),
    (
        "按单位 By organ",
        "by_organ",
        [("单位 Organ", "organ"), ("待确认 Pending", "pending"), ("已确认 Confirmed", "confirmed")],
    ),
    ("单位工时 Organ hours", "hours_by_organ", [("单位 Organ", "organ"), ("小时 Hours", "hours")]),
    ("小组工时 Team hours", "hours_by_team", [("小组 Team", "team"), ("小时 Hours", "hours")]),
    (
        "支部工时 Branch hours",
        "hours_by_branch",
        [("支部 Branch", "branch"), ("小时 Hours", "hours")],
    ),
    (
        "个人工时 Worker hours",
        "hours_by_worker",
        [("姓名 Name", "worker"), ("小时 Hours", "hours")],
    ),
    (
        "岗位人次 By post kind",
        "person_times_by_kind",
        [("岗位 Post kind", "label"), ("人次 Person-times", "n")],
    ),
]


def _cell(value):
    """Text never becomes a formula."""
    if isinstance(value, str) and value[:1] in "=+-@":
        return "'" + value
    return value


def write_numbers(n: Numbers) -> bytes:
    book = Workbook(write_only=True)
    summary = book.create_sheet("概况 Summary")
    summary.append(["项目 Item", "数 Value"])
    for label, value in [
        ("人员 Workers", n.workers),
        ("今日报到 Reported in today", n.reported_today),
        ("在岗 On duty now", n.on_duty_now),
        ("空缺 Open seats", n.open_seats),
        ("召集 Call-outs", n.callouts.get("count", 0)),
        ("召集已满员 Filled", n.callouts.get("filled", 0)),
        ("响应中位秒数 Median response (s)", n.callouts.get("median_seconds")),
    ]:
        summary.append([label, value])
    for title, key, columns in SHEETS:
        sheet = book.create_sheet(title[:31])
        sheet.append([c[0] for c in columns])
        for row in getattr(n, key):
            sheet.append([_cell(row[c[1]]) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@transaction.atomic
def numbers_export(*, actor, area=None) -> bytes:
    """The numbers of the actor's jurisdiction (or an area of it) as .xlsx; audited."""
    authorize(actor, can_read_numbers, area=area.code if area is not None else "")
    data = write_numbers(numbers(actor, area))
    audit_record(
        actor=actor,
        event="workforce.numbers_export",
        target=area,
        area_code=area.code if area is not None else "",
    )
    return data
