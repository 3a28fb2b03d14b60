"""A need from the resident's phone to their confirmation, and every refusal on the way."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent, Notification
from fangkong.factories import make_resident, make_user
from fangkong.relief import services
from fangkong.relief.models import (
    Escalation,
    EventKind,
    Kind,
    ReliefRequest,
    Status,
    Submission,
    Urgency,
)

from .conftest import ask

pytestmark = pytest.mark.django_db


def steps(need) -> list[str]:
    return list(need.events.order_by("at", "id").values_list("kind", flat=True))


def test_a_need_goes_from_the_residents_phone_to_their_confirmation(asker, worker_a, volunteer):
    need = ask(asker, "medicine", detail="硝酸甘油 一瓶").request
    assert (need.status, need.urgency, need.kind) == (Status.OPEN, Urgency.URGENT, Kind.MEDICINE)
    assert need.household_id == asker.resident.household_id
    assert need.sla_minutes == 240 and need.sla_version == 0
    assert (need.deadline - need.registered_at).total_seconds() == 4 * 3600
    assert need.contact_phone_masked == "138****8000"

    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    assert Notification.objects.filter(recipient=volunteer, kind="relief.task").exists()
    assert Notification.objects.filter(recipient=asker, kind="relief.status").exists()
    services.request_accept(actor=volunteer, request=need)
    services.request_pick_up(actor=volunteer, request=need)
    need.refresh_from_db()
    done = services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    assert done.status == Status.CONFIRMED and done.proof == "code"
    assert done.delivered_at and done.closed_at and done.met_deadline is True
    assert steps(done) == ["registered", "dispatched", "accepted", "picked_up", "delivered"]
    # Every step is attributed.
    by = dict(done.events.values_list("kind", "actor_name"))
    assert by == {
        "registered": "res_a",
        "dispatched": "worker_a",
        "accepted": "volunteer",
        "picked_up": "volunteer",
        "delivered": "volunteer",
    }
    assert AuditEvent.objects.filter(event__startswith="relief.request_").count() == 5


def test_a_photo_delivery_waits_for_the_resident_to_confirm(asker, worker_a, volunteer):
    need = ask(asker, "groceries").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    photo = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff jpeg", content_type="image/jpeg")
    need = services.request_deliver(actor=volunteer, request=need, photo=photo)
    assert need.status == Status.DELIVERED and need.proof == "photo" and need.photo
    need = services.request_confirm(actor=asker, request=need)
    assert need.status == Status.CONFIRMED


def test_a_complaint_reopens_the_need_and_keeps_its_history(asker, worker_a, volunteer, clock):
    need = ask(asker, "gas_cylinder").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_deliver(actor=volunteer, request=need, photo=SimpleUploadedFile("a.jpg", b"x"))
    first_deadline = need.deadline
    clock.shift(3600)
    need = services.request_complain(actor=asker, request=need, reason="送来的是空罐")
    assert need.status == Status.OPEN and need.reopened == 1
    assert need.assignee is None and need.delivered_at is None
    assert need.deadline > first_deadline
    assert steps(need) == ["registered", "dispatched", "delivered", "complained", "reopened"]
    assert need.events.get(kind="complained").note == "送来的是空罐"


def test_a_wrong_code_is_refused_counted_and_after_five_only_a_photo_will_do(
    asker, worker_a, volunteer
):
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    wrong = "000000" if need.confirm_code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(DomainError) as refused:
            services.request_deliver(actor=volunteer, request=need, code=wrong)
        assert refused.value.field == "code" and "确认码" in refused.value.zh
    need.refresh_from_db()
    assert need.code_attempts == 5 and need.status == Status.ASSIGNED
    assert AuditEvent.objects.filter(event="relief.code_refuse").count() == 5
    with pytest.raises(DomainError):
        services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    done = services.request_deliver(
        actor=volunteer, request=need, photo=SimpleUploadedFile("a.jpg", b"x")
    )
    assert done.status == Status.DELIVERED


def test_the_same_need_twice_from_one_household_is_merged_and_the_asker_told(asker, tree, worker_a):
    first = ask(asker, "groceries", detail="米面油")
    spouse = make_resident(tree.household_a1, "张夫人")
    spouse_user = make_user("spouse", "resident", resident=spouse)
    second = ask(spouse_user, "groceries", detail="还要鸡蛋")
    assert second.outcome == "merged" and second.request.pk == first.request.pk
    assert "已合并" in second.message[0] and "merged" in second.message[1]
    assert ReliefRequest.objects.count() == 1
    need = ReliefRequest.objects.get()
    assert need.repeats == 1
    assert need.events.get(kind=EventKind.MERGED).note == "还要鸡蛋"
    # A worker registering the same need for the household merges too.
    third = ask(worker_a, "groceries", household=tree.household_a1)
    assert third.outcome == "merged" and ReliefRequest.objects.count() == 1
    # Another category is another need; a closed need does not absorb a new one.
    assert ask(asker, "medicine").outcome == "created"
    services.request_cancel(actor=worker_a, request=need, reason="已自行解决")
    assert ask(asker, "groceries").outcome == "created"
    assert ReliefRequest.objects.count() == 3


def test_a_retry_with_the_same_client_id_changes_nothing(asker):
    first = ask(asker, "meals", client_id="phone-1")
    again = ask(asker, "meals", client_id="phone-1")
    assert (again.outcome, again.request.pk) == ("repeat", first.request.pk)
    assert ReliefRequest.objects.count() == 1 and Submission.objects.count() == 1
    assert ReliefRequest.objects.get().repeats == 0
    merged = ask(asker, "meals", client_id="phone-2")
    again = ask(asker, "meals", client_id="phone-2")
    assert merged.outcome == "merged" and again.outcome == "repeat"
    assert ReliefRequest.objects.get().repeats == 1


def test_a_merged_ask_sent_twice_at_once_answers_the_twin_not_an_error(asker, monkeypatch):
    """Two copies of one ask that merges race: the second waits for the first's lock on
    the open need, and by then the first's submission is committed. Here the second
    copy's earlier looks find nothing (as they would while the first was uncommitted)."""
    from fangkong.relief.services import requests as registering

    ask(asker, "meals", client_id="phone-1")
    twin = ask(asker, "meals", client_id="phone-2")
    assert twin.outcome == "merged"
    real = registering._previous
    looks = {"n": 0}

    def blind_at_first(actor, client_id):
        looks["n"] += 1
        return None if looks["n"] <= 2 else real(actor, client_id)

    monkeypatch.setattr(registering, "_previous", blind_at_first)
    again = ask(asker, "meals", client_id="phone-2")
    assert looks["n"] == 3
    assert (again.outcome, again.request.pk) == ("repeat", twin.request.pk)
    assert ReliefRequest.objects.get().repeats == 1
    assert Submission.objects.filter(client_id="phone-2").count() == 1


