import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.idnumbers import IdType
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, new_id_number
from fangkong.people import services
from fangkong.people.models import Resident, Tag
from fangkong.people.pinyin import pinyin_keys
from fangkong.people.services import Outcome

pytestmark = pytest.mark.django_db


def data(**overrides):
    values = {
        "name": "王小明",
        "id_type": IdType.MAINLAND,
        "id_number": new_id_number(dt.date(1948, 2, 29)),
        "phone": "139-0000-1111",
    }
    values.update(overrides)
    return services.resident_validate(**values)


def test_pinyin_keys():
    assert pinyin_keys("张三丰") == ("zhangsanfeng", "zsf")
    assert pinyin_keys("John Smith") == ("johnsmith", "js")


def test_registration_derives_sex_and_birth_and_encrypts(worker_a, tree):
    registration = data()
    resident, outcome = services.resident_register(
        actor=worker_a, household=tree.household_a1, data=registration
    )
    assert outcome == Outcome.CREATED
    resident.refresh_from_db()
    assert resident.birth_date == dt.date(1948, 2, 29)
    assert resident.sex in ("M", "F")
    assert resident.id_number() == registration.doc.number
    assert registration.doc.number.encode() not in bytes(resident.id_cipher)
    assert resident.phone() == "13900001111"
    assert resident.phone_masked == "139****1111"
    assert resident.id_masked.startswith("4311") and "*" in resident.id_masked
    assert AuditEvent.objects.filter(
        event="people.resident_create", target_id=str(resident.pk)
    ).exists()


def test_second_registration_of_the_same_id_updates_never_duplicates(worker_a, tree):
    first = data()
    resident, _ = services.resident_register(
        actor=worker_a, household=tree.household_a1, data=first
    )
    same, outcome = services.resident_register(
        actor=worker_a, household=tree.household_a1, data=first
    )
    assert outcome == Outcome.UNCHANGED and same.pk == resident.pk
    moved = data(id_number=first.doc.number.lower(), phone="13900002222")
    again, outcome = services.resident_register(
        actor=worker_a, household=tree.household_a2, data=moved
    )
    assert outcome == Outcome.UPDATED and again.pk == resident.pk
    assert Resident.objects.count() == 1
    again.refresh_from_db()
    assert again.area_code == tree.building_a2.code and again.phone() == "13900002222"


def test_registering_into_another_jurisdiction_is_refused(worker_a, tree):
    with pytest.raises(PermissionDenied):
        services.resident_register(actor=worker_a, household=tree.household_b1, data=data())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"id_number": "431102194802290000"}, "id_number"),
        ({"phone": "12345"}, "phone"),
        ({"residency": "visitor"}, "residency"),
        ({"tags": 1 << 20}, "tags"),
    ],
)
def test_bad_input_names_the_field_in_both_languages(overrides, field):
    with pytest.raises(DomainError) as exc:
        data(**overrides)
    assert exc.value.field == field
    assert exc.value.zh and exc.value.en and exc.value.zh != exc.value.en


def test_the_id_number_cannot_be_changed_by_an_update(worker_a, tree, resident_a):
    with pytest.raises(DomainError, match="cannot change"):
        services.resident_update(
            actor=worker_a, resident=resident_a, household=tree.household_a1, data=data()
        )


def test_reveal_is_audited_and_limited_by_role(worker_a, volunteer, resident_a):
    numbers = services.resident_reveal(actor=worker_a, resident=resident_a, reason="核对")
    assert numbers["id_number"] == resident_a.id_number()
    event = AuditEvent.objects.get(event="people.resident_reveal")
    assert event.actor == worker_a and event.reason == "核对"
    with pytest.raises(PermissionDenied):
        services.resident_reveal(actor=volunteer, resident=resident_a, reason="核对")


@pytest.mark.parametrize("reason", ["", "  \n "])
def test_a_reveal_without_a_reason_is_refused_and_not_audited(worker_a, resident_a, reason):
    with pytest.raises(DomainError) as refused:
        services.resident_reveal(actor=worker_a, resident=resident_a, reason=reason)
    assert refused.value.field == "reason"
    assert not AuditEvent.objects.filter(event="people.resident_reveal").exists()


