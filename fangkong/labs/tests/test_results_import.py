"""Storing results: idempotence, corrections, unknown tubes, recalls, cases."""

import datetime as dt

import pytest

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.labs import services
from fangkong.labs.files import RowError
from fangkong.labs.models import (
    CaseStatus,
    PositiveCase,
    Recall,
    RecallReason,
    RecallStatus,
    ResultCorrection,
    ResultTally,
    TubeResult,
)
from fangkong.testing.models import Sample

from .helpers import make_lab, make_tube, people, row


@pytest.fixture
def pool(tree, rnd, channel):
    """A sealed tube of five people: three of building A1, two of building A2."""
    members = people(tree.household_a1, 3, "甲") + people(tree.household_a2, 2, "乙")
    return make_tube(rnd, channel, "T0001", members), members


def test_a_new_result_is_stored_with_its_turnaround(lab, pool):
    tube, _ = pool
    outcome = services.results_import(actor=lab, rows=[row("T0001", "negative")])
    assert (outcome.created, outcome.unchanged, outcome.rejected) == (1, 0, 0)
    stored = TubeResult.objects.get(tube=tube)
    assert stored.result == "negative"
    assert stored.lab == lab and stored.lab_name == "零陵区疾控中心"
    assert stored.turnaround_s == int((stored.received_at - tube.sealed_at).total_seconds())
    tally = ResultTally.objects.get()
    assert (tally.results, tally.positives, tally.pool_size) == (1, 0, 10)


def test_the_same_result_again_changes_nothing(lab, pool):
    services.results_import(actor=lab, rows=[row("T0001", "positive")])
    again = services.results_import(
        actor=lab, rows=[row("T0001", "positive"), row("T0001", "positive")]
    )
    assert (again.created, again.unchanged, again.recalls) == (0, 2, 0)
    assert TubeResult.objects.count() == 1
    assert Recall.objects.count() == 5
    assert ResultTally.objects.get().results == 1


def test_an_unknown_barcode_is_refused_naming_the_row(lab, pool):
    outcome = services.results_import(
        actor=lab, rows=[row("NOPE", "negative", 7), row("T0001", "negative", 8)]
    )
    assert outcome.created == 1
    (error,) = outcome.errors
    assert (error.row, error.column, error.code) == (7, "tube", "unknown_tube")
    assert "NOPE" in error.zh and "NOPE" in error.en


def test_a_tube_outside_the_labs_jurisdiction_is_unknown(tree, pool):
    other = make_lab(tree, "lab_b", "西山检测", area=tree.community_b)
    outcome = services.results_import(actor=other, rows=[row("T0001", "positive")])
    assert outcome.errors[0].code == "unknown_tube"
    assert not TubeResult.objects.exists()


def test_a_different_result_without_a_reason_is_refused(lab, pool):
    services.results_import(actor=lab, rows=[row("T0001", "negative")])
    outcome = services.results_import(actor=lab, rows=[row("T0001", "positive", 3)])
    assert outcome.errors[0].code == "differs" and outcome.errors[0].column == "result"
    assert TubeResult.objects.get().result == "negative"
    assert not Recall.objects.exists()


def test_a_correction_keeps_the_old_result_and_raises_recalls(lab, pool):
    services.results_import(actor=lab, rows=[row("T0001", "negative")])
    outcome = services.results_import(actor=lab, rows=[row("T0001", "positive", reason="复核阳性")])
    assert (outcome.corrected, outcome.recalls) == (1, 5)
    stored = TubeResult.objects.get()
    assert (stored.result, stored.corrections) == ("positive", 1)
    fix = ResultCorrection.objects.get()
    assert (fix.old_result, fix.new_result, fix.reason, fix.by) == (
        "negative",
        "positive",
        "复核阳性",
        lab,
    )
    assert AuditEvent.objects.filter(event="labs.result_correct", reason="复核阳性").exists()
    tally = ResultTally.objects.get()
    assert (tally.results, tally.positives) == (1, 1)


def test_correcting_a_positive_to_negative_cancels_its_open_recalls(lab, pool):
    services.results_import(actor=lab, rows=[row("T0001", "positive")])
    services.results_import(actor=lab, rows=[row("T0001", "negative", reason="污染，复检阴性")])
    assert set(Recall.objects.values_list("status", flat=True)) == {RecallStatus.CANCELLED}
    assert ResultTally.objects.get().positives == 0
    # …and back again reopens them rather than making new ones.
    services.results_import(actor=lab, rows=[row("T0001", "positive", reason="再次复核")])
    assert Recall.objects.count() == 5
    assert set(Recall.objects.values_list("status", flat=True)) == {RecallStatus.OPEN}


def test_a_positive_pool_recalls_every_member_in_their_own_building(tree, lab, pool):
    tube, members = pool
    outcome = services.results_import(actor=lab, rows=[row("T0001", "positive")])
    assert outcome.recalls == 5
    recalls = Recall.objects.order_by("id")
    assert {r.resident_id for r in recalls} == {m.pk for m in members}
    assert {r.area_code for r in recalls} == {tree.building_a1.code, tree.building_a2.code}
    assert {r.reason for r in recalls} == {RecallReason.POSITIVE_POOL}
    assert all(r.tube_id == tube.pk and r.status == RecallStatus.OPEN for r in recalls)


def test_an_invalid_pool_recalls_too(lab, pool):
    outcome = services.results_import(actor=lab, rows=[row("T0001", "invalid")])
    assert outcome.recalls == 5
    assert set(Recall.objects.values_list("reason", flat=True)) == {RecallReason.INVALID}


