"""Residents' codes: signed, checked strictly, shown and printed only within scope."""

import base64
import datetime as dt
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people import codes
from fangkong.people.codes import CodeClaims, CodeError, code_verify, sign_claims
from fangkong.people.models import Tag

CLAIMS = CodeClaims(12345, "张三丰", "4311**********1234", dt.date(2026, 11, 23))
VALID = sign_claims(CLAIMS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(**body) -> str:
    return _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def _refused(text, *words: str) -> CodeError:
    with pytest.raises(CodeError) as info:
        code_verify(text)
    err = info.value
    assert err.zh and err.en and err.field == "code"
    for word in words:
        assert word in err.en
    return err


# The format


def test_a_signed_code_verifies_to_its_claims():
    assert code_verify(VALID) == CLAIMS


def test_the_code_has_the_protocol_shape():
    version, payload, signature = VALID.split(".")
    assert version == "FK1"
    assert "=" not in VALID
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {
        "r": 12345,
        "n": "张三丰",
        "m": "4311**********1234",
        "d": "2026-11-23",
    }
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64


def test_the_signature_covers_version_and_payload_and_checks_with_the_public_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    version, payload, signature = VALID.split(".")
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(codes.public_key_b64() + "="))
    key.verify(base64.urlsafe_b64decode(signature + "=="), f"{version}.{payload}".encode())


def test_surrounding_whitespace_from_a_scanner_is_ignored():
    assert code_verify(f"  {VALID}\r\n") == CLAIMS


def test_code_for_a_resident_carries_id_name_and_masked_number(tree):
    resident = make_resident(tree.household_a1, "王五")
    claims = code_verify(codes.code_for(resident))
    assert (claims.resident_id, claims.name, claims.id_masked) == (
        resident.pk,
        "王五",
        resident.id_masked,
    )
    assert "*" in claims.id_masked


# What must fail, each with a clear bilingual message


def test_a_forged_signature_is_refused():
    version, payload, _ = VALID.split(".")
    forged = f"{version}.{payload}.{_b64(bytes(64))}"
    _refused(forged, "signature")


def test_an_altered_resident_id_is_refused():
    _, _, signature = VALID.split(".")
    payload = _payload(r=12346, n="张三丰", m="4311**********1234", d="2026-11-23")
    _refused(f"FK1.{payload}.{signature}", "signature")


def test_an_altered_name_is_refused():
    _, _, signature = VALID.split(".")
    payload = _payload(r=12345, n="李四", m="4311**********1234", d="2026-11-23")
    _refused(f"FK1.{payload}.{signature}", "signature")


