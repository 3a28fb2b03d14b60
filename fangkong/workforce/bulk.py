"""Bulk enrolment: an organ's liaison (or an office) enrols staff from a spreadsheet, to
the standard of the roster import: every rejected row says its row, column and reason in
both languages, the good rows go in, and importing the same file again changes nothing.

Columns are found by their header (Chinese or English, any order); see COLUMNS.
"""

import hashlib
import io
import re
from typing import BinaryIO

from django.db import transaction

from fangkong.areas.models import Area, Level
from fangkong.core import spreadsheets
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import authorize
from fangkong.core.idnumbers import IdType

from . import services
from .jurisdiction import liaison_organ_id, require_liaison_or_office
from .models import BulkEnrolJob, Organ, Skill, Worker, worker_id_hash
from .permissions import can_enrol

# field: (header names accepted, required)
COLUMNS = {
    "name": (("姓名", "name"), True),
    "id_number": (("身份证号", "证件号码", "id number", "id_number"), True),
    "phone": (("手机号", "手机", "电话", "phone"), True),
    "home_community": (("居住社区", "社区", "home community", "home_community"), True),
    "id_type": (("证件类型", "id type", "id_type"), False),
    "party_member": (("党员", "party member", "party_member"), False),
    "skills": (("技能", "skills"), False),
    "nights": (("可值夜班", "夜班", "nights"), False),
}
ID_TYPES = {
    "身份证": IdType.MAINLAND,
    "护照": IdType.PASSPORT,
    "港澳通行证": IdType.HK_MACAO,
    "台湾通行证": IdType.TAIWAN,
}
YES = {"是", "y", "yes", "1", "true", "√", "党员"}
NO = {"", "否", "n", "no", "0", "false", "×"}
# Enrolled inside the request (a few milliseconds a row); more rows: split the file.
MAX_ROWS = 5000


def _columns(header: list[str]) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]
    found, missing = {}, []
    for field, (names, required) in COLUMNS.items():
        index = next((lowered.index(n.lower()) for n in names if n.lower() in lowered), None)
        if index is not None:
            found[field] = index
        elif required:
            missing.append(names[0])
    if missing:
        raise spreadsheets.SpreadsheetError(
            f"缺少列：{'、'.join(missing)}", f"missing column(s): {', '.join(missing)}"
        )
    return found


def _reader(columns: dict[str, int], cells: list[str]):
    def cell(field: str) -> str:
        i = columns.get(field)
        return cells[i] if i is not None and i < len(cells) else ""

    return cell


def _flag(text: str, field: str) -> bool:
    t = text.strip().lower()
    if t in YES:
        return True
    if t in NO:
        return False
    raise DomainError(f"应填是或否，实为“{text}”", f"must be yes or no, not “{text}”", field=field)


def _skills(text: str, by_name: dict[str, str]) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;；、,，/]", text) if p.strip()]
    return [by_name.get(p, by_name.get(p.lower(), p)) for p in parts]


@transaction.atomic
def bulk_enrol(
    *, actor, file_name: str, stream: BinaryIO, organ_id: int | None = None
) -> BulkEnrolJob:
    """Enrol (or update) every good row; reject each bad one with its row and column."""
    authorize(actor, can_enrol)
    require_liaison_or_office(actor)
    kind = spreadsheets.inspect(stream)
    if kind.rows is not None and kind.rows > MAX_ROWS + 1:
        raise spreadsheets.SpreadsheetError(
            f"超过{MAX_ROWS}行，请分批导入", f"more than {MAX_ROWS} rows; split the file"
        )
    data = stream.read()
    organ_id = liaison_organ_id(actor) or organ_id
    organ = Organ.objects.filter(pk=organ_id).first() if organ_id else None
    job = BulkEnrolJob(
        organ=organ,
        by=actor if getattr(actor, "pk", None) else None,
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
    )
    with spreadsheets.open_table(io.BytesIO(data)) as table:
        _enrol_rows(actor, organ, job, table)
    job.save()
    audit_record(
        actor=actor,
        event="workforce.worker_bulk_enrol",
        target=job,
        detail={
            "organ": organ.name if organ else "",
            "rows": job.rows,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
        },
    )
    return job


