"""StreamContext and the asset-version wrap context: exact bytes, unambiguity and limits."""

from __future__ import annotations

import pytest

from forgekeep import limits
from forgekeep.crypto.context import StreamContext, asset_version_context
from forgekeep.crypto.suite import Suite
from forgekeep.errors import LimitExceededError, UnknownVersionError, UsageError

VERSION_ID = bytes(range(16))
HEADER_HASH = bytes(range(100, 132))


def test_stream_context_bytes() -> None:
    context = StreamContext("Müller", "a/b", VERSION_ID)
    expected = b"forgekeep/stream-v1\x00\x00\x07M\xc3\xbcller\x00\x03a/b" + VERSION_ID + HEADER_HASH
    assert context.encode(HEADER_HASH) == expected


def test_stream_context_is_unambiguous() -> None:
    one = StreamContext("ab", "c", VERSION_ID).encode(HEADER_HASH)
    two = StreamContext("a", "bc", VERSION_ID).encode(HEADER_HASH)
    assert one != two


@pytest.mark.parametrize(
    ("tenant", "asset_id", "version_id"),
    [
        ("", "a", VERSION_ID),
        ("t", "", VERSION_ID),
        ("t\udc80", "a", VERSION_ID),
        ("t", "a", bytes(15)),
        ("t", "a", bytes(17)),
        ("t", "a", bytearray(16)),
    ],
)
def test_stream_context_refuses_bad_fields(tenant: str, asset_id: str, version_id: bytes) -> None:
    with pytest.raises(UsageError):
        StreamContext(tenant, asset_id, version_id)


def test_stream_context_size_limit() -> None:
    room = limits.MAX_CONTEXT_BYTES - 72
    StreamContext("t" * (room - 1), "a", VERSION_ID).encode(HEADER_HASH)
    with pytest.raises(LimitExceededError):
        StreamContext("t" * room, "a", VERSION_ID)


def test_stream_context_header_hash_size() -> None:
    with pytest.raises(UsageError):
        StreamContext("t", "a", VERSION_ID).encode(bytes(31))


def _wrap(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "tenant": "acme",
        "key_ring": "ring-1",
        "domain": "proj",
        "asset_id": "asset",
        "version_id": VERSION_ID,
        "suite": Suite.COBBLESTONE_256,
    }
    fields.update(overrides)
    return asset_version_context(**fields).encoded  # type: ignore[arg-type]


def test_wrap_context_bytes() -> None:
    expected = (
        b"forgekeep/wrap-v1\x00"
        b"\x00\x04acme\x00\x06ring-1\x00\x04proj\x00\x05asset" + VERSION_ID + b"\x01"
    )
    assert _wrap() == expected


@pytest.mark.parametrize(
    "change",
    [
        {"tenant": "acme2"},
        {"key_ring": "ring-2"},
        {"domain": "proj2"},
        {"asset_id": "asset2"},
        {"version_id": bytes(16)},
        {"tenant": "acmer", "key_ring": "ing-1"},
    ],
)
def test_wrap_context_binds_every_field(change: dict[str, object]) -> None:
    assert _wrap(**change) != _wrap()


@pytest.mark.parametrize("suite", [0, 2, 256])
def test_wrap_context_unknown_suite(suite: int) -> None:
    with pytest.raises(UnknownVersionError):
        _wrap(suite=suite)


@pytest.mark.parametrize("change", [{"tenant": ""}, {"domain": "\ud800"}, {"version_id": b"short"}])
def test_wrap_context_bad_fields(change: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        _wrap(**change)


def test_wrap_context_size_limit() -> None:
    with pytest.raises(LimitExceededError):
        _wrap(asset_id="a" * limits.MAX_CONTEXT_BYTES)
    with pytest.raises(LimitExceededError):
        _wrap(asset_id="a" * 70_000)
