"""Sealed records: round trip, context binding, limits."""

from __future__ import annotations

import os

import pytest

from forgekeep.crypto.wrap import open_record, seal_record
from forgekeep.errors import LimitExceededError, UnwrapError
from forgekeep.limits import MAX_SEALED_RECORD_BYTES

KEY = bytes(range(32))


def test_round_trip_beyond_the_wrapped_key_limit() -> None:
    record = os.urandom(10_000)
    assert open_record(KEY, seal_record(KEY, record, b"ctx"), b"ctx") == record


def test_other_context_or_flipped_byte_is_refused() -> None:
    sealed = bytearray(seal_record(KEY, b"name", b"ctx"))
    with pytest.raises(UnwrapError):
        open_record(KEY, bytes(sealed), b"other")
    sealed[-1] ^= 1
    with pytest.raises(UnwrapError):
        open_record(KEY, bytes(sealed), b"ctx")


def test_limits() -> None:
    with pytest.raises(LimitExceededError):
        seal_record(KEY, bytes(MAX_SEALED_RECORD_BYTES), b"ctx")
    with pytest.raises(UnwrapError):
        open_record(KEY, b"short", b"ctx")
    with pytest.raises(UnwrapError):
        open_record(KEY, bytes(MAX_SEALED_RECORD_BYTES + 1), b"ctx")
