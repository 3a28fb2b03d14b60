"""Every write to the area tree, grids, households and zones."""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize, required_reason
from fangkong.core.models import AuditEvent, PolicyVersion
from fangkong.core.roles import Role

from .divisions import DivisionReport, RowError
from .models import (
    CODE_LENGTH,
    Area,
    BuildingStats,
    Grid,
    Household,
    Level,
    ZoneDesignation,
)
from .permissions import can_add_buildings, can_declare_zone, can_manage_areas, can_manage_grids

LEVEL_ZH = {
    Level.DISTRICT: "区县",
    Level.STREET: "街道",
    Level.COMMUNITY: "社区",
    Level.COMPOUND: "小区",
    Level.BUILDING: "楼栋",
}


@transaction.atomic
def area_create(
    *,
    actor,
    name: str,
    parent: Area | None = None,
    code: str = "",
    level: int | None = None,
) -> Area:
    """Add an area under `parent` (in the actor's jurisdiction); a district (no parent)
    only as the system. Without a code it takes the next free one under the parent;
    the level is the one below the parent's."""
    authorize(actor, can_manage_areas, area=parent.code if parent is not None else "\0")
    if level is None:
        if parent is None or parent.level == Level.BUILDING:
            raise DomainError("楼栋下不能再建区域", "nothing goes below a building", field="parent")
        level = parent.level + 1
    level = Level(level)
    name = _clean_name(name)
    code = (code or "").strip()
    if not code and parent is not None:
        Area.objects.select_for_update().filter(pk=parent.pk).first()
        code = next_child_code(parent)
    if not code.isdigit() or len(code) != CODE_LENGTH[level]:
        raise DomainError(
            f"{LEVEL_ZH[level]}代码应为{CODE_LENGTH[level]}位数字",
            f"a {level.name.lower()} code must be {CODE_LENGTH[level]} digits",
            field="code",
        )
    if level == Level.DISTRICT:
        if parent is not None:
            raise DomainError("区县不能有上级", "a district has no parent", field="parent")
    else:
        if parent is None or parent.level != level - 1:
            raise DomainError("上级区域层级不对", "the parent is not one level up", field="parent")
        if not code.startswith(parent.code):
            raise DomainError(
                "区域代码须以上级代码开头", "the code must start with its parent's", field="code"
            )
    if Area.objects.filter(code=code).exists():
        raise DomainError(f"区域代码{code}已存在", f"area code {code} exists", field="code")
    if parent is not None:
        _require_active(parent, "parent")
    _require_unique_name(parent.pk if parent is not None else None, name)
    area = Area.objects.create(code=code, name=name, level=level, parent=parent)
    audit_record(actor=actor, event="areas.area_create", target=area, area_code=code)
    return area


def _parent_code(area: Area) -> str:
    """The code an actor must hold to change `area`: its parent's. A user changes the
    areas below the ones they hold, never those themselves; a district only the system."""
    return area.ancestor_codes[-1] if area.ancestor_codes else "\0"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("名称为空", "the name is empty", field="name")
    if len(name) > 100:
        raise DomainError(
            "名称过长（最多100字）", "the name is too long (100 at most)", field="name"
        )
    return name


def _require_unique_name(parent_id, name: str, area: Area | None = None) -> None:
    siblings = Area.objects.active().filter(parent_id=parent_id, name=name)
    if area is not None:
        siblings = siblings.exclude(pk=area.pk)
    if siblings.exists():
        raise DomainError(
            f"同一上级下已有名为{name}的区域",
            f"another area under the same parent is named {name}",
            field="name",
        )


def _require_active(area: Area, field: str = "area") -> None:
    if area.retired_at is not None:
        raise DomainError(f"{area.name}已撤销", f"{area.name} is retired", field=field)


