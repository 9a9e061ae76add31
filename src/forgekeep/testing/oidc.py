"""One test OIDC issuer with its own JWKS, shared by every test.

:class:`TestIssuer` holds an RS256, an ES256 and an EdDSA signing key, mints ID
tokens with any claims a test needs, and can serve its discovery document and
JWKS over plain HTTP on loopback (:meth:`TestIssuer.serve`) so that
:class:`~forgekeep.identity.oidc.HttpJwks` is exercised against a real server.

Never use it outside tests: its private keys live in memory, unprotected.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["DEFAULT_ISSUER", "IssuerServer", "TestIssuer", "shared_test_issuer"]

DEFAULT_ISSUER: Final = "https://idp.forgekeep.test"
_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _new_key(alg: str) -> _PrivateKey:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"TestIssuer has no {alg} key")


def _public_jwk(alg: str, kid: str, key: _PrivateKey) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class IssuerServer:
    """A running loopback server for one :class:`TestIssuer`.

    ``requests`` lists every path asked for, in order. Set ``override`` to
    ``(status, body)`` to answer ``/jwks.json`` with anything at all.
    """

    base_url: str
    requests: list[str] = field(default_factory=list)
    override: tuple[int, bytes] | None = None

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks.json"

    @property
    def jwks_fetches(self) -> int:
        return self.requests.count("/jwks.json")


class TestIssuer:
    """A test identity provider: keys, a JWKS and token minting."""

    __test__ = False  # not a pytest test class
    ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")

    def __init__(self, issuer: str = DEFAULT_ISSUER) -> None:
        self.issuer = issuer
        self._keys: dict[str, tuple[str, _PrivateKey]] = {}
        for alg in self.ALGORITHMS:
            self.rotate(alg)

    def rotate(self, alg: str) -> str:
        """Replace the key for ``alg`` with a new one under a new kid; return the kid."""
        kid = f"{alg.lower()}-{secrets.token_hex(4)}"
        self._keys[alg] = (kid, _new_key(alg))
        return kid

    def kid(self, alg: str = "RS256") -> str:
        return self._keys[alg][0]

    def private_key(self, alg: str = "RS256") -> _PrivateKey:
        return self._keys[alg][1]

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document, as parsed JSON."""
        return {"keys": [_public_jwk(alg, kid, key) for alg, (kid, key) in self._keys.items()]}

    def claims(
        self,
        subject: str,
        *,
        audience: str,
        expires_in: int = 300,
        now: dt.datetime | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Standard claims; an ``extra_claims`` value of ``None`` removes that claim."""
        issued = int((now or dt.datetime.now(dt.UTC)).timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "exp": issued + expires_in,
        }
        claims.update(extra_claims or {})
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self,
        subject: str,
        *,
        audience: str,
        expires_in: int = 300,
        alg: str = "RS256",
        extra_claims: Mapping[str, Any] | None = None,
        kid: str | None = None,
        now: dt.datetime | None = None,
    ) -> str:
        """A signed ID token; ``kid`` overrides the header's key id (``""`` drops it)."""
        own_kid, key = self._keys[alg]
        payload = self.claims(
            subject, audience=audience, expires_in=expires_in, now=now, extra_claims=extra_claims
        )
        headers = {"kid": own_kid if kid is None else kid}
        if headers["kid"] == "":
            del headers["kid"]
        return jwt.encode(payload, key, algorithm=alg, headers=headers)

    def discovery(self, base_url: str) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{base_url}/jwks.json",
            "id_token_signing_alg_values_supported": list(self.ALGORITHMS),
        }

    @contextmanager
    def serve(self) -> Iterator[IssuerServer]:
        """Serve discovery and JWKS on ``http://127.0.0.1:<free port>`` in a thread."""
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        httpd.daemon_threads = True
        served = IssuerServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
        httpd.served = served  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="test-oidc-issuer", daemon=True
        )
        thread.start()
        try:
            yield served
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join()


def _handler_for(issuer: TestIssuer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served: IssuerServer = self.server.served  # type: ignore[attr-defined]
            served.requests.append(self.path)
            status, body = self._answer(served)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, served: IssuerServer) -> tuple[int, bytes]:
            if self.path == "/jwks.json":
                return served.override or (200, json.dumps(issuer.jwks()).encode())
            if self.path == "/.well-known/openid-configuration":
                return 200, json.dumps(issuer.discovery(served.base_url)).encode()
            return 404, b"{}"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: tests read ``IssuerServer.requests`` instead."""

    return _Handler


@functools.cache
def shared_test_issuer() -> TestIssuer:
    """The one issuer every test shares (keys are generated once per process)."""
    return TestIssuer()