@pytest.mark.parametrize("cut", [1, 10, 87, 88, len(VALID) // 2, len(VALID) - 4])
def test_a_truncated_code_is_refused(cut):
    _refused(VALID[:-cut])


def test_a_code_signed_by_another_key_is_refused():
    other = sign_claims(CLAIMS, private_key=Ed25519PrivateKey.generate())
    _refused(other, "signature")


def test_a_code_checks_with_the_key_given():
    key = Ed25519PrivateKey.generate()
    assert code_verify(sign_claims(CLAIMS, private_key=key), public_key=key.public_key()) == CLAIMS
    with pytest.raises(CodeError):
        code_verify(VALID, public_key=key.public_key())


@settings(max_examples=200)
@given(message=st.binary(max_size=200), flip=st.integers(0, 64 * 8 - 1), tamper=st.booleans())
def test_libsodium_and_openssl_agree_on_our_signatures(message, flip, tamper):
    """Codes are checked with libsodium (faster) and signed with OpenSSL: a signature
    one makes the other accepts, and a changed bit is refused by both."""
    from cryptography.exceptions import InvalidSignature
    from nacl.exceptions import BadSignatureError

    private = codes._private_key()
    signature = bytearray(private.sign(message))
    if tamper:
        signature[flip // 8] ^= 1 << (flip % 8)
    try:
        private.public_key().verify(bytes(signature), message)
        openssl = True
    except InvalidSignature:
        openssl = False
    try:
        codes._verify_key().verify(message, bytes(signature))
        sodium = True
    except BadSignatureError:
        sodium = False
    assert openssl == sodium == (not tamper)


def test_an_unknown_version_is_refused_by_name():
    err = _refused("FK2" + VALID[3:], "version")
    assert "FK2" in err.zh


@pytest.mark.parametrize(
    "garbage",
    ["", "hello", "FK1", "FK1..", "FK1.abc.def", "T202611230001", "431102198005171234", "🙂" * 10],
)
def test_garbage_is_refused(garbage):
    _refused(garbage)


def test_non_text_is_refused():
    _refused(None)
    _refused(b"FK1.x.y")


def test_a_signed_payload_of_the_wrong_shape_is_refused_as_unreadable():
    """Only this server signs; still, a payload that is not the claims is not read."""
    key = codes._private_key()
    for body in [{"r": "1", "n": "a", "m": "b", "d": "2026-01-01"}, {"r": 1}, [1, 2]]:
        payload = _b64(json.dumps(body).encode())
        signature = _b64(key.sign(f"FK1.{payload}".encode()))
        _refused(f"FK1.{payload}.{signature}", "cannot be read")


_ALPHABET = st.sampled_from(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ 张"
)


@st.composite
def mutations(draw):
    """A valid code with characters replaced, inserted or deleted somewhere."""
    text = list(VALID)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        if kind == "insert":
            text.insert(draw(st.integers(0, len(text))), draw(_ALPHABET))
        elif text:
            i = draw(st.integers(0, len(text) - 1))
            if kind == "replace":
                text[i] = draw(_ALPHABET)
            else:
                del text[i]
    return "".join(text)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_any_mutation_fails_or_reads_the_same_claims(mutated):
    try:
        claims = code_verify(mutated)
    except CodeError:
        return
    assert claims == CLAIMS
    # The strict reading accepts one spelling only: the very same code.
    assert mutated.strip() == VALID


@settings(max_examples=100)
@given(
    resident_id=st.integers(1, 2**53),
    name=st.text(min_size=1, max_size=40),
    masked=st.text(max_size=24),
    issued=st.dates(),
)
def test_any_claims_round_trip(resident_id, name, masked, issued):
    claims = CodeClaims(resident_id, name, masked, issued)
    assert code_verify(sign_claims(claims)) == claims


# Pages: the resident's own codes


def _qr_count(response) -> int:
    return len(re.findall(r'class="code-qr" src="data:image/svg\+xml', response.content.decode()))


@pytest.mark.django_db
def test_a_resident_sees_the_codes_of_their_household_only(client_for, tree, resident_a):
    spouse = make_resident(tree.household_a1, "王芳")
    make_resident(tree.household_a2, "邻居")  # same compound, other household
    user = make_user("res", "resident", resident=resident_a)
    response = client_for(user).get(reverse("people:mine"))
    page = response.content.decode()
    assert response.status_code == 200
    assert _qr_count(response) == 2
    assert "张三丰" in page and "王芳" in page and "邻居" not in page
    assert page.index("张三丰") < page.index("王芳")  # oneself first
    assert spouse.id_masked in page
    assert spouse.id_number() not in page and resident_a.id_number() not in page


@pytest.mark.django_db
def test_a_staff_member_sees_only_their_own_household_on_their_codes_page(
    client_for, worker_a, resident_a, tree
):
    make_resident(tree.household_a2, "邻居")
    assert _qr_count(client_for(worker_a).get(reverse("people:mine"))) == 0
    worker_a.resident = resident_a
    worker_a.save()
    response = client_for(worker_a).get(reverse("people:mine"))
    assert _qr_count(response) == 1
    assert "邻居" not in response.content.decode()


@pytest.mark.django_db
def test_the_codes_page_keeps_the_csp(client_for, resident_a):
    user = make_user("res", "resident", resident=resident_a)
    response = client_for(user).get(reverse("people:mine"))
    page = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in page and " style=" not in page and "<style" not in page


@pytest.mark.django_db
def test_the_qr_on_the_page_is_the_residents_own_valid_code(client_for, resident_a):
    user = make_user("res", "resident", resident=resident_a)
    response = client_for(user).get(reverse("people:mine"))
    text = codes.code_for(resident_a)  # issued today, as the page's
    assert code_verify(text).resident_id == resident_a.pk
    assert codes.qr_data_uri(text) in response.content.decode()


# Pages: a staff member's view of one code


@pytest.mark.django_db
def test_a_worker_sees_a_code_of_their_community_and_the_view_is_audited(
    client_for, worker_a, resident_a
):
    response = client_for(worker_a).get(reverse("people:code", args=[resident_a.pk]))
    assert response.status_code == 200
    assert _qr_count(response) == 1
    event = AuditEvent.objects.get(event="people.code_view")
    assert event.actor == worker_a and event.target_id == str(resident_a.pk)


@pytest.mark.django_db
def test_a_worker_cannot_see_a_code_of_another_community(client_for, worker_a, resident_b):
    response = client_for(worker_a).get(reverse("people:code", args=[resident_b.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event="people.code_view").exists()


@pytest.mark.django_db
def test_a_resident_cannot_use_the_staff_code_view(client_for, resident_a):
    user = make_user("res", "resident", resident=resident_a)
    response = client_for(user).get(reverse("people:code", args=[resident_a.pk]))
    assert response.status_code == 403


# Sticker sheets


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_sticker_slots_fill_pages_row_by_row():
    slots = codes.sticker_slots(codes.STICKERS_PER_PAGE + 2)
    assert [s.page for s in slots].count(0) == codes.STICKERS_PER_PAGE
    assert (slots[0].column, slots[0].row) == (0, 0)
    assert (slots[1].column, slots[1].row) == (1, 0)
    assert (slots[codes.COLUMNS].column, slots[codes.COLUMNS].row) == (0, 1)
    assert slots[-1].page == 1 and (slots[-1].column, slots[-1].row) == (1, 0)
    for s in slots:  # every cell lies on the A4 page
        assert s.x >= 0 and s.x + codes.CELL_W <= codes.PAGE_W + 0.01
        assert s.y >= 0 and s.y + codes.CELL_H <= codes.PAGE_H + 0.01


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, 1, codes.STICKERS_PER_PAGE, codes.STICKERS_PER_PAGE + 1])
def test_the_sticker_sheet_is_a_pdf_with_one_sticker_per_resident(tree, count):
    residents = [make_resident(tree.household_a1, f"居民{i}") for i in range(count)]
    pdf = codes.sticker_sheet_pdf(residents, title="1号楼")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _pdf_pages(pdf) == codes.sheet_pages(count)
    # The Chinese font is embedded (a TrueType subset), not left to the reader's computer.
    assert b"/FontFile2" in pdf and b"STSong" not in pdf


@pytest.mark.django_db
def test_a_worker_prints_a_building_of_their_community_and_it_is_audited(
    client_for, worker_a, tree, resident_a
):
    for i in range(codes.STICKERS_PER_PAGE):
        make_resident(tree.household_a1, f"居民{i}")
    make_resident(tree.household_a2, "别楼")  # another building: not on this sheet
    url = reverse("people:building_codes", args=[tree.building_a1.code])
    response = client_for(worker_a).post(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert _pdf_pages(response.content) == 2  # 13 residents, 12 a page
    event = AuditEvent.objects.get(event="people.codes_print")
    assert event.actor == worker_a and event.area_code == tree.building_a1.code
    assert event.detail["stickers"] == codes.STICKERS_PER_PAGE + 1


@pytest.mark.django_db
def test_printing_can_be_limited_to_residents_without_a_smartphone(client_for, worker_a, tree):
    make_resident(tree.household_a1, "老人", tags=Tag.NO_SMARTPHONE)
    make_resident(tree.household_a1, "青年")
    url = reverse("people:building_codes", args=[tree.building_a1.code])
    client_for(worker_a).post(url, {"only": "no_smartphone"})
    assert AuditEvent.objects.get(event="people.codes_print").detail["stickers"] == 1


@pytest.mark.django_db
def test_a_worker_of_a_cannot_print_a_building_of_b(client_for, worker_a, tree, resident_b):
    url = reverse("people:building_codes", args=[tree.building_b1.code])
    assert client_for(worker_a).post(url).status_code == 404
    assert not AuditEvent.objects.filter(event="people.codes_print").exists()


@pytest.mark.django_db
def test_only_a_building_can_be_printed(client_for, worker_a, tree):
    url = reverse("people:building_codes", args=[tree.community_a.code])
    assert client_for(worker_a).post(url).status_code == 404


@pytest.mark.django_db
def test_printing_needs_a_roster_keeping_role_and_a_post(client_for, volunteer, worker_a, tree):
    url = reverse("people:building_codes", args=[tree.building_a1.code])
    assert client_for(volunteer).post(url).status_code == 403
    assert client_for(worker_a).get(url).status_code == 405


@pytest.mark.django_db
def test_the_building_page_offers_the_sheet_to_those_who_may_print(
    client_for, worker_a, volunteer, tree
):
    url = reverse("areas:detail", args=[tree.building_a1.code])
    sheet = reverse("people:building_codes", args=[tree.building_a1.code])
    assert sheet in client_for(worker_a).get(url).content.decode()
    assert sheet not in client_for(volunteer).get(url).content.decode()


def test_codes_print_refuses_a_building_outside_the_jurisdiction(db, worker_a, tree):
    from fangkong.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        codes.codes_print(actor=worker_a, building=tree.building_b1)
