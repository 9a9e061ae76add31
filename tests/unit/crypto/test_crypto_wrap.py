"""aead_wrap / aead_unwrap: AES-256-GCM wraps bound to a context."""

from __future__ import annotations

import os

import pytest

from forgekeep import limits
from forgekeep.crypto import aead_unwrap, aead_wrap
from forgekeep.errors import LimitExceededError, UnwrapError, UsageError

KEY = bytes(range(32))


def test_round_trip() -> None:
    dek = os.urandom(32)
    wrapped = aead_wrap(KEY, dek, b"context")
    assert len(wrapped) == 12 + 32 + 16
    assert aead_unwrap(KEY, wrapped, b"context") == dek


def test_nonce_is_fresh() -> None:
    assert aead_wrap(KEY, b"k", b"c")[:12] != aead_wrap(KEY, b"k", b"c")[:12]


def test_wrong_context_key_or_bytes() -> None:
    wrapped = aead_wrap(KEY, b"data key", b"context")
    with pytest.raises(UnwrapError):
        aead_unwrap(KEY, wrapped, b"contexT")
    with pytest.raises(UnwrapError):
        aead_unwrap(os.urandom(32), wrapped, b"context")
    for index in (0, 12, len(wrapped) - 1):
        changed = bytearray(wrapped)
        changed[index] ^= 1
        with pytest.raises(UnwrapError):
            aead_unwrap(KEY, bytes(changed), b"context")


@pytest.mark.parametrize("size", [0, 27, limits.MAX_WRAPPED_KEY_BYTES + 1])
def test_impossible_lengths(size: int) -> None:
    with pytest.raises(UnwrapError):
        aead_unwrap(KEY, bytes(size), b"")


def test_wrap_size_limit() -> None:
    aead_wrap(KEY, bytes(limits.MAX_WRAPPED_KEY_BYTES - 28), b"")
    with pytest.raises(LimitExceededError):
        aead_wrap(KEY, bytes(limits.MAX_WRAPPED_KEY_BYTES - 27), b"")


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(33)])
def test_key_size(key: bytes) -> None:
    with pytest.raises(UsageError):
        aead_wrap(key, b"x", b"")
    with pytest.raises(UsageError):
        aead_unwrap(key, bytes(40), b"")
