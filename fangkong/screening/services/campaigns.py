"""Household screening campaigns (摸排): launch over areas, visit households (door to
door or by phone) with a short form, raise trace tasks from answers that flag someone,
load answers from a spreadsheet; coverage counters moved in the same transaction."""

import datetime as dt
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from fangkong.areas.models import Area, BuildingStats, Household, Level
from fangkong.core import idnumbers, spreadsheets
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize, required_reason
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.scoping import minimal_prefixes
from fangkong.people import selectors as people

from ..models import (
    Campaign,
    CampaignArea,
    CampaignCoverage,
    CampaignHousehold,
    CampaignStatus,
    HouseholdVisit,
    ScreeningAnswer,
    TaskSource,
    TraceTask,
    Vaccination,
    VisitMethod,
    VisitOutcome,
)
from ..permissions import can_import_answers, can_run_campaign, can_screen
from .status import person_for_resident, person_key, person_register
from .tracing import task_raise


@transaction.atomic
def campaign_launch(
    *,
    actor,
    name: str,
    areas: Iterable[Area],
    deadline: dt.datetime,
    risk_places: str = "",
    note: str = "",
    starts_at: dt.datetime | None = None,
) -> Campaign:
    """Launch a campaign over areas; households per building are counted now."""
    authorize(actor, can_run_campaign)
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写摸排名称", "the campaign needs a name", field="name")
    areas = list(areas)
    if not areas:
        raise DomainError("请选择摸排范围", "choose the areas to screen", field="areas")
    for area in areas:
        authorize(actor, area=area.code)
    starts_at = starts_at or timezone.now()
    if deadline <= starts_at:
        raise DomainError(
            "截止时间须晚于开始时间", "the deadline must be after the start", field="deadline"
        )
    codes = minimal_prefixes(a.code for a in areas)
    campaign = Campaign.objects.create(
        name=name[:100],
        starts_at=starts_at,
        deadline=deadline,
        risk_places=risk_places.strip(),
        note=note.strip(),
        launched_by=user_of(actor),
    )
    CampaignArea.objects.bulk_create(
        CampaignArea(campaign=campaign, area=a, area_code=a.code) for a in areas if a.code in codes
    )
    buildings = _coverage_snapshot(campaign, codes)
    audit_record(
        actor=actor,
        event="screening.campaign_launch",
        target=campaign,
        area_code=codes[0] if len(codes) == 1 else "",
        detail={"areas": codes, "deadline": deadline.isoformat(), "buildings": buildings},
    )
    return campaign


