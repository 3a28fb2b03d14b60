"""Moving a resident between communities: asked for by the community they now live in,
decided by the office above both, audited on both sides; the asking side learns nothing
of the person until then."""

import pytest
from django.urls import reverse

from fangkong.accounts.services import token_issue
from fangkong.areas.models import Household
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.idnumbers import IdType
from fangkong.core.models import AuditEvent, Notification
from fangkong.factories import area, make_resident, make_user
from fangkong.people import services
from fangkong.people.models import HandOver, HandOverStatus, Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved_in(tree):
    """李四 is registered in community B and now lives in community A."""
    return make_resident(tree.household_b1, "李四")


def _ask(actor, tree, person, reason="已搬入本社区"):
    return services.handover_request(
        actor=actor,
        household=tree.household_a2,
        id_type=IdType.MAINLAND,
        id_number=person.id_number(),
        reason=reason,
    )


def test_registering_a_number_held_elsewhere_tells_only_that(worker_a, tree, moved_in):
    data = services.resident_validate(
        name="冒名", id_type=IdType.MAINLAND, id_number=moved_in.id_number()
    )
    with pytest.raises(services.HeldElsewhere) as held:
        services.resident_register(actor=worker_a, household=tree.household_a1, data=data)
    text = f"{held.value.zh} {held.value.en}"
    assert "李四" not in text and "西山" not in text and tree.community_b.code not in text
    assert held.value.code == "held_elsewhere" and "申请迁入" in held.value.zh
    moved_in.refresh_from_db()
    assert moved_in.name == "李四" and moved_in.area_code == tree.building_b1.code


def test_the_street_office_approves_and_the_person_moves_with_their_record(
    worker_a, street_user, tree, moved_in
):
    handover = _ask(worker_a, tree, moved_in)
    assert handover.approver_code == tree.street.code
    assert (handover.from_code, handover.to_code) == (tree.community_b.code, tree.community_a.code)
    # The street office is told; asking again for the same address joins the request.
    assert Notification.objects.filter(recipient=street_user, kind="people.handover").exists()
    assert _ask(worker_a, tree, moved_in).pk == handover.pk
    assert not Resident.objects.for_user(worker_a).filter(pk=moved_in.pk).exists()

    services.handover_decide(actor=street_user, handover=handover, approve=True, reason="核实")
    moved_in.refresh_from_db()
    assert moved_in.household == tree.household_a2 and moved_in.name == "李四"
    assert moved_in.area_code == tree.building_a2.code
    assert Resident.objects.for_user(worker_a).filter(pk=moved_in.pk).exists()
    # Both sides' logs hold the request and the decision.
    for event in ("people.handover_request", "people.handover_approve"):
        sides = set(AuditEvent.objects.filter(event=event).values_list("area_code", flat=True))
        assert sides == {tree.community_a.code, tree.community_b.code}, event
    assert Notification.objects.filter(recipient=worker_a, kind="people.handover").exists()
    with pytest.raises(Conflict, match="decided already"):
        services.handover_decide(actor=street_user, handover=handover, approve=False, reason="x")


def test_two_streets_are_decided_by_the_command_centre(worker_a, tree, command_user):
    street2 = area("431102002", "朝阳街道", tree.district)
    community_c = area("431102002001", "南门社区", street2)
    compound_c = area("431102002001001", "南苑", community_c)
    building_c = area("431102002001001001", "1栋", compound_c)
    far = make_resident(Household.objects.create(building=building_c, room="101"), "王五")
    other_street = make_user("street2", "street", street2)
    handover = _ask(worker_a, tree, far)
    assert handover.approver_code == tree.district.code
    for refuser in (other_street, make_user("street", "street", tree.street)):
        with pytest.raises(PermissionDenied):
            services.handover_decide(actor=refuser, handover=handover, approve=True)
    services.handover_decide(actor=command_user, handover=handover, approve=True)
    far.refresh_from_db()
    assert far.area_code == tree.building_a2.code


def test_workers_cannot_decide_and_declining_needs_a_reason(
    worker_a, worker_b, street_user, tree, moved_in
):
    handover = _ask(worker_a, tree, moved_in)
    for worker in (worker_a, worker_b):
        with pytest.raises(PermissionDenied):
            services.handover_decide(actor=worker, handover=handover, approve=True)
    with pytest.raises(DomainError, match="reason"):
        services.handover_decide(actor=street_user, handover=handover, approve=False)
    services.handover_decide(
        actor=street_user, handover=handover, approve=False, reason="仍在原址居住"
    )
    handover.refresh_from_db()
    moved_in.refresh_from_db()
    assert handover.status == HandOverStatus.DECLINED and moved_in.area_code.startswith(
        tree.community_b.code
    )


