"""Reporting in: by the community's signed code or by choice; replays change nothing;
the community confirms or declines."""

import datetime as dt

import pytest

from fangkong.core import signing
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.models import Notification
from fangkong.workforce import services
from fangkong.workforce.models import Enrollment, EnrollmentStatus

from .conftest import cid


def test_a_worker_reports_in_by_scanning_the_communitys_code(world, cadre, worker_b):
    code = services.community_code(actor=worker_b, community=world.community_b)
    assert signing.verify(code, kind="community").claims["n"] == world.community_b.name
    subject = signing.verify(code, kind="community").subject
    # The subject hides the database id: it is not the id, yet it maps back to it.
    assert subject != str(world.community_b.pk) and not subject.isdigit()
    assert signing.id_of("community", subject) == world.community_b.pk
    enrollment, created = services.report_in(actor=cadre.user, client_id=cid(), code=code)
    assert created and enrollment.via == "scan" and enrollment.status == "pending"
    assert enrollment.organ_id == cadre.organ_id
    cadre.refresh_from_db()
    assert cadre.area_code == world.community_b.code
    assert (cadre.lat, cadre.lon) == (26.24, 111.65)


def test_a_replayed_report_in_changes_nothing(world, cadre):
    key = cid()
    first, created = services.report_in(
        actor=cadre.user, client_id=key, community=world.community_a
    )
    again, created_again = services.report_in(
        actor=cadre.user, client_id=key, community=world.community_a
    )
    assert created and not created_again and first.pk == again.pk
    # Another tap with a new id at the same community: still the one report-in.
    third, created_third = services.report_in(
        actor=cadre.user, client_id=cid(), community=world.community_a
    )
    assert not created_third and third.pk == first.pk
    assert Enrollment.objects.count() == 1


def test_someone_elses_client_id_is_refused(world, cadre, cadre_b):
    key = cid()
    services.report_in(actor=cadre.user, client_id=key, community=world.community_a)
    with pytest.raises(Conflict):
        services.report_in(actor=cadre_b.user, client_id=key, community=world.community_a)


def test_reporting_in_elsewhere_leaves_the_first_community(world, cadre):
    first, _ = services.report_in(actor=cadre.user, client_id=cid(), community=world.community_a)
    services.report_in(actor=cadre.user, client_id=cid(), community=world.community_b)
    first.refresh_from_db()
    assert first.status == EnrollmentStatus.LEFT
    assert Enrollment.objects.open().get().area_code == world.community_b.code


@pytest.mark.parametrize("tamper", ["forged", "kind", "expired"])
def test_bad_codes_are_refused(world, cadre, worker_a, tamper, clock):
    code = services.community_code(actor=worker_a, community=world.community_a)
    if tamper == "forged":
        code = code[:-5] + ("A" if code[-5] != "A" else "B") + code[-4:]
    elif tamper == "kind":
        code = signing.sign(
            "post", signing.opaque_id("community", world.community_a.pk), valid_days=1
        )
    else:
        clock.shift(dt.timedelta(days=31).total_seconds())
    with pytest.raises(DomainError):
        services.report_in(actor=cadre.user, client_id=cid(), code=code)
    assert not Enrollment.objects.exists()


def test_the_community_confirms_or_declines_with_a_reason(world, cadre, cadre_b, worker_a):
    one, _ = services.report_in(actor=cadre.user, client_id=cid(), community=world.community_a)
    two, _ = services.report_in(actor=cadre_b.user, client_id=cid(), community=world.community_a)
    services.enrollment_decide(actor=worker_a, enrollment=one, confirm=True)
    with pytest.raises(DomainError):
        services.enrollment_decide(actor=worker_a, enrollment=two, confirm=False, reason="")
    services.enrollment_decide(actor=worker_a, enrollment=two, confirm=False, reason="人员已满")
    one.refresh_from_db(), two.refresh_from_db(), cadre_b.refresh_from_db()
    assert one.status == "confirmed" and one.decided_by == worker_a
    assert two.status == "declined" and two.reason == "人员已满"
    assert cadre_b.area_code == cadre_b.home_code  # back home
    assert Notification.objects.filter(recipient=cadre_b.user, kind="workforce.enrollment").exists()


def test_another_community_cannot_decide(world, cadre, worker_b):
    one, _ = services.report_in(actor=cadre.user, client_id=cid(), community=world.community_a)
    with pytest.raises(PermissionDenied):
        services.enrollment_decide(actor=worker_b, enrollment=one, confirm=True)


def test_confirm_all_at_once(world, cadre, cadre_b, worker_a):
    for w in (cadre, cadre_b):
        services.report_in(actor=w.user, client_id=cid(), community=world.community_a)
    assert services.enrollments_confirm_all(actor=worker_a, community=world.community_a) == 2
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"confirmed"}
