"""Context strings bound into key derivation: the stream context and the wrap context.

Security rule: a context is an unambiguous encoding (a fixed label ending in
NUL, then length-prefixed or fixed-size fields in a fixed order), so two
different tuples never give the same bytes. The stream context binds tenant,
asset id, version id and the header hash, and goes into HKDF-Expand ``info``,
never into the AEAD's associated data. It does not bind the version number or
the jurisdiction. Every context is at most ``limits.MAX_CONTEXT_BYTES``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from forgekeep import limits
from forgekeep.crypto.suite import VERSION_ID_SIZE, is_known_suite
from forgekeep.errors import LimitExceededError, UnknownVersionError, UsageError

STREAM_CONTEXT_LABEL: Final = b"forgekeep/stream-v1\x00"
WRAP_CONTEXT_LABEL: Final = b"forgekeep/wrap-v1\x00"
HEADER_HASH_SIZE: Final = hashlib.sha256().digest_size
_LENGTH_PREFIX: Final = 2


def _utf8(name: str, value: str) -> bytes:
    """Encode one text field, refusing empty text and lone surrogates."""
    if not value:
        raise UsageError(f"{name} must not be empty")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{name} is not valid Unicode text") from None


def _version_id(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != VERSION_ID_SIZE:
        raise UsageError(f"version_id must be exactly {VERSION_ID_SIZE} bytes")
    return value


def _check_size(kind: str, size: int) -> None:
    if size > limits.MAX_CONTEXT_BYTES:
        raise LimitExceededError(
            f"{kind} context is {size} bytes; the maximum is {limits.MAX_CONTEXT_BYTES}"
        )


def _prefixed(*fields: bytes) -> bytes:
    return b"".join(len(f).to_bytes(_LENGTH_PREFIX, "big") + f for f in fields)


@dataclass(frozen=True)
class StreamContext:
    """What one stream v1 object is about: tenant, asset and upload version id."""

    tenant: str
    asset_id: str
    version_id: bytes

    def __post_init__(self) -> None:
        tenant = _utf8("tenant", self.tenant)
        asset_id = _utf8("asset_id", self.asset_id)
        _version_id(self.version_id)
        fixed = len(STREAM_CONTEXT_LABEL) + 2 * _LENGTH_PREFIX + VERSION_ID_SIZE
        _check_size("stream", fixed + len(tenant) + len(asset_id) + HEADER_HASH_SIZE)

    def encode(self, header_hash: bytes) -> bytes:
        """The context bytes for HKDF ``info``, bound to one header's SHA-256."""
        if len(header_hash) != HEADER_HASH_SIZE:
            raise UsageError(f"header_hash must be {HEADER_HASH_SIZE} bytes")
        fields = _prefixed(self.tenant.encode("utf-8"), self.asset_id.encode("utf-8"))
        return STREAM_CONTEXT_LABEL + fields + self.version_id + bytes(header_hash)


def wrap_context(
    *, tenant: str, key_ring: str, domain: str, asset_id: str, version_id: bytes, suite: int
) -> bytes:
    """The context a key manager binds when it wraps one data key.

    ``"forgekeep/wrap-v1" ‖ 0x00 ‖ u16-prefixed UTF-8 tenant, key_ring, domain,
    asset_id ‖ version_id (16 bytes) ‖ suite (u8)``.
    """
    if not is_known_suite(suite):
        raise UnknownVersionError(f"unknown stream suite {suite}")
    texts = (
        _utf8("tenant", tenant),
        _utf8("key_ring", key_ring),
        _utf8("domain", domain),
        _utf8("asset_id", asset_id),
    )
    fixed = len(WRAP_CONTEXT_LABEL) + len(texts) * _LENGTH_PREFIX + VERSION_ID_SIZE + 1
    _check_size("wrap", fixed + sum(len(t) for t in texts))
    return WRAP_CONTEXT_LABEL + _prefixed(*texts) + _version_id(version_id) + bytes([suite])
