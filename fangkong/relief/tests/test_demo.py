"""The relief demo (`fangkong demo_relief`, run by `make demo`) over a small seeded
district: everything the issue asks the demo to show is there, made by the services."""

import pytest
from django.db import transaction
from django.urls import reverse

from fangkong.accounts.models import User
from fangkong.people.seeding import seed_district
from fangkong.people.seeding.users import logins_read
from fangkong.relief.demo import demo_relief
from fangkong.relief.models import (
    CareSchedule,
    CheckIn,
    DispatchBatch,
    Escalation,
    HotlineTicket,
    ReliefRequest,
    Stock,
    SupplyPoint,
)

RESIDENTS = 1500


@pytest.fixture(scope="module")
def logins(tmp_path_factory):
    return tmp_path_factory.mktemp("relief") / "demo-logins"


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker, logins):
    with django_db_blocker.unblock(), transaction.atomic():
        seed_district(residents=RESIDENTS, seed=7)
        _workforce_team()
        yield demo_relief(seed=3, logins_file=logins)
        transaction.set_rollback(True)


def _workforce_team():
    """What the workforce demo (run before relief's) leaves in community A: a team of a
    leader and a member with logins."""
    from fangkong.areas.models import Level
    from fangkong.core.actors import SYSTEM
    from fangkong.factories import make_user
    from fangkong.workforce import services as workforce
    from fangkong.workforce.models import Worker
    from fangkong.workforce.tests.conftest import make_worker

    community = User.objects.get(username="community_a").areas.get(level=Level.COMMUNITY)
    workers = []
    for name, username in (("组长甲", "wf_leader"), ("组员乙", "wf_member")):
        worker = make_worker(community, name)
        Worker.objects.filter(pk=worker.pk).update(user=make_user(username, "worker", community))
        workers.append(worker)
    workforce.team_create(
        actor=SYSTEM, community=community, name="第1组", leader=workers[0], members=workers[1:]
    )


@pytest.fixture
def demo(made, db):
    return made


def test_needs_across_categories_open_overdue_and_escalated(demo):
    assert demo.created
    kinds = set(ReliefRequest.objects.values_list("kind", flat=True))
    assert {"groceries", "medicine", "gas_cylinder", "transport_dialysis", "meals"} <= kinds
    assert ReliefRequest.objects.overdue().count() >= 3
    assert Escalation.objects.filter(urgency="critical", levels=["street", "command"]).exists()
    assert ReliefRequest.objects.filter(status="confirmed").exists()


def test_a_dispatched_batch_and_supply_points_with_stock(demo):
    batch = DispatchBatch.objects.get()
    assert batch.size >= 5 and batch.assignee.username == "volunteer"
    assert SupplyPoint.objects.count() == 3
    assert Stock.objects.filter(item="大米", quantity__gt=0).exists()
    assert Stock.objects.filter(low_since__isnull=True).exists()


def test_a_need_given_to_a_workforce_team_shows_on_its_leaders_phone(demo, client):
    need = ReliefRequest.objects.get(workforce_team__name="第1组")
    assert demo.counts["workforce_team_needs"] == 1
    client.force_login(User.objects.get(username="wf_leader"))
    assert f"#{need.pk}" in client.get(reverse("relief:tasks")).content.decode()


def test_check_ins_for_one_compound_with_one_missed(demo):
    assert CareSchedule.objects.count() > 3
    assert len({s.area_code[:15] for s in CareSchedule.objects.all()}) == 1
    assert CheckIn.objects.filter(outcome="missed").count() == 1
    assert ReliefRequest.objects.filter(category__code="care_followup").count() == 1


def test_hotline_tickets_and_logins_for_a_resident_and_a_counsellor(demo, logins, client):
    assert HotlineTicket.objects.count() == 3 and HotlineTicket.objects.filter(risk="high").exists()
    passwords = logins_read(logins)
    assert {"hotline_lead", "counsellor"} <= passwords.keys()
    counsellor = User.objects.get(username="counsellor")
    assert counsellor.check_password(passwords["counsellor"])
    client.force_login(counsellor)
    assert (
        "封控第十天"
        in client.get(
            reverse("relief:ticket", args=[HotlineTicket.objects.order_by("id").first().pk])
        ).content.decode()
    )
    resident = User.objects.get(username="resident")
    client.force_login(resident)
    page = client.get(reverse("relief:mine")).content.decode()
    assert "速效救心丸" in page


def test_running_it_again_changes_nothing(demo, logins):
    before = ReliefRequest.objects.count()
    assert demo_relief(if_empty=True, logins_file=logins).created is False
    assert ReliefRequest.objects.count() == before
