"""Context strings bound into key derivation: the stream context and the wrap contexts.

Security rules:

* A context is an unambiguous encoding (a fixed label ending in NUL, then
  length-prefixed or fixed-size fields in a fixed order, or NUL-free fields
  before a last one), so two different tuples never give the same bytes.
* The stream context binds tenant, asset id, version id and the header hash,
  and goes into HKDF-Expand ``info``, never into the AEAD's associated data. It
  does not bind the version number or the jurisdiction.
* Wrap contexts are typed, one type per purpose (an asset version's DEK, the
  log's signing seed, a subject's attributes), and a key manager takes only
  those types, so a context made for one purpose cannot be handed where another
  is expected (mypy refuses it). Their encodings are frozen: existing wraps
  must keep opening.
* Every context is at most ``limits.MAX_CONTEXT_BYTES``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from forgekeep import limits
from forgekeep.crypto.suite import VERSION_ID_SIZE, is_known_suite
from forgekeep.errors import LimitExceededError, UnknownVersionError, UsageError

STREAM_CONTEXT_LABEL: Final = b"forgekeep/stream-v1\x00"
WRAP_CONTEXT_LABEL: Final = b"forgekeep/wrap-v1\x00"
SUBJECT_ATTRIBUTES_LABEL: Final = b"forgekeep/subject-attributes/v1\x00"
#: The asset id field of the log seed's wrap context (see :class:`LedgerSeedContext`).
LEDGER_SEED_ID: Final = "ledger-key"
_LEDGER_SEED_SUITE: Final = 1  # the suite its first wraps named; frozen with the encoding
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


def _wrap_v1(
    tenant: str, key_ring: str, domain: str, asset_id: str, version_id: bytes, suite: int
) -> bytes:
    """``"forgekeep/wrap-v1" ‖ 0x00 ‖ u16-prefixed UTF-8 tenant, key_ring, domain,
    asset_id ‖ version_id (16 bytes) ‖ suite (u8)`` (``docs/formats/stream-v1.md`` §7)."""
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


@dataclass(frozen=True, slots=True)
class AssetVersionContext:
    """What a key manager binds when it wraps the DEK of one asset version."""

    tenant: str
    key_ring: str
    domain: str
    asset_id: str
    version_id: bytes
    suite: int
    encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = _wrap_v1(
            self.tenant, self.key_ring, self.domain, self.asset_id, self.version_id, self.suite
        )
        object.__setattr__(self, "encoded", encoded)


@dataclass(frozen=True, slots=True)
class LedgerSeedContext:
    """What a key manager binds when it wraps the log's Ed25519 signing seed.

    Its encoding is frozen for compatibility: the seeds of existing workspaces
    were wrapped with the asset-version encoding, asset id ``"ledger-key"``,
    an all-zero version id and suite 1, so these are exactly those bytes. The
    seed lies under a domain key of its own and asset ids are ``a-<24 hex>``,
    so no asset version's wrap can stand in for it. It is a type of its own,
    so no caller can hand an asset context where a seed context is expected,
    or the other way round.
    """

    tenant: str
    key_ring: str
    domain: str
    encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = _wrap_v1(
            self.tenant,
            self.key_ring,
            self.domain,
            LEDGER_SEED_ID,
            bytes(VERSION_ID_SIZE),
            _LEDGER_SEED_SUITE,
        )
        object.__setattr__(self, "encoded", encoded)


@dataclass(frozen=True, slots=True)
class SubjectAttributesContext:
    """What binds one subject's attribute key (the wrap) and sealed attributes (the seal).

    Its encoding is frozen for compatibility with the subjects of existing
    workspaces: ``"forgekeep/subject-attributes/v1" ‖ 0x00 ‖ UTF-8 tenant ‖
    0x00 ‖ UTF-8 pseudonym``. It stays unambiguous because the tenant may hold
    no NUL and the pseudonym is the last field; both must be non-empty.
    """

    tenant: str
    pseudonym: str
    encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tenant = _utf8("tenant", self.tenant)
        if b"\x00" in tenant:
            raise UsageError("tenant must not contain NUL")
        encoded = SUBJECT_ATTRIBUTES_LABEL + tenant + b"\x00" + _utf8("pseudonym", self.pseudonym)
        _check_size("subject attributes", len(encoded))
        object.__setattr__(self, "encoded", encoded)


@dataclass(frozen=True, slots=True)
class RelayedContext:
    """Context bytes that arrive over a key manager's own wire (the key agent's socket).

    The client built them with one of the typed constructors; the relay only
    hands them on, and the backend checks them as it checks every context
    (non-empty, at most ``limits.MAX_CONTEXT_BYTES``). Use cases never build one.
    """

    encoded: bytes


#: Every context a key manager accepts for ``wrap`` and ``unwrap``.
WrapContext = AssetVersionContext | LedgerSeedContext | SubjectAttributesContext | RelayedContext


def asset_version_context(
    *, tenant: str, key_ring: str, domain: str, asset_id: str, version_id: bytes, suite: int
) -> AssetVersionContext:
    """The wrap context of one asset version's DEK (``docs/formats/stream-v1.md`` §7)."""
    return AssetVersionContext(tenant, key_ring, domain, asset_id, version_id, suite)


def ledger_seed_context(*, tenant: str, key_ring: str, domain: str) -> LedgerSeedContext:
    """The wrap context of the tenant's log signing seed (encoding frozen; see the type)."""
    return LedgerSeedContext(tenant, key_ring, domain)


def subject_attributes_context(*, tenant: str, pseudonym: str) -> SubjectAttributesContext:
    """The context of one subject's attribute key and sealed attributes (encoding frozen)."""
    return SubjectAttributesContext(tenant, pseudonym)
