"""Signed codes for every app: checked offline by any device, rotated by key id.

A code's text is

    FK2.<kid>.<payload>.<signature>

`kid` names the signing key; `payload` is base64url (no padding) of compact JSON
`{"t": kind, "s": subject, "i": "YYYY-MM-DD", "e": "YYYY-MM-DD", ...claims}`, and
`signature` the Ed25519 signature of the ASCII bytes `FK2.<kid>.<payload>`.

- `t` says what the code is (`venue`, `community`, `post`, `pass` …): a code of one
  kind is never accepted as another.
- `s` is an opaque subject the issuing app chose (a random token or an encrypted id via
  `opaque_id`), never a database id that could be enumerated.
- `i` and `e` are the issue and expiry dates (local dates, inclusive): a code is
  valid from `i` through `e`.

Keys: `FANGKONG_CODE_SIGNING_KEY` is key `k1`; more keys come in
`FANGKONG_CODE_SIGNING_KEYS` as `kid:seed:YYYY-MM-DD,...` (seed: 32 bytes in url-safe
base64; the date it signs from). The newest key whose date has come signs; every key
verifies, so a code signed with an old key stays valid until it expires. Devices get
every public key by id (`public_keys()`).
"""

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from .errors import DomainError

VERSION = "FK2"
MAX_CODE_CHARS = 1500
SIGNATURE_CHARS = 86  # 64 bytes in base64url without padding
_SHAPE = re.compile(r"^FK2\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{86})$")
_RESERVED = frozenset("tsie")


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


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    signs_from: dt.date

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Code:
    """What a valid code vouches for."""

    kind: str
    subject: str
    issued: dt.date
    expires: dt.date
    kid: str
    claims: dict[str, Any] = field(default_factory=dict)


def _parse_keys(primary: bytes, extra: str) -> list[SigningKey]:
    keys = [SigningKey("k1", Ed25519PrivateKey.from_private_bytes(primary), dt.date(2000, 1, 1))]
    for item in filter(None, (part.strip() for part in extra.split(","))):
        try:
            kid, seed, since = item.split(":")
            raw = base64.urlsafe_b64decode(seed)
            key = SigningKey(
                kid, Ed25519PrivateKey.from_private_bytes(raw), dt.date.fromisoformat(since)
            )
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FANGKONG_CODE_SIGNING_KEYS: {item.split(':')[0]!r} is not kid:seed:YYYY-MM-DD"
            ) from exc
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", kid) or any(k.kid == kid for k in keys):
            raise ImproperlyConfigured(f"FANGKONG_CODE_SIGNING_KEYS: bad or repeated kid {kid!r}")
        keys.append(key)
    return sorted(keys, key=lambda k: k.signs_from)


@cache
def keys() -> tuple[SigningKey, ...]:
    return tuple(_parse_keys(settings.CODE_SIGNING_KEY, settings.CODE_SIGNING_KEYS))


@cache
def _verifiers() -> dict[str, VerifyKey]:
    return {k.kid: VerifyKey(k.public_raw) for k in keys()}


def signing_key(today: dt.date | None = None) -> SigningKey:
    """The key that signs today: the newest whose date has come."""
    today = today or timezone.localdate()
    return [k for k in keys() if k.signs_from <= today][-1]


def public_keys() -> dict[str, str]:
    """Every verifying key by id, raw Ed25519 in base64url: what devices hold."""
    return {k.kid: b64url_encode(k.public_raw) for k in keys()}


