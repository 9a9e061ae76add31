"""Checks on the arguments a caller hands to a key manager.

Security rule: every name, context and key a caller passes is checked against a
documented limit before it reaches a file, a socket or a crypto library, so a
bad argument becomes a Forgekeep error and never a library exception. Names are
plain ASCII identifiers, because they end up in stream headers, file payloads
and (for other backends) HSM labels and URL paths.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from forgekeep import limits
from forgekeep.errors import InvalidNameError, LimitExceededError, UsageError
from forgekeep.keys.protocol import DomainKeyRef

if TYPE_CHECKING:
    from forgekeep.crypto.context import WrapContext

#: A data key is a symmetric key, not a document: 512 bytes is far above any suite.
MAX_DATA_KEY_BYTES: Final = 512

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z", re.ASCII)
_NAME_HINT: Final = (
    "key ring and domain names are 1-64 characters from A-Z a-z 0-9 . _ - "
    "and start with a letter or a digit"
)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid key ring or domain name, else InvalidNameError."""
    if len(name) > limits.MAX_HEADER_ID_BYTES or not _NAME.match(name):
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise InvalidNameError(f"invalid {kind} name {shown!r}", hint=_NAME_HINT)
    return name


def check_ref(ref: DomainKeyRef) -> DomainKeyRef:
    """Check both halves of a domain key reference."""
    check_name("key ring", ref.ring)
    check_name("domain", ref.domain)
    return ref


def check_context(context: WrapContext) -> bytes:
    """A wrap context's bytes: required (no default binding) and bounded."""
    encoded = context.encoded
    if not encoded:
        raise UsageError("a wrap context is required; an empty context is refused")
    if len(encoded) > limits.MAX_CONTEXT_BYTES:
        raise LimitExceededError(
            f"the wrap context is {len(encoded)} bytes; the maximum is {limits.MAX_CONTEXT_BYTES}"
        )
    return encoded


def check_data_key(data_key: bytes) -> bytes:
    """A data key is 1 to MAX_DATA_KEY_BYTES bytes."""
    if not data_key:
        raise UsageError("an empty data key cannot be wrapped")
    if len(data_key) > MAX_DATA_KEY_BYTES:
        raise LimitExceededError(
            f"the data key is {len(data_key)} bytes; the maximum is {MAX_DATA_KEY_BYTES}"
        )
    return data_key


def check_wrapped_size(wrapped: bytes) -> bytes:
    """A wrapped key larger than limits.MAX_WRAPPED_KEY_BYTES is refused before parsing."""
    if len(wrapped) > limits.MAX_WRAPPED_KEY_BYTES:
        raise LimitExceededError(
            f"the wrapped key is {len(wrapped)} bytes; "
            f"the maximum is {limits.MAX_WRAPPED_KEY_BYTES}"
        )
    return wrapped