def test_the_asking_side_may_withdraw_and_others_may_not(worker_a, worker_b, tree, moved_in):
    handover = _ask(worker_a, tree, moved_in)
    with pytest.raises(PermissionDenied):
        services.handover_cancel(actor=worker_b, handover=handover)
    services.handover_cancel(actor=worker_a, handover=handover, reason="登记错")
    assert HandOver.objects.get(pk=handover.pk).status == HandOverStatus.CANCELLED


def test_bad_requests_are_refused_in_both_languages(worker_a, volunteer, tree, moved_in):
    mine = make_resident(tree.household_a1, "张三丰")
    with pytest.raises(DomainError, match="in your jurisdiction") as own:
        _ask(worker_a, tree, mine)
    assert "辖区内" in own.value.zh
    with pytest.raises(DomainError, match="reason"):
        _ask(worker_a, tree, moved_in, reason=" ")
    with pytest.raises(DomainError) as bad:
        services.handover_request(
            actor=worker_a,
            household=tree.household_a2,
            id_type=IdType.MAINLAND,
            id_number="123",
            reason="x",
        )
    assert bad.value.field == "id_number"
    with pytest.raises(PermissionDenied):
        _ask(volunteer, tree, moved_in)
    with pytest.raises(PermissionDenied):  # an address outside the asker's jurisdiction
        services.handover_request(
            actor=worker_a,
            household=tree.household_b1,
            id_type=IdType.MAINLAND,
            id_number=mine.id_number(),
            reason="x",
        )


# Pages and API ---------------------------------------------------------------------------


def test_the_register_page_offers_a_hand_over_and_shows_no_name(
    client_for, worker_a, street_user, tree, moved_in
):
    client = client_for(worker_a)
    form = {
        "name": "冒名",
        "id_type": IdType.MAINLAND,
        "id_number": moved_in.id_number(),
        "residency": "permanent",
        "building": tree.building_a2.code,
        "unit": "2",
        "room": "202",
    }
    page = client.post(reverse("people:register"), form)
    body = page.content.decode()
    assert page.status_code == 400 and "李四" not in body and "西山" not in body
    assert reverse("people:handover_new") in body and "已登记在其他社区" in body
    asked = client.post(
        reverse("people:handover_new"),
        {
            **{k: form[k] for k in ("id_type", "id_number", "building", "unit", "room")},
            "reason": "已搬入",
        },
    )
    handover = HandOver.objects.get()
    assert asked.url == reverse("people:handover", args=[handover.pk])
    mine = client.get(asked.url).content.decode()
    assert "李四" not in mine and moved_in.id_masked in mine
    assert 'value="approve"' not in mine and 'value="cancel"' in mine
    decider = client_for(street_user)
    assert "李四" in decider.get(asked.url).content.decode()
    decider.post(asked.url, {"action": "approve", "reason": ""})
    moved_in.refresh_from_db()
    assert moved_in.area_code == tree.building_a2.code


def test_another_community_cannot_open_the_request(client_for, worker_a, tree, moved_in):
    outsider = make_user("worker_c", "community")
    handover = _ask(worker_a, tree, moved_in)
    assert client_for(outsider).get(reverse("people:handover", args=[handover.pk])).status_code in (
        403,
        404,
    )


def _api(client, user, method, path, body=None):
    token = token_issue(actor=SYSTEM, user=user)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(
        (f"/api/v1{path}" if path.startswith("/handovers") else f"/api/v1/residents{path}"),
        body,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **kwargs,
    )


def test_the_api_twins_register_ask_and_decide(client, worker_a, street_user, tree, moved_in):
    address = {"building": tree.building_a2.code, "unit": "2", "room": "202"}
    held = _api(
        client,
        worker_a,
        "post",
        "/",
        {"name": "冒名", "id_number": moved_in.id_number(), "household": address},
    )
    assert held.status_code == 409 and held.json()["error"]["code"] == "held_elsewhere"
    asked = _api(
        client,
        worker_a,
        "post",
        "/handovers/",
        {"id_number": moved_in.id_number(), "household": address, "reason": "已搬入"},
    )
    assert asked.status_code == 201
    body = asked.json()
    assert body["name"] is None and body["from_community"] is None and body["status"] == "pending"
    assert body["id_number_masked"] == moved_in.id_masked
    seen = _api(client, street_user, "get", f"/handovers/{body['id']}").json()
    assert seen["name"] == "李四"
    refused = _api(client, worker_a, "post", f"/handovers/{body['id']}/approve", {})
    assert refused.status_code == 403
    declined = _api(client, street_user, "post", f"/handovers/{body['id']}/decline", {})
    assert declined.status_code == 400 and declined.json()["error"]["field"] == "reason"
    done = _api(client, street_user, "post", f"/handovers/{body['id']}/approve", {"reason": ""})
    assert done.json()["status"] == "approved"
    mine = _api(client, worker_a, "get", "/handovers/").json()["items"]
    assert mine[0]["name"] == "李四"
