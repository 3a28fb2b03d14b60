"""Household screening campaigns: coverage per building and grid like a testing round's
(done, not yet, by whom), "nobody home" and "refused" keeping a household open, the
not-yet list, answers that flag a person raising a trace task, replays, spreadsheets."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.factories import new_id_number
from fangkong.screening import selectors, services
from fangkong.screening.models import CampaignCoverage, HouseholdVisit, TraceTask
from fangkong.screening.services import AnswerIn

from .conftest import cid


def _screen(actor, campaign, household, outcome="done", answers=(), method="door", client_id=None):
    return services.household_screen(
        actor=actor,
        campaign=campaign,
        household=household,
        outcome=outcome,
        method=method,
        client_id=client_id or cid(),
        answers=list(answers),
    )


def test_launch_counts_the_households_of_every_building(tree, campaign, more_households):
    rows = dict(
        CampaignCoverage.objects.filter(campaign=campaign).values_list("area_code", "households")
    )
    # Households counted at launch from the per-building statistics (made before launch
    # for A2 and B1; A1's two extra households were added after the stats were counted).
    assert set(rows) == {tree.building_a1.code, tree.building_a2.code, tree.building_b1.code}
    total = selectors.coverage_of_area(campaign, tree.street.code)
    assert total.households == sum(rows.values()) and total.done == 0


def test_coverage_moves_with_answers_and_nobody_home_keeps_a_household_open(
    tree, grid_worker, family_a, more_households, street_user
):
    from fangkong.people.services import building_stats_refresh

    building_stats_refresh([tree.building_a1.code])
    campaign = services.campaign_launch(
        actor=street_user,
        name="摸排",
        areas=[tree.community_a],
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    h1, (h2, h3) = tree.household_a1, more_households
    _screen(
        grid_worker,
        campaign,
        h1,
        answers=[AnswerIn(resident_id=family_a[0].pk), AnswerIn(resident_id=family_a[1].pk)],
    )
    _screen(grid_worker, campaign, h2, outcome="nobody_home")
    _screen(grid_worker, campaign, h3, outcome="refused", method="phone")
    a1 = selectors.coverage_of_area(campaign, tree.building_a1.code)
    assert (a1.households, a1.done, a1.open_visited, a1.not_yet) == (3, 1, 2, 2)
    # The not-yet list shows the two open doors, with what happened and who tried.
    open_doors = list(selectors.not_yet_households(campaign, tree.building_a1))
    assert [(h.room, h.outcome, h.tried_by) for h in open_doors] == [
        ("102", "nobody_home", "grid_a1"),
        ("201", "refused", "grid_a1"),
    ]
    # Back later: screened. A later "nobody home" at a done household does not reopen it.
    _screen(grid_worker, campaign, h2)
    _screen(grid_worker, campaign, h1, outcome="nobody_home")
    a1 = selectors.coverage_of_area(campaign, tree.building_a1.code)
    assert (a1.done, a1.open_visited, a1.not_yet) == (2, 1, 1)
    assert [h.room for h in selectors.not_yet_households(campaign, tree.building_a1)] == ["201"]
    assert selectors.by_whom(campaign, tree.community_a.code) == [{"by_name": "grid_a1", "n": 2}]
    # The grid's coverage is its buildings'.
    from fangkong.areas.models import Grid

    total, rows = selectors.grid_coverage(campaign, Grid.objects.get(keeper=grid_worker))
    assert (total.done, [r.area.code for r in rows]) == (2, [tree.building_a1.code])
    # Children of the community: its compound.
    children = selectors.coverage_children(campaign, tree.community_a)
    assert [(r.area.code, r.coverage.done) for r in children] == [(tree.compound_a.code, 2)]


def test_a_flagged_answer_raises_a_trace_task_with_its_deadline(
    tree, grid_worker, campaign, family_a
):
    traveller = new_id_number(region="310115")
    result = _screen(
        grid_worker,
        campaign,
        tree.household_a1,
        answers=[
            AnswerIn(
                resident_id=family_a[0].pk,
                travelled=True,
                travel_from="上海市浦东新区",
                from_risk_area=True,
            ),
            AnswerIn(resident_id=family_a[1].pk, vaccination="booster"),
            AnswerIn(id_number=traveller, name="来访亲戚", phone="13811112222", case_contact=True),
        ],
    )
    cats = sorted((t.person.name, t.category) for t in result.tasks)
    assert cats == [("来访亲戚", "close"), ("王大明", "risk_area")]
    for t in result.tasks:
        assert t.area_code == tree.building_a1.code and t.source == "campaign"
        assert t.deadline > t.raised_at
    visitor = next(t for t in result.tasks if t.category == "close").person
    assert visitor.found and visitor.area_code == tree.building_a1.code
    assert "上海市浦东新区" in next(t for t in result.tasks if t.category == "risk_area").reason


def test_a_replayed_visit_changes_nothing(tree, grid_worker, campaign, family_a, more_households):
    answers = [AnswerIn(resident_id=family_a[0].pk, symptoms=True)]
    first = _screen(grid_worker, campaign, tree.household_a1, answers=answers, client_id="v-1")
    again = _screen(grid_worker, campaign, tree.household_a1, answers=answers, client_id="v-1")
    assert again.replayed and again.visit.pk == first.visit.pk
    assert [t.pk for t in again.tasks] == [t.pk for t in first.tasks]
    assert HouseholdVisit.objects.count() == 1 and TraceTask.objects.count() == 1
    assert selectors.coverage_of_area(campaign, tree.building_a1.code).done == 1
    with pytest.raises(Conflict):
        _screen(grid_worker, campaign, more_households[0], client_id="v-1")


def test_answers_only_for_the_households_people_and_only_when_screened(
    tree, grid_worker, campaign, family_a, resident_b
):
    with pytest.raises(DomainError) as caught:
        _screen(
            grid_worker, campaign, tree.household_a1, answers=[AnswerIn(resident_id=resident_b.pk)]
        )
    assert caught.value.field == "answers.0.resident_id"
    with pytest.raises(DomainError):
        _screen(
            grid_worker,
            campaign,
            tree.household_a1,
            outcome="refused",
            answers=[AnswerIn(resident_id=family_a[0].pk)],
        )
    assert not HouseholdVisit.objects.exists()


def test_a_building_leader_screens_only_their_building(tree, building_leader, campaign):
    _screen(building_leader, campaign, tree.household_a2)
    with pytest.raises(PermissionDenied):
        _screen(building_leader, campaign, tree.household_a1)


def test_a_closed_campaign_takes_no_visit(tree, street_user, grid_worker, campaign):
    services.campaign_close(actor=street_user, campaign=campaign, reason="摸排结束")
    with pytest.raises(Conflict):
        _screen(grid_worker, campaign, tree.household_a1)


CSV_HEADER = "楼栋编码,单元,房号,排查结果,证件号码,姓名,电话,14天内外出,来自,风险地区,症状,接触病例,疫苗接种\n"


def test_a_spreadsheet_of_answers_reports_bad_rows_and_stores_the_rest(
    tree, worker_a, campaign, family_a
):
    b1 = tree.building_a1.code
    traveller = new_id_number(region="440111")
    rows = [
        f"{b1},1,101,已排查,{family_a[0].id_number()},王大明,,否,,否,否,否,全程",
        f"{b1},1,101,已排查,{traveller},外地访客,13800001111,是,广州市白云区,是,否,否,加强",
        f"{b1},1,101,已排查,{family_a[1].id_number()},王小明,,也许,,否,否,否,全程",  # bad flag
        "12345,1,101,已排查,,,,,,,,,",  # bad building
        f"{tree.building_a2.code},2,202,无人在家,,,,,,,,,",
        f"{b1},1,999,已排查,,,,,,,,,",  # no such household
    ]
    data = (CSV_HEADER + "\n".join(rows) + "\n").encode()
    out = services.answers_import(
        actor=worker_a, campaign=campaign, data=data, file_name="摸排.csv"
    )
    assert [(p.row, p.field) for p in out.problems] == [
        (4, "travelled"),
        (5, "building"),
        (7, "room"),
    ]
    assert "是" in out.problems[0].zh and out.problems[0].en
    assert (out.households, out.stored, out.tasks) == (2, 2, 1)
    task = TraceTask.objects.get()
    assert task.category == "risk_area" and task.person.name == "外地访客"
    assert selectors.coverage_of_area(campaign, tree.building_a1.code).done == 1
    assert selectors.coverage_of_area(campaign, tree.building_a2.code).open_visited == 1
    again = services.answers_import(
        actor=worker_a, campaign=campaign, data=data, file_name="摸排.csv"
    )
    assert (again.stored, again.replayed) == (0, 2)
    assert HouseholdVisit.objects.count() == 2 and TraceTask.objects.count() == 1


def test_an_xlsx_of_answers_is_read_too(tree, worker_a, campaign, family_a):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(CSV_HEADER.strip().split(","))
    sheet.append(
        [
            tree.building_a1.code,
            "1",
            "101",
            "已排查",
            family_a[0].id_number(),
            "王大明",
            "",
            "否",
            "",
            "否",
            "是",
            "否",
            "未接种",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    out = services.answers_import(
        actor=worker_a, campaign=campaign, data=buffer.getvalue(), file_name="a.xlsx"
    )
    assert (out.stored, out.tasks, out.problems) == (1, 1, [])
    assert TraceTask.objects.get().category == "symptoms"


def test_a_resident_answered_for_from_another_community_gets_a_task_there(
    tree, grid_worker, campaign, resident_b
):
    result = _screen(
        grid_worker,
        campaign,
        tree.household_a1,
        answers=[AnswerIn(id_number=resident_b.id_number(), name="?", case_contact=True)],
    )
    assert result.elsewhere == 1
    assert result.tasks[0].area_code == tree.building_b1.code