@transaction.atomic
def area_rename(*, actor, area: Area, name: str, reason: str = "") -> bool:
    """Give an area a new name (its code, and so every record under it, stays); whether
    the name changed."""
    authorize(actor, can_manage_areas, area=_parent_code(area))
    name = _clean_name(name)
    _require_active(area)
    if name == area.name:
        return False
    _require_unique_name(area.parent_id, name, area)
    before = area.name
    Area.objects.filter(pk=area.pk).update(name=name)
    area.name = name
    audit_record(
        actor=actor,
        event="areas.area_rename",
        target=area,
        area_code=area.code,
        reason=(reason or "").strip(),
        detail={"from": before, "to": name},
    )
    return True


# An area moves with everything below it; a larger subtree is an operator's job.
MOVE_LIMIT = 2000


def records_under(code: str) -> list[str]:
    """The kinds of record (model labels) that carry an area code under `code`.

    Asks every installed model with an `area_code` column that is indexed for a prefix
    search (households, zones, sites, round areas, jobs, ... of any app), and policy
    versions set for a place. Columns without such an index are copies on the hottest
    tables (samples, results, tallies, recalls): each row there belongs to a resident or
    a sampling site, which live under a household or carry an indexed code themselves,
    so an area with neither holds none of them. The audit log keeps the codes of its
    day and is not asked.
    """
    found = []
    for model in apps.get_models():
        if model is AuditEvent:
            continue
        try:
            field = model._meta.get_field("area_code")
        except FieldDoesNotExist:  # not a model of the area tree
            continue
        indexed = field.db_index or field.unique or _leads_an_index(model, "area_code")
        if not indexed and model is not PolicyVersion:
            continue
        if model._base_manager.filter(area_code__startswith=code).exists():
            found.append(model._meta.label_lower)
    return found


def _leads_an_index(model: type[models.Model], column: str) -> bool:
    return any(index.fields[:1] == [column] for index in model._meta.indexes)


@transaction.atomic
def area_move(*, actor, area: Area, parent: Area, reason: str) -> Area:
    """Put an area (with its subtree) under another parent of the level above.

    An area's code is its path, and the code is copied onto every record below it, so a
    move gives the area a new code (the next free one under `parent`) and re-codes its
    subtree. It is allowed only while nothing lives there yet (no household, zone,
    grid of its buildings, site, or other record; see `records_under`): the set-up
    mistake of putting a compound under the wrong community. An area with people under
    it keeps its place; its residents move by hand-over instead.
    """
    authorize(actor, can_manage_areas, area=_parent_code(area))
    authorize(actor, can_manage_areas, area=parent.code)
    reason = required_reason(reason)
    _require_active(area)
    _require_active(parent, "parent")
    if parent.level != area.level - 1:
        raise DomainError("上级区域层级不对", "the parent is not one level up", field="parent")
    if parent.pk == area.parent_id:
        return area
    old = area.code
    in_use = records_under(old)
    if in_use:
        raise Conflict(
            "该区域下已有住户或其他记录，不能移动；可新建区域并办理居民迁移",
            "people or records already live under this area, so it cannot move; "
            "make a new area and hand its residents over: " + ", ".join(in_use),
            field="area",
        )
    if Grid.buildings.through.objects.filter(area__code__startswith=old).exclude(
        grid__community__code__startswith=old
    ):
        raise Conflict(
            "该区域的楼栋已划入网格，请先从网格中移出",
            "buildings of this area belong to a grid; take them out of it first",
            field="area",
        )
    subtree = Area.objects.filter(code__startswith=old)
    if subtree.count() > MOVE_LIMIT:
        raise DomainError(
            f"区域下超过{MOVE_LIMIT}个下级，不能在此移动",
            f"more than {MOVE_LIMIT} areas below; this move is an operator's job",
            field="area",
        )
    Area.objects.select_for_update().filter(pk=parent.pk).first()
    new = next_child_code(parent)
    # The new prefix is unused (next_child_code), so no code of the subtree collides.
    recode = Concat(models.Value(new), Substr("code", len(old) + 1))
    subtree.update(code=recode)
    BuildingStats.objects.filter(code__startswith=old).update(code=recode)
    Area.objects.filter(pk=area.pk).update(parent=parent)
    area.refresh_from_db()
    audit_record(
        actor=actor,
        event="areas.area_move",
        target=area,
        area_code=new,
        reason=reason,
        detail={"from": old, "to": new, "parent": parent.code},
    )
    # Filed on the side it left too, so the old parent's audit shows where it went.
    audit_record(
        actor=actor,
        event="areas.area_move",
        target=area,
        area_code=old[: len(old) - 3],
        reason=reason,
        detail={"from": old, "to": new, "parent": parent.code},
    )
    return area