def test_a_family_member_asks_for_a_parent_of_their_own_household_only(asker, tree, resident_b):
    import datetime as dt

    parent = make_resident(tree.household_a1, "张老伯", birth=dt.date(1940, 3, 1))
    need = ask(asker, "prescription", resident=parent.pk).request
    assert need.resident_id == parent.pk and need.channel == "family"
    with pytest.raises(DomainError) as refused:
        ask(asker, "medicine", resident=resident_b.pk)
    assert refused.value.field == "resident"
    with pytest.raises(PermissionDenied):
        ask(asker, "medicine", household=tree.household_b1.pk)
    assert ReliefRequest.objects.count() == 1


def test_a_worker_registers_for_a_resident_without_a_phone(worker_a, tree):
    elder = make_resident(tree.household_a2, "无手机老人", phone="")
    need = ask(worker_a, "gas_cylinder", resident=elder.pk, contact_phone="0746-8221234").request
    assert need.channel == "on_behalf" and need.household_id == tree.household_a2.pk
    assert need.contact_phone() == "07468221234" and need.registered_by == worker_a


def test_bad_input_gets_a_bilingual_message_and_nothing_is_written(
    asker, worker_a, worker_b, tree, resident_b, volunteer
):
    before = AuditEvent.objects.count()
    cases = [
        (lambda: ask(asker, "caviar"), "category"),
        (lambda: ask(asker, "care_followup"), "category"),  # not offered to residents
        (lambda: ask(asker, "meals", urgency="whenever"), "urgency"),
        (lambda: ask(worker_a, "meals", household=999999), "household"),
        (lambda: ask(worker_a, "meals", resident=resident_b.pk), "resident"),
        (lambda: ask(worker_a, "meals", resident=resident_b.pk + 1000), "resident"),
        (
            lambda: ask(worker_a, "meals", household=tree.household_a1, contact_phone="12"),
            "contact_phone",
        ),
    ]
    for call, field in cases:
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.zh and refused.value.en and refused.value.field == field, field
    with pytest.raises(PermissionDenied):
        ask(worker_b, "meals", household=tree.household_a1)
    assert ReliefRequest.objects.count() == 0 and AuditEvent.objects.count() == before
    # A delivery on a closed need.
    need = ask(asker, "meals").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_cancel(actor=worker_a, request=need, reason="重复登记")
    with pytest.raises(DomainError) as refused:
        services.request_deliver(
            actor=volunteer, request=need, photo=SimpleUploadedFile("a.jpg", b"x")
        )
    assert refused.value.field == "status" and "已取消" in refused.value.zh


