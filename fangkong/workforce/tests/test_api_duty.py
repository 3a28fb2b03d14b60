"""The API twins of the office pages (issue 8, §5): confirm all report-ins, teams and
branches, posts, shifts, rota, assignment and substitution; same services, same
jurisdiction, the one error shape."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.workforce import services
from fangkong.workforce.models import Enrollment, PartyBranch, Post, Shift, ShiftStatus, Team

from .conftest import cid, make_worker

pytestmark = pytest.mark.django_db


def test_confirm_all_report_ins_of_a_community(world, cadre, cadre_b, worker_a, worker_b):
    for w in (cadre, cadre_b):
        services.report_in(actor=w.user, client_id=cid(), community=world.community_a)
    body = {"community": world.community_b.code}
    assert api_as(worker_a).post("/workforce/report-ins/confirm-all", body).status_code == 404
    body = {"community": world.community_a.code}
    r = api_as(worker_a).post("/workforce/report-ins/confirm-all", body)
    assert r.status_code == 200 and r.json() == {"confirmed": 2}
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"confirmed"}


def test_a_team_and_a_branch_of_workers_of_mine(world, cadre, worker_a):
    member = make_worker(world.community_a, "孙八", party=True)
    body = {
        "community": world.community_a.code,
        "name": "一组",
        "leader": cadre.pk,
        "members": [member.pk],
    }
    r = api_as(worker_a).post("/workforce/teams", body)
    assert r.status_code == 201, r.content
    team = Team.objects.get()
    assert r.json()["id"] == team.pk and team.leader == cadre and r.json()["kind"] == "team"
    r = api_as(worker_a).post("/workforce/branches", {**body, "name": "临时党支部"})
    assert r.status_code == 201, r.content
    assert PartyBranch.objects.get().secretary == cadre


def test_a_team_with_a_worker_from_elsewhere_is_refused(world, cadre, cadre_b, worker_a):
    body = {
        "community": world.community_a.code,
        "name": "一组",
        "leader": cadre.pk,
        "members": [cadre_b.pk],
    }
    r = api_as(worker_a).post("/workforce/teams", body)
    assert r.status_code == 400 and error_of(r)["field"] == "members"
    assert not Team.objects.exists()


def test_a_post_its_shifts_rota_and_an_assignment(world, cadre, worker_a):
    api = api_as(worker_a)
    body = {"area": world.compound_a.code, "name": "东门卡口", "kind": "checkpoint"}
    r = api.post("/workforce/posts", {**body, "pattern": "3x8"})
    assert r.status_code == 201, r.content
    post = Post.objects.get()
    assert r.json()["id"] == post.pk and r.json()["pattern"] == "3x8"
    r = api.post(f"/workforce/posts/{post.pk}/shifts", {"first_day": "2026-11-24", "days": 2})
    assert r.status_code == 201 and r.json() == {"made": 6}
    shift = Shift.objects.filter(post=post).order_by("starts_at").first()
    r = api.post(f"/workforce/shifts/{shift.pk}/assign", {"worker": cadre.pk})
    assert r.status_code == 200 and r.json()["worker"] == cadre.pk
    r = api.post(f"/workforce/posts/{post.pk}/rota", {})
    assert r.status_code == 200 and set(r.json()) == {"filled", "open"}


def test_another_communitys_post_is_not_found(world, worker_a, worker_b):
    body = {"area": world.compound_a.code, "name": "东门卡口", "kind": "checkpoint"}
    assert api_as(worker_a).post("/workforce/posts", body).status_code == 201
    pk = Post.objects.get().pk
    r = api_as(worker_b).post(f"/workforce/posts/{pk}/shifts", {})
    assert r.status_code == 404
    error_of(r)


def test_a_proposed_substitute_is_confirmed(world, cadre, worker_a, worker_b):
    post = services.post_create(
        actor=worker_a, area=world.compound_a, name="东门卡口", kind="checkpoint"
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))
    shift = Shift.objects.create(
        post=post,
        area_code=post.area_code,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=8),
        status=ShiftStatus.PROPOSED,
        proposed=cadre,
    )
    assert api_as(worker_b).post(f"/workforce/shifts/{shift.pk}/substitute").status_code == 404
    r = api_as(worker_a).post(f"/workforce/shifts/{shift.pk}/substitute")
    assert r.status_code == 200, r.content
    shift.refresh_from_db()
    assert shift.worker == cadre and shift.status == ShiftStatus.PLANNED
