"""A scoped roster to .xlsx, in the columns the importer reads back.

A full export (real ID and phone numbers) re-imported into its area changes nothing; a
masked one cannot be imported (its ID numbers are refused as masked).
"""

from typing import BinaryIO

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fangkong.areas.models import Area, Level, ancestor_codes
from fangkong.core.audit import audit_record
from fangkong.core.errors import PermissionDenied
from fangkong.core.guards import required_reason
from fangkong.people.permissions import can_export_roster, can_reveal_pii

from ..models import Resident, Sex
from .columns import ID_TYPE_NAMES, RESIDENCY_NAMES, TAG_NAMES
from .report import cells, write_only_sheet

EXPORT_HEADER = [
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "证件类型",
    "证件号码",
    "联系电话",
    "居住类型",
    "重点人群",
    "语言",
    "定期治疗项目",
    "备注",
    # For reading only; the importer takes both from the ID number.
    "性别",
    "出生日期",
]
SEX_NAMES = {Sex.MALE: "男", Sex.FEMALE: "女"}


def _check_may_export(actor, area: Area, full: bool) -> None:
    if actor is None:
        return
    if not can_export_roster(actor):
        raise PermissionDenied("您的角色不能导出花名册", "your role may not export rosters")
    if not actor.may_see_area(area.code):
        raise PermissionDenied("该区域不在您的辖区内", "this area is outside your jurisdiction")
    if full and not can_reveal_pii(actor):
        raise PermissionDenied(
            "您的角色不能导出完整证件号", "your role may not export full ID numbers"
        )


def _compound_names(area: Area) -> dict[str, str]:
    above = Q(code__in=ancestor_codes(area.code))
    below = Q(code__startswith=area.code)
    compounds = Area.objects.filter(above | below, level=Level.COMPOUND)
    return dict(compounds.values_list("code", "name"))


def _tags(bits: int) -> str:
    return "、".join(name for tag, name in TAG_NAMES.items() if bits & tag)


@transaction.atomic
def roster_export(*, actor, area: Area, out: BinaryIO, full: bool = False, reason: str = "") -> int:
    """Write the residents under `area` that `actor` may see to `out`; how many. Audited.

    Masked numbers unless `full` (for a role that may reveal them, and with a `reason`
    on record: DomainError on `reason` without one). `actor` None is an operator at the
    command line, who sees everything but gives a reason for a full export too.
    """
    _check_may_export(actor, area, full)
    reason = required_reason(reason) if full else (reason or "").strip()
    residents = Resident.objects.all() if actor is None else Resident.objects.for_user(actor)
    residents = (
        residents.within(area)
        .select_related("household__building__parent")
        .order_by("area_code", "household__unit", "household__room", "id")
    )
    compounds = _compound_names(area)
    workbook, sheet = write_only_sheet(area.name)
    now = timezone.localtime()
    masked = "" if full else "；证件号码和电话已打码，不能用于导入"
    sheet.append(cells(sheet, [f"{area.name}居民花名册（导出于{now:%Y-%m-%d %H:%M}{masked}）"]))
    sheet.append(EXPORT_HEADER)
    n = 0
    for r in residents.iterator(chunk_size=2000):
        household = r.household
        row = [
            compounds.get(r.area_code[:15], ""),
            household.building.name,
            household.unit,
            household.room,
            r.name,
            ID_TYPE_NAMES.get(r.id_type, r.id_type),
            r.id_number() if full else r.id_masked,
            r.phone() if full else r.phone_masked,
            RESIDENCY_NAMES.get(r.residency, r.residency),
            _tags(r.tags),
            r.language,
            r.treatment,
            r.note,
            SEX_NAMES.get(r.sex, ""),
            r.birth_date.isoformat() if r.birth_date else "",
        ]
        sheet.append(cells(sheet, row))
        n += 1
    workbook.save(out)
    audit_record(
        actor=actor,
        event="people.roster_export",
        target=area,
        area_code=area.code,
        reason=reason,
        detail={"rows": n, "full": full},
    )
    return n