def test_only_the_one_it_was_given_to_carries_a_need(asker, worker_a, volunteer, tree):
    other = make_user("other_vol", "worker", tree.community_a)
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    with pytest.raises(PermissionDenied):
        services.request_accept(actor=other, request=need)
    with pytest.raises(PermissionDenied):
        services.request_contact_reveal(actor=other, request=need)


def test_dispatch_refuses_a_person_from_outside_and_a_closed_need(asker, worker_a, tree):
    outsider = make_user("vol_b", "worker", tree.community_b)
    need = ask(asker).request
    with pytest.raises(DomainError) as refused:
        services.request_dispatch(actor=worker_a, request=need, assignee=outsider)
    assert refused.value.field == "assignee"
    resident_user = make_user("someone", "resident")
    with pytest.raises(DomainError):
        services.request_dispatch(actor=worker_a, request=need, assignee=resident_user)


def test_a_team_takes_a_need_and_the_first_member_to_accept_carries_it(
    asker, worker_a, volunteer, tree
):
    second = make_user("vol2", "worker", tree.community_a)
    team = services.team_create(
        actor=worker_a, community=tree.community_a, name="一组", members=[volunteer, second]
    )
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, team=team)
    assert Notification.objects.filter(kind="relief.task").count() == 2
    services.request_accept(actor=second, request=need)
    need.refresh_from_db()
    assert need.assignee == second
    with pytest.raises(PermissionDenied):
        services.request_pick_up(actor=volunteer, request=need)


def test_batch_dispatch_gives_a_buildings_orders_to_one_volunteer_or_none(
    worker_a, volunteer, tree
):
    households = [tree.household_a1] + [
        tree.household_a1.__class__.objects.create(building=tree.building_a1, unit="1", room=f"{n}")
        for n in range(2, 31)
    ]
    needs = [ask(worker_a, "groceries", household=h).request for h in households]
    batch = services.requests_dispatch_batch(actor=worker_a, requests=needs, assignee=volunteer)
    assert batch.size == 30 and batch.area_code == tree.building_a1.code
    assert ReliefRequest.objects.filter(assignee=volunteer, batch=batch).count() == 30
    assert Notification.objects.filter(recipient=volunteer).count() == 1
    # All or none: one closed need in the list stops the whole batch.
    fresh = [ask(worker_a, "meals", household=h).request for h in households[:3]]
    services.request_cancel(actor=worker_a, request=fresh[1], reason="不需要了")
    with pytest.raises(DomainError) as refused:
        services.requests_dispatch_batch(actor=worker_a, requests=fresh, assignee=volunteer)
    assert f"#{fresh[1].pk}" in refused.value.zh
    assert not ReliefRequest.objects.filter(
        pk__in=[n.pk for n in fresh], assignee=volunteer
    ).exists()


def test_a_problem_sends_the_need_back_to_the_queue_with_its_reason(asker, worker_a, volunteer):
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    with pytest.raises(DomainError):
        services.request_report_problem(actor=volunteer, request=need, reason=" ")
    need = services.request_report_problem(actor=volunteer, request=need, reason="药店缺货")
    assert need.status == Status.OPEN and need.problem == "药店缺货" and need.assignee is None
    assert Notification.objects.filter(recipient=worker_a, text_zh__contains="药店缺货").exists()