def test_reveal_page_shows_full_numbers_and_audits(client_for, worker_a, resident_a):
    url = reverse("people:reveal", args=[resident_a.pk])
    response = client_for(worker_a).post(url, {"reason": "上门核酸联系"})
    assert resident_a.id_number() in response.content.decode()
    event = AuditEvent.objects.get(event="people.resident_reveal", actor=worker_a)
    assert event.reason == "上门核酸联系"


def test_reveal_page_without_a_reason_says_so_and_shows_nothing(client_for, worker_a, resident_a):
    client = client_for(worker_a)
    url = reverse("people:reveal", args=[resident_a.pk])
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post(url, {"reason": " "}, headers=headers)
        page = response.content.decode()
        assert response.status_code == (200 if headers else 400)
        assert "必须填写理由" in page and "a reason is required" in page
        assert resident_a.id_number() not in page and resident_a.id_masked in page
    detail = client.get(reverse("people:detail", args=[resident_a.pk])).content.decode()
    assert 'name="reason" required' in detail
    assert not AuditEvent.objects.filter(event="people.resident_reveal").exists()


def test_detail_page_shows_only_the_masked_number(client_for, worker_a, resident_a):
    page = client_for(worker_a).get(reverse("people:detail", args=[resident_a.pk])).content.decode()
    assert resident_a.id_masked in page and resident_a.id_number() not in page


def search(user, q, **kw):
    return [r.name for r in services.resident_search(actor=user, q=q, **kw).items]


def test_search_by_name_pinyin_initials_and_digits(worker_a, tree):
    zhang = make_resident(tree.household_a1, "张三丰", phone="13712345678")
    make_resident(tree.household_a1, "李思思", phone="13800001111")
    assert search(worker_a, "张") == ["张三丰"]
    assert search(worker_a, "zsf") == ["张三丰"]
    assert search(worker_a, "ZS") == ["张三丰"]
    assert search(worker_a, "zhangsan") == ["张三丰"]
    assert search(worker_a, "ｚｓｆ") == ["张三丰"]  # full-width letters
    assert search(worker_a, zhang.id_tail) == ["张三丰"]
    assert search(worker_a, "5678") == ["张三丰"]  # phone tail
    assert search(worker_a, "13712345678") == ["张三丰"]
    assert search(worker_a, "137-1234-5678") == ["张三丰"]
    assert search(worker_a, zhang.id_number().lower()) == ["张三丰"]
    assert sorted(search(worker_a, "")) == ["张三丰", "李思思"]


@pytest.mark.parametrize("q", ["1", "12", "123", "1" * 19])
def test_a_number_neither_a_tail_nor_whole_is_refused_naming_the_box(worker_a, tree, q):
    with pytest.raises(DomainError) as refused:
        search(worker_a, q)
    assert refused.value.field == "q" and "末4位" in refused.value.zh


def test_search_within_an_area_and_household(worker_a, tree):
    make_resident(tree.household_a1, "甲")
    make_resident(tree.household_a2, "乙")
    assert search(worker_a, "", area=tree.building_a2.code) == ["乙"]
    assert search(worker_a, "", household=tree.household_a1.pk) == ["甲"]


def test_search_pages_without_counting(worker_a, tree):
    for i in range(25):
        make_resident(tree.household_a1, f"张{i:02d}")
    first = services.resident_search(actor=worker_a, q="zh", page=1)
    second = services.resident_search(actor=worker_a, q="zh", page=2)
    assert len(first.items) == 20 and first.has_next
    assert len(second.items) == 5 and not second.has_next
    assert not {r.pk for r in first.items} & {r.pk for r in second.items}


def test_tags_are_queryable(tree):
    bedridden = make_resident(tree.household_a1, "卧床", tags=Tag.BEDRIDDEN | Tag.LIVING_ALONE)
    make_resident(tree.household_a1, "健康")
    assert list(Resident.objects.with_tag(Tag.BEDRIDDEN)) == [bedridden]
    with translation.override("en"):
        assert bedridden.tag_labels() == ["Living alone", "Bedridden"]