def _enrol_rows(actor, organ, job: BulkEnrolJob, table) -> None:
    header = table.header
    columns = _columns(header)
    by_name = {}
    for code, zh, en in Skill.objects.values_list("code", "name_zh", "name_en"):
        by_name.update({code: code, zh: code, en.lower(): code})
    communities: dict[str, str] = {}
    named: dict[str, list[str]] = {}
    for code, name in Area.objects.filter(level=Level.COMMUNITY).values_list("code", "name"):
        communities[code] = code
        named.setdefault(name, []).append(code)
    # A name held by one community stands for it; a name held by several (新华社区 in
    # two streets) stands for none: the row must give the code.
    ambiguous = {name for name, codes in named.items() if len(codes) > 1}
    communities.update({name: codes[0] for name, codes in named.items() if len(codes) == 1})
    rows_of: dict[str, int] = {}  # ID hash → the row of this file that enrolled it
    rejections = []
    for record in table.records:
        number = record.row
        if job.rows >= MAX_ROWS:
            raise spreadsheets.SpreadsheetError(
                f"超过{MAX_ROWS}行，请分批导入", f"more than {MAX_ROWS} rows; split the file"
            )
        job.rows += 1
        cell = _reader(columns, [record.values.get(h, "").strip() for h in header])
        try:
            with transaction.atomic():
                outcome, id_hash = _row(
                    actor, organ, cell, by_name, communities, ambiguous, rows_of
                )
        except DomainError as exc:
            rejections.append(_rejection(number, exc, header, columns))
            job.rejected += 1
            continue
        rows_of[id_hash] = number
        setattr(job, outcome, getattr(job, outcome) + 1)
    job.rejections = rejections[:2000]


def _rejection(number: int, exc: DomainError, header: list[str], columns: dict) -> dict:
    """A rejected row as the roster import reports one: every column at fault, and each
    column's reason in both languages (`problems`, left to right); no cell values (they hold ID
    numbers)."""
    found = exc.problems if isinstance(exc, services.WorkerInvalid) else [exc]
    # In the sheet's order of columns; faults of no column (the organ) last.
    found = sorted(found, key=lambda p: columns.get(p.field, len(header)))
    problems = [
        {
            "column": header[columns[p.field]] if p.field in columns else "",
            "reason_zh": p.zh,
            "reason_en": p.en,
        }
        for p in found
    ]
    return {
        "row": number,
        "column": ", ".join(dict.fromkeys(p["column"] for p in problems if p["column"])),
        "reason_zh": "；".join(p["reason_zh"] for p in problems),
        "reason_en": "; ".join(p["reason_en"] for p in problems),
        "problems": problems,
    }


def _row(actor, organ, cell, by_name, communities, ambiguous, rows_of) -> tuple[str, str]:
    """Enrol one row: ("created" | "updated" | "unchanged", the person's ID hash).
    A bad row raises WorkerInvalid naming every bad field (one reason a field)."""
    id_type = ID_TYPES.get(cell("id_type"), cell("id_type").upper() or IdType.MAINLAND)
    home = cell("home_community")
    mine: list[DomainError] = []  # this file's own checks, before the registration's
    if home in ambiguous:
        mine.append(
            DomainError(
                f"有多个社区名为“{home}”，请填写社区代码",
                f"more than one community is called “{home}”; give its code",
                field="home_community",
            )
        )
    flags: dict[str, bool] = {}
    for name in ("party_member", "nights"):
        try:
            flags[name] = _flag(cell(name), name)
        except DomainError as exc:
            mine.append(exc)
            flags[name] = False
    try:
        data = services.worker_validate(
            name=cell("name"),
            id_type=id_type,
            id_number=cell("id_number"),
            phone=cell("phone"),
            home_community=communities.get(home, home),
            organ=organ.pk if organ else None,
            skills=_skills(cell("skills"), by_name),
            party_member=flags["party_member"],
            nights=flags["nights"],
        )
    except services.WorkerInvalid as exc:
        said = {p.field for p in mine}
        raise services.WorkerInvalid(
            mine + [p for p in exc.problems if p.field not in said]
        ) from None
    if mine:
        raise services.WorkerInvalid(mine)
    id_hash = worker_id_hash(data.doc.type, data.doc.number)
    if id_hash in rows_of:
        # The same person twice in one file: the later row would silently overwrite the
        # earlier one; the clerk decides which is right.
        raise DomainError(
            f"与第{rows_of[id_hash]}行是同一证件号",
            f"the same ID number as row {rows_of[id_hash]}",
            field="id_number",
        )
    existing = Worker.objects.filter(id_hash=id_hash).first()
    if existing is None:
        services.worker_register(actor=actor, data=data)
        return "created", id_hash
    if existing.organ_id != (organ.pk if organ else None):
        raise DomainError(
            "此人已由其他单位登记，请联系指挥部",
            "this person is registered by another organ; ask the command centre",
            field="id_number",
        )
    # Availability is the worker's own to say; an import keeps what they said.
    data.days, data.day_from, data.day_until = existing.days, existing.day_from, existing.day_until
    changed = services.worker_update(
        actor=actor, worker=existing, data=data, reason="bulk enrolment"
    )
    return ("updated" if changed else "unchanged"), id_hash