def test_a_critical_need_tells_the_community_at_once(asker, worker_a):
    ask(asker, "transport_emergency")
    assert Notification.objects.filter(recipient=worker_a, kind="relief.need").exists()


def test_the_phone_reveal_is_audited_and_ends_with_the_task(asker, worker_a, volunteer):
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    assert services.request_contact_reveal(actor=volunteer, request=need) == "13800138000"
    assert AuditEvent.objects.filter(event="relief.contact_reveal", actor=volunteer).count() == 1
    assert need.events.filter(kind="called").count() == 1
    services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    with pytest.raises(PermissionDenied):
        services.request_contact_reveal(actor=volunteer, request=need)


def test_every_phone_reveal_has_a_reason_on_record(asker, worker_a, volunteer):
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_contact_reveal(actor=volunteer, request=need)
    services.request_contact_reveal(actor=worker_a, request=need, reason="核对地址")
    reasons = list(
        AuditEvent.objects.filter(event="relief.contact_reveal")
        .order_by("id")
        .values_list("actor_name", "reason")
    )
    assert reasons == [
        ("volunteer", f"送达联系 / delivery call about need {need.pk}"),
        ("worker_a", "核对地址"),
    ]


def test_a_resident_may_withdraw_only_while_nobody_carries_it(asker, worker_a, volunteer):
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    with pytest.raises(DomainError):
        services.request_cancel(actor=asker, request=need, reason="不要了")
    other = ask(asker, "meals").request
    assert (
        services.request_cancel(actor=asker, request=other, reason="不要了").status == "cancelled"
    )


def test_a_community_adds_its_own_category(worker_a, worker_b, asker, tree):
    services.category_add(
        actor=worker_a,
        community=tree.community_a,
        code="baby_formula",
        name_zh="婴儿奶粉",
        kind="groceries",
        urgency="urgent",
    )
    need = ask(asker, "baby_formula").request
    assert (need.kind, need.urgency) == ("groceries", "urgent")
    with pytest.raises(PermissionDenied):
        services.category_add(actor=worker_b, community=tree.community_a, code="x", name_zh="某物")
    # Community B does not have A's category.
    with pytest.raises(DomainError) as refused:
        ask(worker_b, "baby_formula", household=tree.household_b1)
    assert refused.value.field == "category"


def test_a_delivery_resolves_the_needs_escalations(asker, worker_a, volunteer):
    need = ask(asker).request
    Escalation.objects.create(request=need, area_code=need.area_code, urgency=need.urgency)
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    assert Escalation.objects.get().resolved_at is not None


def test_the_suggestion_asks_the_workforce_for_skills_duty_and_who_is_away(
    asker, worker_a, volunteer, tree, grid_a
):
    from django.utils import timezone

    from fangkong.relief.selectors import suggest_assignees
    from fangkong.workforce.models import Attendance, Post, Skill, Worker
    from fangkong.workforce.tests.conftest import make_worker

    medical = Skill.objects.create(
        code="medical", kind="medical", name_zh="医护", name_en="Medical"
    )
    plain, away = (
        make_user("vol2", "worker", tree.community_a),
        make_user("vol3", "worker", tree.community_a),
    )
    for user, name in ((volunteer, "赵六"), (plain, "钱七"), (away, "孙八")):
        Worker.objects.filter(pk=make_worker(tree.community_a, name).pk).update(user=user)
    Worker.objects.get(user=volunteer).skills.add(medical)
    Worker.objects.filter(user=away).update(status="sick")
    post = Post.objects.create(
        name="东风社区配送点",
        kind="delivery",
        area=tree.community_a,
        area_code=tree.community_a.code,
    )
    Attendance.objects.create(
        worker=Worker.objects.get(user=volunteer),
        post=post,
        area_code=post.area_code,
        in_client_id="duty-1",
        check_in_at=timezone.now(),
    )
    need = ask(asker, "medicine").request
    suggested = suggest_assignees(need)
    users = [s.user for s in suggested]
    assert away not in users  # sick: not sent
    assert users[0] == volunteer and users[-1] == plain  # the skill and on duty first
    first = suggested[0]
    assert first.skill is True and first.on_shift is True and len(first.why) == 2
    assert next(s for s in suggested if s.user == grid_a).skill is None  # not a worker
