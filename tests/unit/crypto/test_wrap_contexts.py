"""Typed wrap contexts: one constructor per purpose, each one's bytes pinned.

The encodings are frozen: wraps made before the contexts were typed must keep
opening (``tests/vectors/test_wrap_context_compat.py`` opens real ones).

That the types keep purposes apart is checked by mypy, not here: a function
that takes an ``AssetVersionContext`` refuses a ``LedgerSeedContext`` or a
``SubjectAttributesContext`` at type-check time (they share no base class),
and ``KeyManager.wrap`` / ``unwrap`` take only ``WrapContext``, never bytes.
At run time the types stay distinct and never compare equal.
"""

from __future__ import annotations

import dataclasses

import pytest

from forgekeep import limits
from forgekeep.crypto.context import (
    AssetVersionContext,
    LedgerSeedContext,
    RelayedContext,
    SubjectAttributesContext,
    asset_version_context,
    ledger_seed_context,
    subject_attributes_context,
)
from forgekeep.errors import LimitExceededError, UnknownVersionError, UsageError

VERSION_ID = bytes(range(16))


def test_asset_version_context_bytes() -> None:
    context = asset_version_context(
        tenant="acme",
        key_ring="ring-1",
        domain="proj",
        asset_id="asset",
        version_id=VERSION_ID,
        suite=1,
    )
    assert isinstance(context, AssetVersionContext)
    assert context.encoded == (
        b"forgekeep/wrap-v1\x00"
        b"\x00\x04acme\x00\x06ring-1\x00\x04proj\x00\x05asset" + VERSION_ID + b"\x01"
    )


def test_ledger_seed_context_bytes_are_the_old_asset_encoding() -> None:
    context = ledger_seed_context(tenant="acme", key_ring="ring-1", domain="dk-1")
    assert isinstance(context, LedgerSeedContext)
    assert context.encoded == (
        b"forgekeep/wrap-v1\x00"
        b"\x00\x04acme\x00\x06ring-1\x00\x04dk-1\x00\x0aledger-key" + bytes(16) + b"\x01"
    )
    as_asset = asset_version_context(
        tenant="acme",
        key_ring="ring-1",
        domain="dk-1",
        asset_id="ledger-key",
        version_id=bytes(16),
        suite=1,
    )
    assert context.encoded == as_asset.encoded
    assert context != as_asset  # same bytes, still another purpose


def test_subject_attributes_context_bytes() -> None:
    context = subject_attributes_context(tenant="t-1", pseudonym="p-ab")
    assert isinstance(context, SubjectAttributesContext)
    assert context.encoded == b"forgekeep/subject-attributes/v1\x00t-1\x00p-ab"
    assert subject_attributes_context(tenant="Müller", pseudonym="p").encoded.endswith(
        b"M\xc3\xbcller\x00p"
    )


def test_contexts_are_frozen_and_hide_their_bytes_from_repr() -> None:
    context = ledger_seed_context(tenant="acme", key_ring="r", domain="d")
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.tenant = "other"  # type: ignore[misc]
    assert "encoded" not in repr(context)
    assert context == ledger_seed_context(tenant="acme", key_ring="r", domain="d")
    assert hash(context) == hash(ledger_seed_context(tenant="acme", key_ring="r", domain="d"))


@pytest.mark.parametrize(
    "fields",
    [
        {"tenant": "", "key_ring": "r", "domain": "d"},
        {"tenant": "t", "key_ring": "", "domain": "d"},
        {"tenant": "t", "key_ring": "r", "domain": "\udc80"},
    ],
)
def test_ledger_seed_context_refuses_bad_fields(fields: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        ledger_seed_context(**fields)


def test_ledger_seed_context_size_limit() -> None:
    with pytest.raises(LimitExceededError):
        ledger_seed_context(tenant="t", key_ring="r", domain="d" * limits.MAX_CONTEXT_BYTES)


def test_asset_version_context_refuses_an_unknown_suite() -> None:
    with pytest.raises(UnknownVersionError):
        asset_version_context(
            tenant="t", key_ring="r", domain="d", asset_id="a", version_id=VERSION_ID, suite=2
        )


@pytest.mark.parametrize(
    ("tenant", "pseudonym"),
    [("", "p-1"), ("t", ""), ("t\x00x", "p-1"), ("t\udc80", "p-1"), ("t", "p\ud800")],
)
def test_subject_attributes_context_refuses_bad_fields(tenant: str, pseudonym: str) -> None:
    with pytest.raises(UsageError):
        subject_attributes_context(tenant=tenant, pseudonym=pseudonym)


def test_subject_attributes_context_is_unambiguous() -> None:
    one = subject_attributes_context(tenant="ab", pseudonym="c").encoded
    two = subject_attributes_context(tenant="a", pseudonym="bc").encoded
    assert one != two


def test_subject_attributes_context_size_limit() -> None:
    room = limits.MAX_CONTEXT_BYTES - len(b"forgekeep/subject-attributes/v1\x00t\x00")
    assert len(subject_attributes_context(tenant="t", pseudonym="p" * room).encoded) == 1024
    with pytest.raises(LimitExceededError):
        subject_attributes_context(tenant="t", pseudonym="p" * (room + 1))


def test_a_relayed_context_carries_bytes_unchecked() -> None:
    # Only a key manager's own relay builds one; the backend checks the bytes.
    assert RelayedContext(b"").encoded == b""
    assert RelayedContext(b"x") != RelayedContext(b"y")
