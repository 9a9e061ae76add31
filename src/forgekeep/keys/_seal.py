"""AES-256-GCM and HKDF for the ``local:`` key manager (private).

This mirrors ``forgekeep.crypto.wrap`` (``aead_wrap``/``aead_unwrap``) so the
keys package can switch to it without changing a caller; until then it calls
``cryptography`` directly.

Security rule: every seal takes a fresh random 96-bit nonce and writes
``nonce ‖ ciphertext ‖ tag``. Any failure to open (short input, wrong key,
wrong associated data, altered bytes) is one :class:`UnwrapError` that says
nothing about which of those it was.
"""

from __future__ import annotations

import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from forgekeep.errors import UnwrapError

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
#: What ``aead_wrap`` adds to its plaintext.
OVERHEAD: Final = NONCE_BYTES + TAG_BYTES


def random_key() -> bytes:
    """A fresh 256-bit key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def aead_wrap(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Seal ``plaintext`` under ``key``, binding ``aad``: ``nonce ‖ ciphertext ‖ tag``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_unwrap(key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Open what :func:`aead_wrap` sealed; any failure is UnwrapError."""
    if len(wrapped) < OVERHEAD:
        raise UnwrapError("the wrapped data is too short")
    try:
        return AESGCM(key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except InvalidTag:
        raise UnwrapError("could not unwrap: wrong key, wrong context, or altered data") from None


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) to one 256-bit key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(ikm)


def length_prefixed(*fields: bytes) -> bytes:
    """Unambiguous concatenation: each field as a 16-bit big-endian length and its bytes."""
    return b"".join(len(field).to_bytes(2, "big") + field for field in fields)
