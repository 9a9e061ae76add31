"""mac_key and PlaintextMac: the integrity value kept in the database."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.errors import DigestMismatchError, UsageError


def test_mac_matches_hmac_sha256(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    key = mac_key(dek, context.encode(header.hash()))
    mac = PlaintextMac(key)
    mac.update(b"part one, ")
    mac.update(memoryview(b"part two"))
    expected = hmac.new(key, b"part one, part two", hashlib.sha256).digest()
    assert mac.digest() == expected
    mac.verify(expected)
    with pytest.raises(DigestMismatchError):
        mac.verify(bytes(32))


def test_mac_is_not_a_bare_hash(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    mac = PlaintextMac(mac_key(dek, context.encode(header.hash())))
    mac.update(b"recipe")
    assert mac.digest() != hashlib.sha256(b"recipe").digest()


def test_mac_key_depends_on_context_and_dek(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    base = mac_key(dek, context.encode(header.hash()))
    other_context = StreamContext(context.tenant, context.asset_id, bytes(16))
    assert mac_key(dek, other_context.encode(header.hash())) != base
    assert mac_key(bytes(32), context.encode(header.hash())) != base
    assert len(base) == 32


def test_bad_sizes() -> None:
    with pytest.raises(UsageError):
        PlaintextMac(bytes(31))
    with pytest.raises(UsageError):
        mac_key(bytes(16), b"context")
