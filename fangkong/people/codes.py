"""Residents' personal codes: signed by the server, checked offline by any device.

The text of a code (see docs/sampling-protocol.md) is

    FK1.<payload>.<signature>

`payload` is base64url (no padding) of compact JSON
`{"r": <resident id>, "n": "<name>", "m": "<masked ID>", "d": "<issued YYYY-MM-DD>"}` and
`signature` is base64url (no padding) of the Ed25519 signature of the ASCII bytes
`FK1.<payload>`. A device that holds the public key (`public_key_b64()`, served by the
sampler config) checks a code without the network and shows the name; the server checks
it again on upload. Nothing here touches the database: a valid code says who the server
vouched for, not that the person still lives where they did.

The reading is strict: one spelling of each part is accepted (canonical base64url, no
padding, the exact JSON keys), so a code that differs from an issued one by any character
is refused rather than read to the same claims.
"""

import base64
import binascii
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.pdf import chinese_font
from fangkong.people.permissions import can_edit_residents, can_read_residents

VERSION = "FK1"
SIGNATURE_CHARS = 86  # 64 bytes in base64url without padding
MAX_CODE_CHARS = 1000  # far beyond any real code; a QR this long is not one of ours
_SHAPE = re.compile(r"^([A-Za-z0-9]{1,8})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$")
_KEYS = frozenset("rnmd")


@dataclass(frozen=True)
class CodeClaims:
    """What a valid code vouches for."""

    resident_id: int
    name: str
    id_masked: str
    issued: dt.date


class CodeError(DomainError):
    code = "bad_code"


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; only the canonical spelling of the bytes is accepted."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


@cache
def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.CODE_SIGNING_KEY)


@cache
def _public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


