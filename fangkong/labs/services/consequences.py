"""What a stored result calls for: recalls raised and closed, positive cases, corrections,
tallies.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import Min
from django.utils import timezone

from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.bulksql import (
    adapt_time,
    insert_returning,
    upsert_add,
)
from fangkong.testing.models import (
    Sample,
)

from ..files import ResultRow
from ..models import (
    RECALLING,
    CaseSource,
    CaseStatus,
    PositiveCase,
    Recall,
    RecallReason,
    RecallStatus,
    Result,
    ResultCorrection,
    ResultTally,
    TubeResult,
)
from ._common import MAX_AUDITED_TUBES, ImportOutcome, _Tube


def tube_homes(tube_ids: list[int]) -> dict[int, str]:
    """Where each tube counts in the report: the building of its first sample (by id), so
    a compound's row holds the tubes, results and positives of its own residents, and the
    rows add up to the total, whatever area the site belongs to. A tube with no sample
    counts at its site's area."""
    firsts = sorted(first_sample_ids(tube_ids))
    homes: dict[int, str] = {}
    for start in range(0, len(firsts), 5000):
        chunk = firsts[start : start + 5000]
        homes.update(Sample.objects.filter(id__in=chunk).values_list("tube_id", "area_code"))
    return homes


def first_sample_ids(tube_ids) -> set[int]:
    """The id of each tube's first sample (tube_id is indexed)."""
    tube_ids = sorted(set(tube_ids))
    firsts: set[int] = set()
    for start in range(0, len(tube_ids), 5000):
        firsts.update(
            Sample.objects.filter(tube_id__in=tube_ids[start : start + 5000])
            .values("tube_id")
            .annotate(first=Min("id"))
            .values_list("first", flat=True)
        )
    return firsts


def _tally(items, day: dt.date, sign: int = 1) -> None:
    """Add stored results to `ResultTally`: (round, area, lab, k, site, result, seconds)."""
    buckets: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for round_id, area_code, lab_id, pool_size, site_id, result, seconds in items:
        b = buckets[(round_id, area_code, day, lab_id, pool_size, site_id or 0)]
        b[0] += sign
        b[1] += sign * (result == Result.POSITIVE)
        b[2] += sign * (result == Result.INVALID)
        if seconds is not None:
            b[3] += sign * seconds
            b[4] += sign
    upsert_add(
        ResultTally._meta.db_table,
        ["round_id", "area_code", "day", "lab_id", "pool_size", "site_id"],
        ["results", "positives", "invalid", "turnaround_sum", "turnaround_n"],
        sorted((*key, *counts) for key, counts in buckets.items()),
    )


def _consequences(actor, stored: list[tuple[_Tube, str]], now, outcome: ImportOutcome) -> None:
    """Raise and close recalls and record cases for newly stored (or corrected) results."""
    wanted = {t.id: (t, r) for t, r in stored if r in RECALLING or t.sample_count <= 1}
    for t, r in stored:
        if r == Result.POSITIVE and len(outcome.positive_tubes) < MAX_AUDITED_TUBES:
            outcome.positive_tubes.append(t.barcode)
    if not wanted:
        return
    members: dict[int, list[dict]] = defaultdict(list)
    for s in (
        Sample.objects.filter(tube_id__in=list(wanted))
        .order_by("tube_id", "at", "id")
        .values("id", "tube_id", "round_id", "resident_id", "area_code", "at")
    ):
        members[s["tube_id"]].append(s)
    recall_rows, singles = [], []
    for tube_id, (tube, result) in wanted.items():
        people = members.get(tube_id, [])
        if len(people) == 1 and people[0]["resident_id"] is not None:
            singles.append((tube, result, people[0]))
            if result != Result.INVALID:
                continue
        elif result not in RECALLING:
            continue
        seen = set()
        reason = RecallReason.POSITIVE_POOL if result == Result.POSITIVE else RecallReason.INVALID
        for s in people:
            if s["resident_id"] is not None and s["resident_id"] in seen:
                continue
            seen.add(s["resident_id"])
            recall_rows.append(
                (s["round_id"], tube_id, s["id"], s["resident_id"], s["area_code"], reason, now)
            )
    outcome.recalls += _recalls_insert(recall_rows)
    _singles(actor, singles, now, outcome)


def _recalls_insert(rows: list[tuple]) -> int:
    now_rows = [(*r[:6], RecallStatus.OPEN, adapt_time(r[6]), "", "") for r in rows]
    columns = [
        "round_id",
        "tube_id",
        "sample_id",
        "resident_id",
        "area_code",
        "reason",
        "status",
        "raised_at",
        "via",
        "close_reason",
    ]
    types = ["bigint", "bigint", "bigint", "bigint", "text", "text", "text", "timestamptz"]
    types += ["text", "text"]
    return len(insert_returning(Recall._meta.db_table, columns, now_rows, "sample_id", "id", types))


