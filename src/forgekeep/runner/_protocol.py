"""The h11 protocol that stamps each request with the verified TLS peer certificate.

Security rule: the peer identity comes from the TLS layer and nowhere else. The
fingerprint is read once per connection, after the handshake, from the transport's
``ssl_object``; no header, query string or proxy metadata can set or change it.
Whatever the client sent, the runner overwrites ``scope["extensions"][PEER_CERT_SHA256]``
with its own value, or ``None`` when the connection carries no verified certificate.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any, cast

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

PEER_CERT_SHA256 = "forgekeep.peer_cert_sha256"


def peer_cert_sha256(transport: asyncio.BaseTransport) -> str | None:
    """SHA-256 (lower-case hex) of the peer's DER certificate, if TLS verified one."""
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    if ssl_object.context.verify_mode == ssl.CERT_NONE:
        return None  # a certificate nobody checked names nobody
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return hashlib.sha256(der).hexdigest()


def with_peer_cert(app: ASGI3Application, fingerprint: str | None) -> ASGI3Application:
    """Wrap ``app`` so every scope it sees carries ``fingerprint`` under our extension."""

    async def stamped(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        raw = cast("dict[str, Any]", scope)
        extensions = dict(raw.get("extensions") or {})
        extensions[PEER_CERT_SHA256] = fingerprint
        raw["extensions"] = extensions
        await app(scope, receive, send)

    return stamped


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the verified peer certificate in every request scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = with_peer_cert(self.config.loaded_app, peer_cert_sha256(transport))