def _coverage_snapshot(campaign: Campaign, codes: list[str]) -> int:
    """One coverage row a building: households = the households there now, from the
    per-building statistics (a district of a million residents reads ~5,000 rows)."""
    area, stats, cover = (
        Area._meta.db_table,
        BuildingStats._meta.db_table,
        CampaignCoverage._meta.db_table,
    )
    where = " OR ".join(["a.code LIKE %s"] * len(codes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {cover} (campaign_id, area_code, households, done, open_visited) "
            f"SELECT %s, a.code, COALESCE(s.households, 0), 0, 0 FROM {area} a "
            f"LEFT JOIN {stats} s ON s.building_id = a.id "
            f"WHERE a.level = %s AND ({where})",
            [campaign.pk, int(Level.BUILDING), *[f"{c}%" for c in codes]],
        )
        return cursor.rowcount


@transaction.atomic
def campaign_close(*, actor, campaign: Campaign, reason: str) -> Campaign:
    authorize(actor, can_run_campaign)
    reason = required_reason(reason)
    if not campaign.is_active:
        raise Conflict("该摸排已结束", "this campaign is closed already")
    codes = list(campaign.campaign_areas.values_list("area_code", flat=True))
    for code in codes:
        authorize(actor, area=code)
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, timezone.now()
    campaign.close_reason = reason
    campaign.save(update_fields=["status", "closed_at", "close_reason"])
    audit_record(
        actor=actor,
        event="screening.campaign_close",
        target=campaign,
        area_code=codes[0] if len(codes) == 1 else "",
        reason=reason,
    )
    return campaign


@dataclass
class AnswerIn:
    """One person's answers: a resident of the household (`resident_id`), or a person on
    no roster staying there (document, name, phone)."""

    resident_id: int | None = None
    id_type: str = IdType.MAINLAND
    id_number: str = ""
    name: str = ""
    phone: str = ""
    travelled: bool = False
    travel_from: str = ""
    from_risk_area: bool = False
    symptoms: bool = False
    case_contact: bool = False
    vaccination: str = ""


@dataclass
class VisitResult:
    visit: HouseholdVisit
    replayed: bool = False
    tasks: list[TraceTask] = field(default_factory=list)
    # People answered for who are kept by another community: their tasks went there.
    elsewhere: int = 0


def _in_campaign(campaign: Campaign, code: str) -> bool:
    return any(
        code.startswith(c) for c in campaign.campaign_areas.values_list("area_code", flat=True)
    )


def _reason_of(answer: ScreeningAnswer) -> str:
    parts_zh, parts_en = [], []
    if answer.case_contact:
        parts_zh.append("自报接触病例")
        parts_en.append("reports contact with a case")
    if answer.from_risk_area:
        where = answer.travel_from or "?"
        parts_zh.append(f"14天内自风险地区{where}来返")
        parts_en.append(f"back from a risk area ({where}) within 14 days")
    if answer.symptoms:
        parts_zh.append("有发热等症状")
        parts_en.append("has symptoms")
    return f"摸排：{'，'.join(parts_zh)} / screening: {', '.join(parts_en)}"


def _check_answers(answers: Sequence[AnswerIn], outcome: str) -> None:
    if answers and outcome != VisitOutcome.DONE:
        raise DomainError(
            "无人在家或拒绝时不能填写答卷",
            "answers go with a household that was screened",
            field="answers",
        )
    for i, a in enumerate(answers):
        if a.vaccination not in Vaccination.values:
            raise DomainError(
                "疫苗接种情况无效", "vaccination is not valid", field=f"answers.{i}.vaccination"
            )
        if a.from_risk_area and not a.travelled:
            a.travelled = True
        if a.resident_id is None and not a.id_number:
            raise DomainError(
                "请选择居民或填写证件号码",
                "choose a resident or give a document number",
                field=f"answers.{i}.id_number",
            )


def _household_counters(campaign: Campaign, household: Household, visit: HouseholdVisit):
    """Move the household's standing and its building's counters. Done stays done; a
    later "nobody home" does not reopen it."""
    standing = (
        CampaignHousehold.objects.select_for_update()
        .filter(campaign=campaign, household=household)
        .first()
    )
    before = standing.outcome if standing else None
    after = VisitOutcome.DONE if VisitOutcome.DONE in (before, visit.outcome) else visit.outcome
    if standing is None:
        standing = CampaignHousehold(campaign=campaign, household=household)
    standing.area_code = household.area_code
    standing.outcome = after
    standing.visits += 1
    if after != before or after != VisitOutcome.DONE:
        standing.last_visit, standing.at = visit, visit.at
        standing.by, standing.by_name = visit.by, visit.by_name
    standing.save()
    done = (after == VisitOutcome.DONE) - (before == VisitOutcome.DONE)
    opened = (after != VisitOutcome.DONE) - (before not in (None, VisitOutcome.DONE))
    if done or opened:
        moved = CampaignCoverage.objects.filter(
            campaign=campaign, area_code=household.area_code
        ).update(done=F("done") + done, open_visited=F("open_visited") + opened)
        if not moved:  # a building added after launch
            CampaignCoverage.objects.create(
                campaign=campaign,
                area_code=household.area_code,
                households=Household.objects.filter(area_code=household.area_code).count(),
                done=max(done, 0),
                open_visited=max(opened, 0),
            )


def _replay(visit: HouseholdVisit, campaign: Campaign, household: Household) -> VisitResult:
    if visit.campaign_id != campaign.pk or visit.household_id != household.pk:
        raise Conflict(
            "该提交编号已用于另一户",
            "this client id was used for another household",
            field="client_id",
        )
    tasks = [a.task for a in visit.answers.select_related("task") if a.task is not None]
    return VisitResult(visit, replayed=True, tasks=tasks)


@transaction.atomic
def household_screen(
    *,
    actor,
    campaign: Campaign,
    household: Household,
    outcome: str,
    method: str,
    client_id: str,
    answers: Sequence[AnswerIn] = (),
    note: str = "",
    at: dt.datetime | None = None,
) -> VisitResult:
    """Record a visit (or call) to a household: screened with everyone's answers, or
    nobody home, or refused (both keep the household open). An answer that flags a
    person (contact with a case, back from a risk area, symptoms) raises a trace task in
    their community. Safe to repeat: a `client_id` seen before answers what it stored."""
    authorize(actor, can_screen, area=household.area_code)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise DomainError(
            "缺少提交编号（不超过64个字符）",
            "a client id (at most 64 characters) is required",
            field="client_id",
        )
    seen = HouseholdVisit.objects.filter(client_id=client_id).first()
    if seen is not None:
        return _replay(seen, campaign, household)
    if not campaign.is_active:
        raise Conflict("该摸排已结束", "this campaign is closed", field="campaign")
    if not _in_campaign(campaign, household.area_code):
        raise DomainError("该户不在本次摸排范围内", "this household is not in the campaign")
    if outcome not in VisitOutcome.values:
        raise DomainError("请选择排查结果", "choose the outcome", field="outcome")
    if method not in VisitMethod.values:
        raise DomainError("请选择入户或电话", "choose door to door or by phone", field="method")
    _check_answers(answers, outcome)
    members = {r.pk: r for r in people.household_members(household.pk)}
    building = household.building
    visit = HouseholdVisit.objects.create(
        campaign=campaign,
        household=household,
        area_code=household.area_code,
        outcome=outcome,
        method=method,
        note=note.strip()[:300],
        client_id=client_id,
        at=at or timezone.now(),
        by=user_of(actor),
        by_name=str(actor),
    )
    result = VisitResult(visit)
    for i, a in enumerate(answers):
        if a.resident_id is not None:
            resident = members.get(a.resident_id)
            if resident is None:
                raise DomainError(
                    "所选居民不在该户",
                    "that resident does not live in this household",
                    field=f"answers.{i}.resident_id",
                )
            person = person_for_resident(resident)
        else:
            try:
                registered = person_register(
                    actor=actor,
                    id_type=a.id_type,
                    id_number=a.id_number,
                    name=a.name,
                    phone=a.phone,
                    area=building,
                    note=f"摸排时在{household}发现 / found at screening",
                )
            except DomainError as exc:
                exc.field = f"answers.{i}.{exc.field}" if exc.field else f"answers.{i}"
                raise
            person = registered.person
            result.elsewhere += registered.elsewhere
        answer = ScreeningAnswer(
            visit=visit,
            person=person,
            area_code=household.area_code,
            travelled=a.travelled,
            travel_from=a.travel_from.strip()[:100],
            from_risk_area=a.from_risk_area,
            symptoms=a.symptoms,
            case_contact=a.case_contact,
            vaccination=a.vaccination,
        )
        if answer.flag:
            answer.task, _made = task_raise(
                actor=actor,
                person=person,
                category=answer.flag,
                reason=_reason_of(answer),
                source=TaskSource.CAMPAIGN,
                evidence=[
                    {
                        "campaign": campaign.pk,
                        "visit": visit.pk,
                        "at": visit.at.isoformat(),
                        "travel_from": answer.travel_from,
                        "from_risk_area": answer.from_risk_area,
                        "symptoms": answer.symptoms,
                        "case_contact": answer.case_contact,
                    }
                ],
            )
            result.tasks.append(answer.task)
        answer.save()
    _household_counters(campaign, household, visit)
    audit_record(
        actor=actor,
        event="screening.household_screen",
        target=visit,
        target_label=str(household),
        area_code=household.area_code,
        detail={
            "campaign": campaign.pk,
            "outcome": outcome,
            "method": method,
            "answers": len(answers),
            "flagged": len(result.tasks),
        },
    )
    return result


# Spreadsheets ------------------------------------------------------------------------

COLUMNS = {
    "building": ("building", "building_code", "楼栋编码", "楼栋代码"),
    "unit": ("unit", "单元"),
    "room": ("room", "房号", "室", "门牌"),
    "outcome": ("outcome", "结果", "排查结果"),
    "id_type": ("id_type", "证件类型"),
    "id_number": ("id_number", "身份证号", "证件号码", "身份证号码"),
    "name": ("name", "姓名"),
    "phone": ("phone", "电话", "手机", "联系电话"),
    "travelled": ("travelled", "14天内外出", "外出史", "14天旅居史"),
    "travel_from": ("travel_from", "来自", "从何处来", "旅居地"),
    "from_risk_area": ("from_risk_area", "风险地区", "来自风险地区"),
    "symptoms": ("symptoms", "症状", "有无症状"),
    "case_contact": ("case_contact", "接触病例", "病例接触史"),
    "vaccination": ("vaccination", "疫苗接种", "接种情况"),
}
_ALIASES = {alias.lower(): key for key, names in COLUMNS.items() for alias in names}
_OUTCOMES = {
    "done": VisitOutcome.DONE,
    "已排查": VisitOutcome.DONE,
    "完成": VisitOutcome.DONE,
    "nobody_home": VisitOutcome.NOBODY_HOME,
    "无人在家": VisitOutcome.NOBODY_HOME,
    "无人": VisitOutcome.NOBODY_HOME,
    "refused": VisitOutcome.REFUSED,
    "拒绝": VisitOutcome.REFUSED,
    "拒绝配合": VisitOutcome.REFUSED,
}
_YES = {"是", "有", "y", "yes", "true", "1", "√"}
_NO = {"", "否", "无", "n", "no", "false", "0", "×"}
_VACCINATION = {
    "": "",
    "none": "none",
    "未接种": "none",
    "partial": "partial",
    "未全程": "partial",
    "full": "full",
    "全程": "full",
    "booster": "booster",
    "加强": "booster",
    "加强针": "booster",
}
_NAMES_ZH = {
    "building": "楼栋编码",
    "room": "房号",
    "outcome": "排查结果",
    "id_number": "证件号码",
    "vaccination": "疫苗接种",
}


@dataclass
class RowProblem:
    row: int
    field: str
    zh: str
    en: str

    def as_dict(self) -> dict:
        """Each message names the row and the field, in its language, and why."""
        return {
            "row": self.row,
            "field": self.field,
            "message_zh": f"第 {self.row} 行「{self.field}」：{self.zh}",
            "message": f"row {self.row}, {self.field}: {self.en}",
        }


@dataclass
class SheetOutcome:
    rows: int = 0
    households: int = 0
    stored: int = 0
    replayed: int = 0
    tasks: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "households": self.households,
            "stored": self.stored,
            "replayed": self.replayed,
            "tasks": self.tasks,
            "problems": [p.as_dict() for p in self.problems],
        }


