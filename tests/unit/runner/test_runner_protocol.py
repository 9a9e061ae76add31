"""The scope stamp: taken from TLS only, overwriting whatever a client could have put there."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from forgekeep.runner import PEER_CERT_SHA256
from forgekeep.runner._protocol import peer_cert_sha256, with_peer_cert
from forgekeep.testing.pki import IssuedCert


class _Transport(asyncio.Transport):
    def __init__(self, ssl_object: object) -> None:
        super().__init__()
        self._ssl_object = ssl_object

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._ssl_object if name == "ssl_object" else default


def test_plain_transport_has_no_peer() -> None:
    assert peer_cert_sha256(_Transport(None)) is None
    assert peer_cert_sha256(_Transport("not an ssl object")) is None


def test_unverified_context_names_nobody(server_cert: IssuedCert) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert.cert_path, server_cert.key_path)
    context.verify_mode = ssl.CERT_NONE
    ssl_object = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    assert peer_cert_sha256(_Transport(ssl_object)) is None


def test_stamp_overwrites_a_forged_extension_and_keeps_others() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: dict[str, Any] = {
        "type": "http",
        "extensions": {PEER_CERT_SHA256: "forged", "http.response.trailers": {}},
    }
    asyncio.run(with_peer_cert(app, None)(scope, None, None))  # type: ignore[arg-type]
    assert seen[0]["extensions"] == {PEER_CERT_SHA256: None, "http.response.trailers": {}}


def test_stamp_adds_extensions_when_absent() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    asyncio.run(with_peer_cert(app, "ab" * 32)({"type": "http"}, None, None))  # type: ignore[arg-type]
    assert seen[0]["extensions"] == {PEER_CERT_SHA256: "ab" * 32}
