"""API tokens: the token text, its hash, and what each scope allows. Pure: no I/O, no DB.

A token reads ``fkt_<id>_<secret>``: ``id`` is 16 lower-case hex digits (it names
the token in lists, the journal and ``tokens revoke``), ``secret`` is 32 random
bytes in base64url without padding (43 characters).

Security rules:

* Only the SHA-256 of the secret is ever stored; the token text is shown once.
* Parsing is strict and bounded: the length is checked before anything else,
  the charset and shape are exact, and the secret must be canonical base64url.
  A refusal never echoes the token (not even a prefix).
* Secrets are compared in constant time (:func:`hmac.compare_digest`).
* Scopes only narrow: a scope is a set of action names, and a request made
  with a token must be allowed both by one of its scopes (:func:`allows`) and by
  the policies over the token's principal. A token never grants more than its
  principal's own rights. ``scopes=None`` means a full session (no token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

from forgekeep.errors import AuthenticationError, UsageError
from forgekeep.limits import MAX_API_TOKEN_CHARS

TOKEN_PREFIX = "fkt_"  # noqa: S105 (a format prefix, not a secret)
ID_HEX_CHARS = 16
SECRET_BYTES = 32
_SECRET_CHARS = 43  # base64url of 32 bytes, unpadded
_TOKEN = re.compile(rf"fkt_([0-9a-f]{{{ID_HEX_CHARS}}})_([A-Za-z0-9_-]{{{_SECRET_CHARS}}})")
_TOKEN_ID = re.compile(rf"[0-9a-f]{{{ID_HEX_CHARS}}}")
_MALFORMED_HINT = "a Forgekeep API token reads fkt_<16 hex>_<43 base64url>; ask for a new token"

_READ = frozenset(
    {"asset.get", "asset.list", "asset.versions", "project.list", "project.show"},
)
_WRITE = _READ | {"asset.put", "asset.remove", "asset.classify"}
_AUDIT = frozenset(
    {
        "asset.list",
        "asset.versions",
        "project.list",
        "project.show",
        "principal.list",
        "principal.show",
        "licence.list",
        "licence.show",
        "export-auth.list",
        "approval.list",
        "approval.show",
        "vault.fsck",
        "access.explain",
        "policy.show",
    }
)

#: The scope that allows every action (the principal's own policies still decide).
ADMIN_SCOPE: Final = "admin"
#: Scope name → the action names it allows; ``admin`` allows them all.
SCOPES: Mapping[str, frozenset[str]] = {
    "read": _READ,
    "write": frozenset(_WRITE),
    "audit": _AUDIT,
}
SCOPE_NAMES: Final = frozenset({*SCOPES, ADMIN_SCOPE})


def scope_actions(scope: str, every_action: Iterable[str]) -> frozenset[str]:
    """The actions ``scope`` allows, out of ``every_action`` (unknown scopes: none)."""
    if scope == ADMIN_SCOPE:
        return frozenset(every_action)
    return SCOPES.get(scope, frozenset())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_token() -> tuple[str, str]:
    """A fresh token: ``(id, text)``. Show ``text`` once; store :func:`secret_hash` only."""
    token_id = secrets.token_hex(ID_HEX_CHARS // 2)
    secret = _b64url(secrets.token_bytes(SECRET_BYTES))
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secret}"


def _canonical_secret(secret: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(secret + "=")
    except (binascii.Error, ValueError):
        return False
    return len(raw) == SECRET_BYTES and _b64url(raw) == secret


def parse_token(text: str) -> tuple[str, str]:
    """``(id, secret)`` of a token text; :class:`AuthenticationError` if it is malformed."""
    if not isinstance(text, str) or len(text) > MAX_API_TOKEN_CHARS:
        raise AuthenticationError("the API token is malformed", hint=_MALFORMED_HINT)
    match = _TOKEN.fullmatch(text)
    if match is None or not _canonical_secret(match.group(2)):
        raise AuthenticationError("the API token is malformed", hint=_MALFORMED_HINT)
    return match.group(1), match.group(2)


def is_token_id(value: str) -> bool:
    """True when ``value`` has the shape of a token id (16 lower-case hex digits)."""
    return isinstance(value, str) and _TOKEN_ID.fullmatch(value) is not None


def secret_hash(secret: str) -> str:
    """The stored form of a secret: SHA-256, lower-case hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(stored_sha256: str, secret: str) -> bool:
    """Constant-time check of a presented secret against its stored hash."""
    return hmac.compare_digest(stored_sha256.encode("ascii"), secret_hash(secret).encode("ascii"))


def validate_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scope names, checked: at least one, each known."""
    values = frozenset(scopes)
    if not values:
        raise UsageError("a token needs at least one scope", hint=_scopes_hint())
    unknown = sorted(s for s in values if s not in SCOPE_NAMES)
    if unknown:
        raise UsageError(f"unknown scope {unknown[0][:40]!r}", hint=_scopes_hint())
    return values


def _scopes_hint() -> str:
    return f"scopes are {', '.join(sorted(SCOPE_NAMES))} (repeat --scope)"


def allows(scopes: Iterable[str] | None, action: str) -> bool:
    """True when one of ``scopes`` allows ``action``; ``None`` (no token) allows all.

    Unknown scope names allow nothing. This only narrows: the policies still
    decide whether the principal itself may do ``action``.
    """
    if scopes is None:
        return True
    return any(
        scope == ADMIN_SCOPE or str(action) in SCOPES.get(scope, frozenset()) for scope in scopes
    )
