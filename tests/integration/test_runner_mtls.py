"""The HTTPS runner on loopback: the scope names the verified client certificate, nothing else.

A real uvicorn server, real TLS handshakes, certificates from a throw-away CA. The app
echoes what the runner put into the scope, and the principal the mapper derives from it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from forgekeep.runner import CertificateMapper, peer_fingerprint, serve_in_thread
from forgekeep.testing.pki import IssuedCert, TestCA

SPOOF_HEADER = "X-Client-Cert-SHA256"


class Pki:
    def __init__(self, directory: Path) -> None:
        self.ca = TestCA(directory / "ca")
        self.server = self.ca.issue_server()
        self.alice = self.ca.issue_client("alice")
        self.bob = self.ca.issue_client("bob")
        self.mallory = TestCA(directory / "rogue", name="Rogue CA").issue_client("mallory")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("runner-pki"))


def _echo_app(pki: Pki) -> FastAPI:
    app = FastAPI()
    mapper = CertificateMapper({pki.alice.sha256: "p-alice"})

    @app.get("/whoami")
    def whoami(
        request: Request, fingerprint: Annotated[str | None, Depends(peer_fingerprint)]
    ) -> dict[str, Any]:
        return {"fingerprint": fingerprint, "principal": mapper.principal_for(request.scope)}

    return app


def _serve(pki: Pki, client_ca: Path | None, *, require_client_cert: bool) -> Iterator[int]:
    with serve_in_thread(
        _echo_app(pki),
        certfile=pki.server.cert_path,
        keyfile=pki.server.key_path,
        client_ca=client_ca,
        require_client_cert=require_client_cert,
    ) as port:
        yield port


@pytest.fixture(scope="module")
def required_port(pki: Pki) -> Iterator[int]:
    yield from _serve(pki, pki.ca.cert_path, require_client_cert=True)


@pytest.fixture(scope="module")
def optional_port(pki: Pki) -> Iterator[int]:
    yield from _serve(pki, pki.ca.cert_path, require_client_cert=False)


@pytest.fixture(scope="module")
def no_ca_port(pki: Pki) -> Iterator[int]:
    yield from _serve(pki, None, require_client_cert=False)


def _whoami(pki: Pki, port: int, client: IssuedCert | None, **headers: str) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=pki.ca.cert_path)
    if client is not None:
        context.load_cert_chain(client.cert_path, client.key_path)
    with httpx.Client(verify=context, timeout=5.0) as http:
        response = http.get(f"https://127.0.0.1:{port}/whoami", headers=headers)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def test_client_a_is_named_by_its_der_sha256(pki: Pki, required_port: int) -> None:
    body = _whoami(pki, required_port, pki.alice)
    assert body == {"fingerprint": pki.alice.sha256, "principal": "p-alice"}


def test_client_b_is_named_by_its_own_fingerprint(pki: Pki, required_port: int) -> None:
    body = _whoami(pki, required_port, pki.bob)
    assert body == {"fingerprint": pki.bob.sha256, "principal": None}
    assert pki.bob.sha256 != pki.alice.sha256


def test_no_client_cert_is_refused_when_required(pki: Pki, required_port: int) -> None:
    with pytest.raises(httpx.TransportError):
        _whoami(pki, required_port, None)


def test_client_cert_from_an_unknown_ca_is_refused(pki: Pki, required_port: int) -> None:
    with pytest.raises(httpx.TransportError):
        _whoami(pki, required_port, pki.mallory)


def test_spoofed_header_is_ignored(pki: Pki, required_port: int) -> None:
    body = _whoami(pki, required_port, pki.bob, **{SPOOF_HEADER: pki.alice.sha256})
    assert body == {"fingerprint": pki.bob.sha256, "principal": None}


def test_optional_mode_without_cert_has_no_fingerprint(pki: Pki, optional_port: int) -> None:
    body = _whoami(pki, optional_port, None, **{SPOOF_HEADER: pki.alice.sha256})
    assert body == {"fingerprint": None, "principal": None}


def test_optional_mode_still_verifies_a_presented_cert(pki: Pki, optional_port: int) -> None:
    assert _whoami(pki, optional_port, pki.alice)["principal"] == "p-alice"
    with pytest.raises(httpx.TransportError):
        _whoami(pki, optional_port, pki.mallory)


def test_without_a_client_ca_no_certificate_is_requested(pki: Pki, no_ca_port: int) -> None:
    body = _whoami(pki, no_ca_port, pki.alice, **{SPOOF_HEADER: pki.alice.sha256})
    assert body == {"fingerprint": None, "principal": None}


def test_tls_1_2_clients_are_served(pki: Pki, required_port: int) -> None:
    # The 1.2 floor itself is checked on the server context in the unit tests: this
    # machine's OpenSSL will not even offer TLS 1.1, so a refusal here would prove nothing.
    context = ssl.create_default_context(cafile=pki.ca.cert_path)
    context.load_cert_chain(pki.alice.cert_path, pki.alice.key_path)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=context, timeout=5.0) as http:
        response = http.get(f"https://127.0.0.1:{required_port}/whoami")
    assert response.json()["fingerprint"] == pki.alice.sha256
