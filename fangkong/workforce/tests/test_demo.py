"""The workforce demo (`fangkong demo_workforce`, run by `make demo`) over a small district."""

import pytest
from django.db import transaction

from fangkong.accounts.models import User
from fangkong.people.seeding import seed_district
from fangkong.workforce.demo import demo_workforce
from fangkong.workforce.jurisdiction import is_liaison
from fangkong.workforce.models import (
    AllocationRun,
    Attendance,
    CallOut,
    PartyBranch,
    Shift,
    StaffingRequest,
    Team,
    Worker,
)


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), transaction.atomic():
        seed_district(residents=600, seed=7, logins_path=tmp_path_factory.mktemp("d") / "logins")
        yield demo_workforce(workers=240)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_demo_has_everything_the_issue_asks_for(made):
    assert Worker.objects.count() >= 230
    assert (
        Worker.objects.filter(organ__isnull=False).exists()
        and Worker.objects.filter(organ__isnull=True).exists()
    )
    assert Team.objects.count() >= 3 and PartyBranch.objects.count() == 1
    assert StaffingRequest.objects.filter(status="open").exists()
    run = AllocationRun.objects.get(purpose="requests")
    assert run.status == "confirmed" and 0 < run.filled < run.seats
    assert Attendance.objects.on_duty().exists()
    assert Shift.objects.filter(no_show_at__isnull=False).count() == 1
    assert CallOut.objects.filter(status="open").count() == 1
    assert is_liaison(User.objects.get(username="liaison_health"))
    leader = Worker.objects.get(user__username="team_leader")
    assert Team.objects.filter(leader=leader).exists()
    assert Worker.objects.filter(user__username="volunteer").exists()


@pytest.mark.django_db
def test_a_second_run_changes_nothing(made):
    before = Worker.objects.count()
    assert "nothing to do" in demo_workforce(if_empty=True)
    assert Worker.objects.count() == before