def _singles(actor, singles, now, outcome: ImportOutcome) -> None:
    """Single tubes: a negative or positive one closes its person's earlier recalls."""
    closing = [(t, r, s) for t, r, s in singles if r != Result.INVALID]
    if not closing:
        return
    open_by_person = defaultdict(list)
    for rid, person, raised in (
        Recall.objects.open()
        .filter(resident_id__in={s["resident_id"] for _, _, s in closing})
        .values_list("id", "resident_id", "raised_at")
    ):
        open_by_person[person].append((rid, raised))
    for tube, result, s in closing:
        before = [
            rid for rid, raised in open_by_person.get(s["resident_id"], ()) if raised < s["at"]
        ]
        if before:
            positive = result == Result.POSITIVE
            outcome.closed += Recall.objects.filter(pk__in=before, status=RecallStatus.OPEN).update(
                status=RecallStatus.POSITIVE if positive else RecallStatus.NEGATIVE,
                resample_tube_id=tube.id,
                closed_at=now,
                closed_by=user_of(actor),
                close_reason=f"单管复采{'阳性' if positive else '阴性'} / resample "
                f"{'positive' if positive else 'negative'}: {tube.barcode}",
            )
        if result == Result.POSITIVE:
            outcome.cases += _case_confirm(actor, tube, s, bool(before), now)


def _case_confirm(actor, tube: _Tube, sample: dict, resample: bool, now) -> int:
    reason = f"单管阳性 / single tube positive: {tube.barcode}"
    case, made = PositiveCase.objects.get_or_create(
        tube_id=tube.id,
        resident_id=sample["resident_id"],
        defaults={
            "area_code": sample["area_code"],
            "round_id": tube.round_id,
            "source": CaseSource.RESAMPLE if resample else CaseSource.SINGLE_TUBE,
            "reason": reason,
            "recorded_at": now,
            "recorded_by": user_of(actor),
        },
    )
    if not made:
        if case.status == CaseStatus.CONFIRMED:
            return 0
        case.status, case.reason = CaseStatus.CONFIRMED, reason
        case.ruled_out_at = case.ruled_out_by = None
        case.save(update_fields=["status", "reason", "ruled_out_at", "ruled_out_by"])
    audit_record(
        actor=actor,
        event="labs.case_confirm",
        target=case,
        target_label=f"{sample['resident_id']} {tube.barcode}",
        area_code=case.area_code,
        reason=reason,
        detail={"tube": tube.barcode, "resident": sample["resident_id"], "round": tube.round_id},
    )
    return 1


def _correct(actor, row: ResultRow, tube: _Tube, now, outcome: ImportOutcome) -> None:
    """A different result for a tube that has one, with a reason: kept as a correction."""
    stored = TubeResult.objects.select_for_update().get(tube_id=tube.id)
    old = stored.result
    if old == row.result:
        outcome.unchanged += 1
        return
    ResultCorrection.objects.create(
        result=stored,
        old_result=old,
        new_result=row.result,
        old_tested_at=stored.tested_at,
        new_tested_at=row.tested_at,
        reason=row.reason,
        by=user_of(actor),
        at=now,
    )
    stored.result, stored.tested_at = row.result, row.tested_at
    stored.corrections += 1
    stored.save(update_fields=["result", "tested_at", "corrections"])
    day = timezone.localdate(stored.received_at)
    home = tube_homes([tube.id]).get(tube.id, stored.area_code)
    key = (stored.round_id, home, stored.lab_id, stored.pool_size, stored.site_id)
    _tally([(*key, old, None)], day, sign=-1)
    _tally([(*key, row.result, None)], day)
    why = f"结果更正 / result corrected: {row.reason}"
    if old in RECALLING and row.result not in RECALLING:
        Recall.objects.open().filter(tube_id=tube.id).update(
            status=RecallStatus.CANCELLED, closed_at=now, closed_by=user_of(actor), close_reason=why
        )
    if old == Result.POSITIVE and row.result != Result.POSITIVE:
        PositiveCase.objects.confirmed().filter(tube_id=tube.id).update(
            status=CaseStatus.RULED_OUT,
            ruled_out_at=now,
            ruled_out_by=user_of(actor),
            rule_out_reason=why,
        )
    if row.result in RECALLING:
        reason = (
            RecallReason.POSITIVE_POOL if row.result == Result.POSITIVE else RecallReason.INVALID
        )
        Recall.objects.filter(tube_id=tube.id, status__in=[RecallStatus.OPEN]).update(reason=reason)
        Recall.objects.filter(tube_id=tube.id, status=RecallStatus.CANCELLED).update(
            status=RecallStatus.OPEN, reason=reason, closed_at=None, closed_by=None, close_reason=""
        )
    outcome.corrected += 1
    audit_record(
        actor=actor,
        event="labs.result_correct",
        target=stored,
        target_label=tube.barcode,
        area_code=tube.area_code,
        reason=row.reason,
        detail={"tube": tube.barcode, "from": old, "to": row.result, "row": row.row},
    )
    _consequences(actor, [(tube, row.result)], now, outcome)
