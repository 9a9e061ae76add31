"""The KeyManager protocol: the one small interface every key backend implements.

Security rules every backend keeps (checked by
``forgekeep.testing.conformance.exercise_key_manager``):

* Key-encryption keys (KEKs) and domain keys never leave the key manager in the
  clear; callers only ever see wrapped data keys.
* Every wrap binds a caller-supplied, typed *context*
  (:data:`~forgekeep.crypto.context.WrapContext`: an asset version's, the log
  seed's or a subject's, each made by its own constructor). Unwrapping with any
  other context fails with :class:`~forgekeep.errors.UnwrapError`.
* A disabled or destroyed key refuses every operation with
  :class:`~forgekeep.errors.KeyUnavailableError`; destruction is irreversible.
* Only Forgekeep errors escape a backend.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from forgekeep.crypto.context import WrapContext


class KeyState(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    DESTROYED = "destroyed"


@dataclass(frozen=True, slots=True)
class DomainKeyRef:
    """Names one domain key: the key ring holding its KEK, and the domain id."""

    ring: str
    domain: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``describe`` tells about a ring's KEK or a domain key (never key bytes)."""

    ring: str
    domain: str | None
    state: KeyState
    kek_version: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DestructionRecord:
    """Evidence that a domain key was destroyed (signed certificates come later)."""

    ring: str
    domain: str
    destroyed_at: dt.datetime
    backend: str


@runtime_checkable
class KeyManager(Protocol):
    """Holds KEKs and domain keys; wraps and unwraps data keys under them."""

    @property
    def uri(self) -> str:
        """The backend URI this manager was opened from (no secrets in it)."""
        ...

    def create_ring(self, ring: str) -> KeyInfo:
        """Create a key ring with KEK version 1. Fails if the ring exists."""
        ...

    def create_domain_key(self, ref: DomainKeyRef) -> KeyInfo:
        """Create a fresh domain key under the ring's current KEK."""
        ...

    def wrap(self, ref: DomainKeyRef, data_key: bytes, context: WrapContext) -> bytes:
        """Wrap a data key under a domain key, binding ``context.encoded``."""
        ...

    def unwrap(self, ref: DomainKeyRef, wrapped: bytes, context: WrapContext) -> bytes:
        """Unwrap a data key; the context must equal the one used to wrap."""
        ...

    def rotate(self, ring: str) -> KeyInfo:
        """Add a new KEK version to the ring; new domain keys use it."""
        ...

    def rewrap(self, ring: str) -> int:
        """Re-wrap every domain key of the ring under its current KEK; returns the count."""
        ...

    def disable(self, ref: DomainKeyRef) -> KeyInfo:
        """Refuse all use of a domain key until enabled again."""
        ...

    def enable(self, ref: DomainKeyRef) -> KeyInfo:
        """Lift a disable. A destroyed key cannot be enabled."""
        ...

    def destroy(self, ref: DomainKeyRef) -> DestructionRecord:
        """Irreversibly destroy a domain key; every data key under it opens to nothing."""
        ...

    def describe(self, ring: str, domain: str | None = None) -> KeyInfo:
        """State of a ring's KEK (``domain=None``) or of one domain key."""
        ...
