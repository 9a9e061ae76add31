"""Minimal AES-256-GCM key wrapping for the local key manager.

Security rule: every wrap uses a fresh random 96-bit nonce (prepended to the
output) and binds the caller's context as associated data, so a wrapped key
opens only under the same key *and* the same context; any failure is an
:class:`UnwrapError` that says nothing about which check failed. Wrapped
values are bounded by ``limits.MAX_WRAPPED_KEY_BYTES``.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forgekeep import limits
from forgekeep.errors import LimitExceededError, UnwrapError, UsageError

WRAP_KEY_SIZE: Final = 32
WRAP_NONCE_SIZE: Final = 12
WRAP_TAG_SIZE: Final = 16
WRAP_OVERHEAD: Final = WRAP_NONCE_SIZE + WRAP_TAG_SIZE


def _aead(key: bytes) -> AESGCM:
    if len(key) != WRAP_KEY_SIZE:
        raise UsageError(f"a wrapping key must be exactly {WRAP_KEY_SIZE} bytes")
    return AESGCM(key)


def aead_wrap(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce ‖ AES-256-GCM(key, nonce, plaintext, aad)`` with a random 12-byte nonce."""
    if len(plaintext) + WRAP_OVERHEAD > limits.MAX_WRAPPED_KEY_BYTES:
        raise LimitExceededError(f"a wrapped value is at most {limits.MAX_WRAPPED_KEY_BYTES} bytes")
    nonce = os.urandom(WRAP_NONCE_SIZE)
    return nonce + _aead(key).encrypt(nonce, plaintext, aad)


def aead_unwrap(key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Open a value made by :func:`aead_wrap` under the same key and ``aad``."""
    aead = _aead(key)
    if not WRAP_OVERHEAD <= len(wrapped) <= limits.MAX_WRAPPED_KEY_BYTES:
        raise UnwrapError("wrapped key has an impossible length")
    try:
        return aead.decrypt(wrapped[:WRAP_NONCE_SIZE], wrapped[WRAP_NONCE_SIZE:], aad)
    except InvalidTag:
        raise UnwrapError("wrapped key does not open under this key and context") from None


def seal_record(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Like :func:`aead_wrap`, for small records (personal attributes), up to
    ``limits.MAX_SEALED_RECORD_BYTES``."""
    if len(plaintext) + WRAP_OVERHEAD > limits.MAX_SEALED_RECORD_BYTES:
        raise LimitExceededError(
            f"a sealed record is at most {limits.MAX_SEALED_RECORD_BYTES} bytes"
        )
    nonce = os.urandom(WRAP_NONCE_SIZE)
    return nonce + _aead(key).encrypt(nonce, plaintext, aad)


def open_record(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Open a record made by :func:`seal_record` under the same key and ``aad``."""
    aead = _aead(key)
    if not WRAP_OVERHEAD <= len(sealed) <= limits.MAX_SEALED_RECORD_BYTES:
        raise UnwrapError("sealed record has an impossible length")
    try:
        return aead.decrypt(sealed[:WRAP_NONCE_SIZE], sealed[WRAP_NONCE_SIZE:], aad)
    except InvalidTag:
        raise UnwrapError("sealed record does not open under this key and context") from None
