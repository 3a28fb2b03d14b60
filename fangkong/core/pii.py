"""Encryption at rest and keyed look-up hashes for personal data.

AES-256-GCM with a random 96-bit nonce per value; the stored bytes are
nonce || ciphertext || tag. Look-ups use HMAC-SHA256 under a separate key, so a
stolen database cannot be searched by brute force over the ID number space
without the key.
"""

import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


@cache
def _aead() -> AESGCM:
    return AESGCM(settings.PII_KEY)


def encrypt(text: str) -> bytes:
    if not text:
        return b""
    nonce = os.urandom(12)
    return nonce + _aead().encrypt(nonce, text.encode(), None)


def decrypt(blob: bytes | memoryview | None) -> str:
    if not blob:
        return ""
    blob = bytes(blob)
    return _aead().decrypt(blob[:12], blob[12:], None).decode()


def lookup_hash(kind: str, text: str) -> str:
    """Hex HMAC of a normalised value, namespaced by kind ("ID:<type>", "phone")."""
    if not text:
        return ""
    digest = hmac.new(settings.PII_HASH_KEY, f"{kind}:{text}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]