@transaction.atomic
def area_retire(*, actor, area: Area, reason: str) -> int:
    """Retire an area and its subtree: hidden from browsing and choices, code kept.
    Refused while a household (and so anyone) is registered under it. Its buildings
    leave their grids. Returns how many areas were retired."""
    authorize(actor, can_manage_areas, area=_parent_code(area))
    reason = required_reason(reason)
    _require_active(area)
    if Household.objects.within(area).exists():
        raise Conflict(
            "该区域下仍有登记住户，不能撤销",
            "households are still registered under this area; it cannot be retired",
            field="area",
        )
    subtree = Area.objects.filter(code__startswith=area.code, retired_at__isnull=True)
    Grid.buildings.through.objects.filter(area__code__startswith=area.code).delete()
    count = subtree.update(retired_at=timezone.now())
    audit_record(
        actor=actor,
        event="areas.area_retire",
        target=area,
        area_code=area.code,
        reason=reason,
        detail={"areas": count},
    )
    return count


def next_child_code(parent: Area) -> str:
    """The next free code under `parent` (3 more digits)."""
    last = (
        Area.objects.filter(parent=parent).order_by("-code").values_list("code", flat=True).first()
    )
    number = int(last[-3:]) + 1 if last else 1
    if number > 999:
        raise DomainError("下级区域已满999个", "no more than 999 areas under one parent")
    return f"{parent.code}{number:03d}"


@transaction.atomic
def building_get_or_create(*, actor, compound: Area, name: str) -> tuple[Area, bool]:
    """A building under a compound by its name; made when first seen on a roster."""
    authorize(actor, can_add_buildings, area=compound.code)
    existing = Area.objects.active().filter(parent=compound, name=name).first()
    if existing:
        return existing, False
    # Lock the parent so two imports cannot take the same next code.
    Area.objects.select_for_update().filter(pk=compound.pk).first()
    building = Area.objects.create(
        code=next_child_code(compound), name=name, level=Level.BUILDING, parent=compound
    )
    audit_record(actor=actor, event="areas.area_create", target=building, area_code=building.code)
    return building, True


def household_get_or_create(
    *, actor, building: Area, unit: str, room: str
) -> tuple[Household, bool]:
    authorize(actor, can_add_buildings, area=building.code)
    if building.level != Level.BUILDING:
        raise DomainError("户必须在楼栋下", "a household must be in a building", field="building")
    if not room:
        raise DomainError("房号为空", "room is empty", field="room")
    return Household.objects.get_or_create(
        building=building, unit=unit, room=room, defaults={"area_code": building.code}
    )


def _check_grid(community: Area, keeper, buildings) -> None:
    outside = [b for b in buildings if b.level != Level.BUILDING or b.parent_id is None]
    outside += [b for b in buildings if not b.code.startswith(community.code)]
    if outside:
        raise DomainError(
            "网格楼栋须在本社区内", "a grid's buildings must be in its community", field="buildings"
        )
    if any(b.retired_at is not None for b in buildings):
        raise DomainError(
            "不能划入已撤销的楼栋", "a retired building cannot join a grid", field="buildings"
        )
    if keeper is not None:
        if keeper.role != Role.GRID or not keeper.is_active:
            raise DomainError(
                "网格员须为在用的网格员账号",
                "the keeper must be an active grid worker's account",
                field="keeper",
            )
        # Naming a keeper opens the grid's buildings to them: only a grid worker of
        # this community (holding nothing outside it) may be named.
        held = list(keeper.areas.values_list("code", flat=True))
        if any(not code.startswith(community.code) for code in held):
            raise DomainError(
                "网格员须属于本社区", "the keeper must belong to this community", field="keeper"
            )