@cache
def _verify_key() -> VerifyKey:
    """The public key as libsodium's verifier: codes are checked with libsodium rather
    than OpenSSL because it is twice as fast (≈ 60 against ≈ 120 µs a code on this
    project's 2-core server), and every sample uploaded carries one. libsodium is also
    the stricter of the two (it refuses non-canonical and small-order encodings)."""
    return VerifyKey(_public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_b64() -> str:
    """The raw 32-byte Ed25519 public key in base64url, for devices to verify with."""
    return b64url_encode(_public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign_claims(claims: CodeClaims, *, private_key: Ed25519PrivateKey | None = None) -> str:
    """The code text for `claims`, signed with this server's key (or the one given)."""
    body = {
        "r": claims.resident_id,
        "n": claims.name,
        "m": claims.id_masked,
        "d": claims.issued.isoformat(),
    }
    payload = b64url_encode(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    signed = f"{VERSION}.{payload}"
    signature = (private_key or _private_key()).sign(signed.encode("ascii"))
    return f"{signed}.{b64url_encode(signature)}"


def code_for(resident, *, issued: dt.date | None = None) -> str:
    """The personal code of `resident`, issued today unless told otherwise."""
    return sign_claims(
        CodeClaims(
            resident_id=resident.pk,
            name=resident.name,
            id_masked=resident.id_masked,
            issued=issued or timezone.localdate(),
        )
    )


def _bad(zh: str, en: str) -> CodeError:
    return CodeError(zh, en, field="code")


def code_verify(text: str, *, public_key: Ed25519PublicKey | None = None) -> CodeClaims:
    """The claims of a valid code; CodeError (bilingual) for anything else."""
    if not isinstance(text, str):
        raise _bad("不是居民码", "not a resident code")
    text = text.strip()
    if len(text) > MAX_CODE_CHARS:
        raise _bad("不是居民码（内容过长）", "not a resident code (too long)")
    match = _SHAPE.match(text)
    if match is None:
        raise _bad("不是居民码，或码不完整", "not a resident code, or the code is incomplete")
    version, payload, signature = match.groups()
    if version != VERSION:
        raise _bad(
            f"居民码版本{version}不受支持", f"resident code version {version} is not supported"
        )
    if len(signature) != SIGNATURE_CHARS:
        raise _bad("居民码不完整或已被改动", "the resident code is incomplete or altered")
    if public_key is None:
        verifier = _verify_key()
    else:
        verifier = VerifyKey(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    try:
        verifier.verify(f"{version}.{payload}".encode("ascii"), b64url_decode(signature))
    except (ValueError, BadSignatureError):
        raise _bad(
            "居民码签名无效：码被伪造或改动", "the resident code's signature is not valid"
        ) from None
    # Only a payload this server signed gets this far; still read it with care.
    try:
        body = json.loads(b64url_decode(payload).decode("utf-8"))
        if not isinstance(body, dict) or set(body) != _KEYS:
            raise ValueError("keys")
        resident_id, name, masked, issued = body["r"], body["n"], body["m"], body["d"]
        if type(resident_id) is not int or resident_id <= 0:
            raise ValueError("r")
        if not isinstance(name, str) or not isinstance(masked, str):
            raise ValueError("n/m")
        issued_date = dt.date.fromisoformat(issued)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise _bad("居民码内容无法读取", "the resident code's content cannot be read") from None
    return CodeClaims(resident_id=resident_id, name=name, id_masked=masked, issued=issued_date)


def qr_data_uri(text: str, *, scale: int = 8) -> str:
    """An SVG data: URI of a QR holding `text` (pages' CSP allows data: images)."""
    return segno.make_qr(text, error="m").svg_data_uri(scale=scale, border=4)


def qr_runs(text: str) -> tuple[int, list[tuple[int, int, int]]]:
    """A QR as (size in modules, runs of dark modules (row, first column, length)).

    Drawing runs instead of single modules keeps a page of stickers small and fast.
    """
    qr = segno.make_qr(text, error="m")
    runs: list[tuple[int, int, int]] = []
    size = 0
    for y, row in enumerate(qr.matrix_iter(scale=1, border=0)):
        row = list(row)
        size = len(row)
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return size, runs


# Showing and printing codes: the services, each audited.
#
# A code carries nothing beyond the name and the masked ID a reader of residents sees
# anyway, but it is what a sampler scans to record that a person was tested, so a staff
# member showing someone else's code is written down ("people.code_view"), as is every sheet
# printed ("people.codes_print"). A resident showing their own household's codes is not.


@transaction.atomic
def code_show(*, actor, resident) -> str:
    """The code of `resident`, for a staff member who may read them; audited."""
    if not can_read_residents(actor) or not actor.may_see_area(resident.area_code):
        raise PermissionDenied("您不能查看该居民的码", "you may not see this resident's code")
    audit_record(
        actor=actor, event="people.code_view", target=resident, area_code=resident.area_code
    )
    return code_for(resident)


def codes_print(*, actor, building, only_no_smartphone: bool = False) -> bytes:
    """A PDF sheet of stickers for the residents of one building; audited.

    About 20 ms of CPU a sticker, nearly all of it segno choosing the best QR mask (kept:
    these stickers are for the people least able to get a code re-issued); the sheet is
    made outside any transaction and the audit record written once it exists.
    """
    from fangkong.areas.models import Household

    from .models import Resident, Tag

    # Those who keep the roster of a building hand out its stickers.
    if not can_edit_residents(actor) or not actor.may_see_area(building.code):
        raise PermissionDenied(
            "您不能打印该楼栋的居民码", "you may not print this building's codes"
        )
    residents = Resident.objects.within(building).select_related("household__building__parent")
    if only_no_smartphone:
        residents = residents.with_tag(Tag.NO_SMARTPHONE)
    residents = list(residents.order_by(*Household.address_order("household__"), "id"))
    title = f"{building.full_name()} {timezone.localdate():%Y-%m-%d}"
    pdf = sticker_sheet_pdf(residents, title=title)
    audit_record(
        actor=actor,
        event="people.codes_print",
        target=building,
        area_code=building.code,
        detail={"stickers": len(residents), "only_no_smartphone": only_no_smartphone},
    )
    return pdf


# Sticker sheets: A4, a grid of stickers, each with the name, the masked ID and the QR.

MM = 72 / 25.4  # PDF points per millimetre
PAGE_W, PAGE_H = 210 * MM, 297 * MM
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 8 * MM, 14 * MM, 8 * MM
COLUMNS, ROWS = 3, 4
STICKERS_PER_PAGE = COLUMNS * ROWS
CELL_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS
CELL_H = (PAGE_H - MARGIN_TOP - MARGIN_BOTTOM) / ROWS
QR_SIZE = 44 * MM
# The project's own embedded font (fangkong/core/pdf.py): a sheet prints the same on any
# printer, whether or not its computer has a Chinese font.
FONT = "NotoSansSC"


@dataclass(frozen=True)
class Slot:
    """Where one sticker goes: its page (from 0) and its cell's lower-left corner."""

    page: int
    column: int
    row: int
    x: float
    y: float


def sticker_slots(count: int) -> list[Slot]:
    """The place of each of `count` stickers, filling pages row by row from the top."""
    slots = []
    for i in range(count):
        page, k = divmod(i, STICKERS_PER_PAGE)
        row, column = divmod(k, COLUMNS)
        x = MARGIN_X + column * CELL_W
        y = PAGE_H - MARGIN_TOP - (row + 1) * CELL_H
        slots.append(Slot(page, column, row, x, y))
    return slots


def sheet_pages(count: int) -> int:
    return max(1, math.ceil(count / STICKERS_PER_PAGE))


def _fit(text: str, size: float, width: float) -> float:
    """The font size, at most `size`, at which `text` fits in `width`."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    w = stringWidth(text, FONT, size)
    return size if w <= width else max(5.0, size * width / w)


def _draw_qr(canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw a QR as filled runs, in module units (one `re` operator a run, integers only).

    Formatting hundreds of thousands of coordinates through reportlab's path objects
    took seconds a sheet; the operators written directly cost almost nothing.
    """
    modules, runs = qr_runs(text)
    canvas.saveState()
    canvas.translate(x, y + size)
    canvas.scale(size / modules, -size / modules)
    canvas.addLiteral(" ".join(f"{c} {r} {n} 1 re" for r, c, n in runs) + " f")
    canvas.restoreState()


def sticker_sheet_pdf(residents: Iterable, *, title: str = "") -> bytes:
    """The PDF bytes of a sheet of code stickers, one per resident, in the order given."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    chinese_font()
    residents = list(residents)
    slots = sticker_slots(len(residents))
    pages = sheet_pages(len(residents))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"居民码 Resident codes {title}".strip())
    canvas.setCreator("Fangkong")
    issued = timezone.localdate()

    def page_header(number: int) -> None:
        canvas.setFont(FONT, 9)
        canvas.setFillGray(0.35)
        canvas.drawString(MARGIN_X, PAGE_H - 9 * MM, f"居民码  {title}"[:90])
        canvas.drawRightString(PAGE_W - MARGIN_X, PAGE_H - 9 * MM, f"{number} / {pages}")
        canvas.setFillGray(0)

    page_header(1)
    if not residents:
        canvas.setFont(FONT, 12)
        canvas.drawString(
            MARGIN_X, PAGE_H - 30 * MM, "本楼栋没有登记居民 / No residents registered"
        )
    current = 0
    for resident, slot in zip(residents, slots, strict=True):
        if slot.page != current:
            canvas.showPage()
            current = slot.page
            page_header(current + 1)
        # Cut lines: a light dashed frame round each cell.
        canvas.setStrokeGray(0.75)
        canvas.setDash(2, 2)
        canvas.setLineWidth(0.5)
        canvas.rect(slot.x, slot.y, CELL_W, CELL_H, stroke=1, fill=0)
        canvas.setDash()
        inner = CELL_W - 6 * MM
        middle = slot.x + CELL_W / 2
        top = slot.y + CELL_H
        size = _fit(resident.name, 15, inner)
        canvas.setFont(FONT, size)
        canvas.drawCentredString(middle, top - 8 * MM, resident.name)
        canvas.setFont(FONT, 10)
        canvas.drawCentredString(middle, top - 13 * MM, resident.id_masked)
        _draw_qr(
            canvas,
            code_for(resident, issued=issued),
            middle - QR_SIZE / 2,
            top - 15 * MM - QR_SIZE,
            QR_SIZE,
        )
        address = str(resident.household)
        canvas.setFont(FONT, _fit(address, 8, inner))
        canvas.drawCentredString(middle, slot.y + 4 * MM, address)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