def test_an_unidentified_member_is_recalled_for_review(tree, rnd, channel, lab):
    make_tube(rnd, channel, "T0002", people(tree.household_a1, 2), unknown=1)
    services.results_import(actor=lab, rows=[row("T0002", "positive")])
    assert Recall.objects.count() == 3
    assert Recall.objects.filter(resident=None).count() == 1


def test_a_negative_single_tube_after_the_recall_closes_it(tree, rnd, channel, lab, pool):
    _, members = pool
    services.results_import(actor=lab, rows=[row("T0001", "positive")])
    later = Recall.objects.get(resident=members[0]).raised_at + dt.timedelta(minutes=5)
    make_tube(rnd, channel, "S0001", [members[0]], at=later, pool_size=1, first=False)
    outcome = services.results_import(actor=lab, rows=[row("S0001", "negative")])
    assert outcome.closed == 1
    recall = Recall.objects.get(resident=members[0])
    assert recall.status == RecallStatus.NEGATIVE
    assert recall.resample_tube.barcode == "S0001"
    assert Recall.objects.open().count() == 4


def test_a_single_tube_taken_before_the_recall_does_not_close_it(rnd, channel, lab, pool):
    _, members = pool
    services.results_import(actor=lab, rows=[row("T0001", "positive")])
    make_tube(rnd, channel, "S0002", [members[1]], at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    outcome = services.results_import(actor=lab, rows=[row("S0002", "negative")])
    assert outcome.closed == 0
    assert Recall.objects.get(resident=members[1]).status == RecallStatus.OPEN


def test_a_positive_resample_closes_the_recall_and_makes_a_case(rnd, channel, lab, pool):
    _, members = pool
    services.results_import(actor=lab, rows=[row("T0001", "positive")])
    later = Recall.objects.get(resident=members[2]).raised_at + dt.timedelta(minutes=5)
    make_tube(rnd, channel, "S0003", [members[2]], at=later, pool_size=1, first=False)
    outcome = services.results_import(actor=lab, rows=[row("S0003", "positive")])
    assert (outcome.closed, outcome.cases) == (1, 1)
    assert Recall.objects.get(resident=members[2]).status == RecallStatus.POSITIVE
    case = PositiveCase.objects.get()
    assert (case.resident, case.status, case.source) == (
        members[2],
        CaseStatus.CONFIRMED,
        "resample",
    )
    assert AuditEvent.objects.filter(event="labs.case_confirm", target_id=str(case.pk)).exists()


def test_a_positive_single_tube_is_a_case_without_a_recall(tree, rnd, channel, lab):
    (person,) = people(tree.household_b1, 1)
    make_tube(rnd, channel, "S0004", [person], pool_size=1)
    outcome = services.results_import(actor=lab, rows=[row("S0004", "positive")])
    assert (outcome.cases, outcome.recalls) == (1, 0)
    assert PositiveCase.objects.get().source == "single"


def test_an_invalid_single_tube_recalls_its_person(tree, rnd, channel, lab):
    (person,) = people(tree.household_b1, 1)
    make_tube(rnd, channel, "S0005", [person], pool_size=1)
    outcome = services.results_import(actor=lab, rows=[row("S0005", "invalid")])
    assert outcome.recalls == 1
    assert Recall.objects.get().resident == person


def test_a_case_is_ruled_out_only_with_a_reason(tree, rnd, channel, lab, command_user):
    (person,) = people(tree.household_b1, 1)
    make_tube(rnd, channel, "S0006", [person], pool_size=1)
    services.results_import(actor=lab, rows=[row("S0006", "positive")])
    case = PositiveCase.objects.get()
    with pytest.raises(DomainError):
        services.case_rule_out(actor=command_user, case=case, reason=" ")
    services.case_rule_out(actor=command_user, case=case, reason="复核排除：实验室污染")
    case.refresh_from_db()
    assert case.status == CaseStatus.RULED_OUT and case.ruled_out_by == command_user
    assert AuditEvent.objects.get(event="labs.case_rule_out").reason == "复核排除：实验室污染"


def test_only_a_lab_may_upload(worker_a, pool):
    with pytest.raises(PermissionDenied):
        services.results_import(actor=worker_a, rows=[row("T0001", "negative")])


def test_refused_rows_are_counted_and_the_good_rows_go_in(lab, pool):
    bad = RowError(3, "result", "invalid", "结果无效", "bad result")
    outcome = services.results_import(actor=lab, rows=[bad, row("T0001", "negative", 4)])
    assert (outcome.rows, outcome.rejected, outcome.created) == (2, 1, 1)


def test_results_of_a_file_bigger_than_a_chunk_all_go_in(tree, rnd, channel, lab, monkeypatch):
    monkeypatch.setenv("FANGKONG_LABS_CHUNK", "100")
    for i in range(250):
        make_tube(rnd, channel, f"B{i:04d}")
    rows = [row(f"B{i:04d}", "negative", i + 2) for i in range(250)]
    outcome = services.results_import(actor=lab, rows=rows)
    assert outcome.created == 250
    assert ResultTally.objects.get().results == 250


def test_samples_arriving_after_a_positive_result_are_recalled_later(tree, rnd, channel, lab):
    tube = make_tube(rnd, channel, "T0009")
    services.results_import(actor=lab, rows=[row("T0009", "positive")])
    assert not Recall.objects.exists()
    for i, person in enumerate(people(tree.household_a1, 3)):
        Sample.objects.create(
            client_id=f"late{i}",
            round=rnd,
            tube=tube,
            resident=person,
            area_code=person.area_code,
            at=tube.opened_at,
            site=channel.site,
            channel=channel,
        )
    assert services.recalls_reconcile() == 3
    assert services.recalls_reconcile() == 0
    assert Recall.objects.open().count() == 3