def _grid_name(community: Area, name: str, grid: Grid | None = None) -> str:
    name = _clean_name(name)
    clash = Grid.objects.filter(community=community, name=name)
    if grid is not None:
        clash = clash.exclude(pk=grid.pk)
    if clash.exists():
        raise DomainError(
            f"本社区已有名为{name}的网格", f"this community has a grid named {name}", field="name"
        )
    return name


@transaction.atomic
def grid_create(*, actor, community: Area, name: str, keeper=None, buildings=()) -> Grid:
    authorize(actor, can_manage_grids, area=community.code)
    if community.level != Level.COMMUNITY:
        raise DomainError("网格属于社区", "a grid belongs to a community", field="community")
    buildings = list(buildings)
    _check_grid(community, keeper, buildings)
    grid = Grid.objects.create(community=community, name=_grid_name(community, name), keeper=keeper)
    grid.buildings.set(buildings)
    audit_record(
        actor=actor,
        event="areas.grid_create",
        target=grid,
        area_code=community.code,
        detail={"keeper": keeper and keeper.username, "buildings": [b.code for b in buildings]},
    )
    return grid


@transaction.atomic
def grid_update(*, actor, grid: Grid, name: str, keeper, buildings) -> list[str]:
    """Rename a grid, name its keeper (or none), and draw its buildings; the fields
    changed."""
    community = grid.community
    authorize(actor, can_manage_grids, area=community.code)
    buildings = list(buildings)
    _check_grid(community, keeper, buildings)
    name = _grid_name(community, name, grid)
    before = {
        "name": grid.name,
        "keeper": grid.keeper.username if grid.keeper_id else None,
        "buildings": sorted(grid.buildings.values_list("code", flat=True)),
    }
    after = {
        "name": name,
        "keeper": keeper.username if keeper is not None else None,
        "buildings": sorted(b.code for b in buildings),
    }
    changed = [f for f in before if before[f] != after[f]]
    if not changed:
        return []
    grid.name, grid.keeper = name, keeper
    grid.save(update_fields=["name", "keeper"])
    grid.buildings.set(buildings)
    audit_record(
        actor=actor,
        event="areas.grid_update",
        target=grid,
        area_code=community.code,
        detail={f: [before[f], after[f]] for f in changed},
    )
    return changed


@transaction.atomic
def zone_declare(
    *,
    actor,
    area: Area,
    kind: str,
    reason: str,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
) -> ZoneDesignation:
    """Declare a zone on an area. A zone already active on the same area is lifted first."""
    authorize(actor, can_declare_zone, area=area.code)
    reason = required_reason(reason)
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError(
            "结束时间须晚于开始时间", "the end must be after the start", field="ends_at"
        )
    for current in ZoneDesignation.objects.select_for_update().filter(area=area).active():
        _lift(actor, current, f"superseded: {reason}")
    zone = ZoneDesignation.objects.create(
        area=area,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        declared_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="areas.zone_declare",
        target=area,
        area_code=area.code,
        reason=reason,
        detail={"kind": kind, "zone": zone.pk, "ends_at": ends_at and ends_at.isoformat()},
    )
    return zone


def _lift(actor, zone: ZoneDesignation, reason: str) -> None:
    zone.lifted_at = timezone.now()
    zone.lifted_by = user_of(actor)
    zone.lift_reason = reason
    zone.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    audit_record(
        actor=actor,
        event="areas.zone_lift",
        target=zone.area,
        area_code=zone.area_code,
        reason=reason,
        detail={"kind": zone.kind, "zone": zone.pk},
    )