class _Bad(Exception):
    def __init__(self, field_name: str, zh: str, en: str):
        self.field, self.zh, self.en = field_name, zh, en


def _flag(values: dict, name: str) -> bool:
    text = values.get(name, "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _Bad(name, f"{COLUMNS[name][1]}应填“是”或“否”", f"{name} must be yes or no")


def _parse_row(values: dict) -> tuple[tuple, str, AnswerIn | None]:
    building = values.get("building", "")
    if not (building.isdigit() and len(building) == 18):
        raise _Bad("building", "楼栋编码应为18位数字", "building must be an 18-digit area code")
    room = values.get("room", "")
    if not room:
        raise _Bad("room", "房号为空", "room is empty")
    outcome = _OUTCOMES.get(values.get("outcome", "").strip().lower())
    if outcome is None:
        raise _Bad(
            "outcome",
            "排查结果应为已排查、无人在家或拒绝",
            "outcome must be done, nobody_home or refused",
        )
    address = (building, values.get("unit", ""), room)
    if not values.get("id_number"):
        return address, outcome, None
    vaccination = _VACCINATION.get(values.get("vaccination", "").strip().lower())
    if vaccination is None:
        raise _Bad(
            "vaccination", "疫苗接种应为未接种、未全程、全程或加强", "vaccination is not valid"
        )
    return (
        address,
        outcome,
        AnswerIn(
            id_type=values.get("id_type") or IdType.MAINLAND,
            id_number=values["id_number"],
            name=values.get("name", ""),
            phone=values.get("phone", ""),
            travelled=_flag(values, "travelled"),
            travel_from=values.get("travel_from", ""),
            from_risk_area=_flag(values, "from_risk_area"),
            symptoms=_flag(values, "symptoms"),
            case_contact=_flag(values, "case_contact"),
            vaccination=vaccination,
        ),
    )


def answers_import(*, actor, campaign: Campaign, data: bytes, file_name: str) -> SheetOutcome:
    """Answers from a spreadsheet, one row a person (household columns repeated; a row
    without a document number is a household with nobody answered for). Bad rows are
    reported by row and field and left out; the rest go in, one visit a household (its
    client id is made from the file and the address, so loading the file again stores
    nothing twice)."""
    authorize(actor, can_import_answers)
    digest = hashlib.sha256(data).hexdigest()[:16]
    out = SheetOutcome()
    groups: dict[tuple, dict] = defaultdict(lambda: {"rows": [], "outcome": None, "answers": []})
    spreadsheets.inspect(io.BytesIO(data))  # the cheap checks first: size, type, zip
    with spreadsheets.open_table(io.BytesIO(data)) as table:
        records = list(table.records)
    for record in records:
        out.rows += 1
        values = {
            _ALIASES[k.strip().lower()]: v.strip()
            for k, v in record.values.items()
            if k.strip().lower() in _ALIASES
        }
        try:
            address, outcome, answer = _parse_row(values)
        except _Bad as bad:
            out.problems.append(RowProblem(record.row, bad.field, bad.zh, bad.en))
            continue
        group = groups[address]
        group["rows"].append(record.row)
        group["outcome"] = group["outcome"] or outcome
        if answer is not None:
            group["answers"].append((record.row, answer))
    for (building, unit, room), group in groups.items():
        first = group["rows"][0]
        household = (
            Household.objects.select_related("building")
            .filter(building__code=building, unit=unit, room=room)
            .first()
        )
        if household is None or not actor.may_see_area(household.area_code):
            out.problems.append(
                RowProblem(first, "room", "找不到该户或不在您的辖区", "no such household here")
            )
            continue
        answers = _resolve(household, group["answers"], out)
        out.households += 1
        try:
            result = household_screen(
                actor=actor,
                campaign=campaign,
                household=household,
                outcome=group["outcome"],
                method=VisitMethod.SHEET,
                client_id=f"sheet:{campaign.pk}:{digest}:{household.pk}",
                answers=[a for _, a in answers],
            )
        except DomainError as exc:
            row, where = first, exc.field
            if exc.field.startswith("answers."):
                index, _, where = exc.field.removeprefix("answers.").partition(".")
                row = answers[int(index)][0]
            out.problems.append(RowProblem(row, where, exc.zh, exc.en))
            continue
        out.replayed += result.replayed
        out.stored += not result.replayed
        out.tasks += len(result.tasks)
    out.problems.sort(key=lambda p: p.row)
    audit_record(
        actor=actor,
        event="screening.answers_import",
        target=campaign,
        detail={
            "file": file_name[:100],
            **{k: v for k, v in out.as_dict().items() if k != "problems"},
        },
    )
    return out


def _resolve(household: Household, answers, out: SheetOutcome):
    """A row's document number that is a member of the household answers as that
    resident; any other is a person found there."""
    keys = {}
    for row, a in answers:
        try:
            doc = idnumbers.parse(a.id_type, a.id_number)
        except IdNumberError:  # reported by household_screen, with the row
            continue
        keys[row] = person_key(doc.type, doc.number)
    found = {r.id_hash: r for r in people.residents_by_keys(keys.values())}
    for row, a in answers:
        resident = found.get(keys.get(row, ""))
        if resident is not None and resident.household_id == household.pk:
            a.resident_id = resident.pk
    return answers
