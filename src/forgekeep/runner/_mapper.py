"""From a peer certificate fingerprint to a principal; unknown fingerprints map to nobody."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from forgekeep.errors import ConfigError
from forgekeep.runner._protocol import PEER_CERT_SHA256

_HEX = frozenset(string.hexdigits)
_SHA256_HEX_LEN = 64


def normalise_fingerprint(value: str) -> str:
    """Lower-case hex of a SHA-256 fingerprint; accepts ``AB:CD:…`` and ``abcd…``."""
    cleaned = value.strip().replace(":", "").lower()
    if len(cleaned) != _SHA256_HEX_LEN or not _HEX.issuperset(cleaned):
        raise ConfigError(
            "a certificate fingerprint must be 64 hex digits (SHA-256), colons allowed",
            hint="compute it with `openssl x509 -noout -fingerprint -sha256 -in CERT`",
        )
    return cleaned


def scope_fingerprint(scope: Mapping[str, Any]) -> str | None:
    """The fingerprint the runner put into ``scope``, or ``None``."""
    extensions = scope.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    value = extensions.get(PEER_CERT_SHA256)
    return value if isinstance(value, str) else None


def peer_fingerprint(request: Request) -> str | None:
    """FastAPI dependency: the verified client certificate's SHA-256, or ``None``."""
    return scope_fingerprint(request.scope)


class CertificateMapper:
    """Maps verified client certificates to principals. An empty mapping admits nobody."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        table: dict[str, str] = {}
        for fingerprint, principal in mapping.items():
            key = normalise_fingerprint(fingerprint)
            if not principal:
                raise ConfigError("a certificate must map to a non-empty principal")
            if table.get(key, principal) != principal:
                raise ConfigError("one certificate fingerprint maps to two principals")
            table[key] = principal
        self._table = table

    def principal_for(self, scope: Mapping[str, Any]) -> str | None:
        """The principal for the scope's verified peer certificate; ``None`` means deny."""
        fingerprint = scope_fingerprint(scope)
        if fingerprint is None:
            return None
        return self._table.get(fingerprint)