def sign(
    kind: str,
    subject: str,
    *,
    valid_days: int,
    claims: dict[str, Any] | None = None,
    issued: dt.date | None = None,
) -> str:
    """A code of `kind` for `subject`, valid `valid_days` days from `issued` (today)."""
    claims = claims or {}
    if _RESERVED & claims.keys():
        raise ValueError(f"claims may not use the keys {sorted(_RESERVED)}")
    issued = issued or timezone.localdate()
    body = {
        "t": kind,
        "s": subject,
        "i": issued.isoformat(),
        "e": (issued + dt.timedelta(days=valid_days - 1)).isoformat(),
        **claims,
    }
    payload = b64url_encode(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    key = signing_key(issued)
    signed = f"{VERSION}.{key.kid}.{payload}"
    return f"{signed}.{b64url_encode(key.private.sign(signed.encode('ascii')))}"


def _bad(zh: str, en: str) -> CodeError:
    return CodeError(zh, en, field="code")


def verify(text: str, *, kind: str, today: dt.date | None = None) -> Code:
    """The content of a valid, unexpired code of `kind`; CodeError (bilingual) otherwise."""
    if not isinstance(text, str) or len(text) > MAX_CODE_CHARS:
        raise _bad("不是本系统的码", "not a Fangkong code")
    match = _SHAPE.match(text.strip())
    if match is None:
        raise _bad("不是本系统的码，或码不完整", "not a Fangkong code, or the code is incomplete")
    kid, payload, signature = match.groups()
    verifier = _verifiers().get(kid)
    if verifier is None:
        raise _bad(f"签名密钥{kid}未知", f"unknown signing key {kid}")
    try:
        verifier.verify(f"{VERSION}.{kid}.{payload}".encode("ascii"), b64url_decode(signature))
    except (ValueError, BadSignatureError):
        raise _bad("码的签名无效：码被伪造或改动", "the code's signature is not valid") from None
    try:
        body = json.loads(b64url_decode(payload).decode("utf-8"))
        if not isinstance(body, dict) or not body.keys() >= _RESERVED:
            raise ValueError("keys")
        issued, expires = dt.date.fromisoformat(body["i"]), dt.date.fromisoformat(body["e"])
        if not isinstance(body["t"], str) or not isinstance(body["s"], str):
            raise ValueError("t/s")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise _bad("码的内容无法读取", "the code's content cannot be read") from None
    if body["t"] != kind:
        raise _bad("码的类型不对", f"this is not a {kind} code")
    today = today or timezone.localdate()
    if today > expires:
        raise _bad(f"码已于{expires:%Y-%m-%d}过期", f"the code expired on {expires:%Y-%m-%d}")
    if today < issued:
        raise _bad("码尚未生效", "the code is not valid yet")
    claims = {k: v for k, v in body.items() if k not in _RESERVED}
    return Code(body["t"], body["s"], issued, expires, kid, claims)


@cache
def _subject_cipher_key() -> bytes:
    return HKDF(SHA256(), 16, salt=None, info=b"fangkong code subject").derive(
        settings.PII_HASH_KEY
    )


def opaque_id(kind: str, pk: int) -> str:
    """An id made unguessable for a code's subject: one AES block over (kind, pk).

    Deterministic (a reprinted code carries the same subject), reversible only with the
    server's key (`id_of`), and no neighbour's subject can be derived from it.
    """
    block = kind.encode()[:8].ljust(8, b"\0") + pk.to_bytes(8, "big")
    encryptor = Cipher(algorithms.AES(_subject_cipher_key()), modes.ECB()).encryptor()  # noqa: S305
    return b64url_encode(encryptor.update(block) + encryptor.finalize())


def id_of(kind: str, subject: str) -> int:
    """The id an `opaque_id` hides; CodeError if it was not made for `kind`."""
    try:
        raw = b64url_decode(subject)
        if len(raw) != 16:
            raise ValueError("length")
    except ValueError:
        raise _bad("码的内容无法读取", "the code's content cannot be read") from None
    decryptor = Cipher(algorithms.AES(_subject_cipher_key()), modes.ECB()).decryptor()  # noqa: S305
    block = decryptor.update(raw) + decryptor.finalize()
    if block[:8] != kind.encode()[:8].ljust(8, b"\0"):
        raise _bad("码的类型不对", f"this is not a {kind} code")
    return int.from_bytes(block[8:], "big")