@transaction.atomic
def zone_lift(*, actor, zone: ZoneDesignation, reason: str) -> None:
    authorize(actor, can_declare_zone, area=zone.area_code)
    reason = required_reason(reason)
    if zone.lifted_at is not None:
        raise DomainError("该管控已解除", "this zone is already lifted")
    _lift(actor, zone, reason)


def building_stats_store(rows: Mapping[str, Mapping[str, int]], codes: Iterable[str]) -> None:
    """Replace the counts of the buildings `codes` with `rows` (code -> counts)."""
    codes = list(codes)
    buildings = dict(
        Area.objects.filter(code__in=codes, level=Level.BUILDING).values_list("code", "pk")
    )
    objs = [
        BuildingStats(
            building_id=pk,
            code=code,
            **{f: rows.get(code, {}).get(f, 0) for f in BuildingStats.COUNT_FIELDS},
            refreshed_at=timezone.now(),
        )
        for code, pk in buildings.items()
    ]
    BuildingStats.objects.bulk_create(
        objs,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["building"],
        update_fields=[*BuildingStats.COUNT_FIELDS, "refreshed_at"],
    )


LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTH.items()}


@transaction.atomic
def division_import(*, actor, rows: Iterable[tuple[int, Mapping[str, str]]]) -> DivisionReport:
    """Add or rename the areas a division list names (see `divisions.py`), each row
    checked as `area_create` and `area_rename` check it; a bad row is reported and the
    rest go in."""
    authorize(actor, can_manage_areas)
    report = DivisionReport()
    checked = []
    for number, row in rows:
        code, name, parent = (row.get(k, "").strip() for k in ("code", "name", "parent"))
        if not code.isdigit() or len(code) not in LEVEL_OF_LENGTH or len(code) == 6:
            report.errors.append(
                RowError(
                    number,
                    "code",
                    "invalid",
                    "代码应为9、12、15或18位数字",
                    "the code must be 9, 12, 15 or 18 digits",
                )
            )
        elif parent and parent != code[:-3]:
            report.errors.append(
                RowError(
                    number,
                    "parent",
                    "invalid",
                    f"上级代码应为{code[:-3]}（代码去掉末三位）",
                    f"the parent code must be {code[:-3]} (the code less its last 3 digits)",
                )
            )
        else:
            checked.append((number, code, name))
    # Parents first, whatever order the file lists them in; then as the file has them.
    for number, code, name in sorted(checked, key=lambda r: (len(r[1]), r[0])):
        try:
            with transaction.atomic():
                _division_row(actor, code, name, report)
        except DomainError as exc:
            report.errors.append(RowError(number, exc.field or "code", exc.code, exc.zh, exc.en))
    report.errors.sort(key=lambda e: e.row)
    audit_record(actor=actor, event="areas.area_import", detail=report.counts())
    return report


def _division_row(actor, code: str, name: str, report: DivisionReport) -> None:
    # Outside the jurisdiction says so, before telling whether such an area exists.
    authorize(actor, can_manage_areas, area=code[:-3])
    existing = Area.objects.filter(code=code).first()
    if existing is not None:
        if existing.retired_at is not None:
            raise DomainError(f"区域{code}已撤销", f"area {code} is retired", field="code")
        if area_rename(actor=actor, area=existing, name=name, reason="division list"):
            report.renamed += 1
        else:
            report.unchanged += 1
        return
    parent = Area.objects.filter(code=code[:-3]).first()
    if parent is None:
        raise DomainError(
            f"上级区域{code[:-3]}不存在",
            f"the parent area {code[:-3]} does not exist",
            field="parent",
        )
    area_create(actor=actor, code=code, name=name, level=LEVEL_OF_LENGTH[len(code)], parent=parent)
    report.created += 1
