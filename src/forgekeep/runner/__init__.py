"""The one HTTPS runner: uvicorn with the verified mTLS peer certificate in the ASGI scope.

keyd, the witness, the server and the telemetry endpoint all serve through
:func:`run_https`. Each request's scope carries
``scope["extensions"]["forgekeep.peer_cert_sha256"]``: the lower-case hex SHA-256 of
the client certificate's DER bytes, as verified by the TLS handshake, or ``None``.
It is taken from the TLS connection only, never from a header.

Authorisation on top of it fails closed: :class:`CertificateMapper` returns ``None``
for an unknown or missing certificate, and the caller denies.

Every client is bounded (:class:`HttpLimits`, the ``[http]`` table of a daemon's
config): connections and requests in flight are capped, and the request head, the
body and idle keep-alive each have a deadline. See :mod:`forgekeep.runner._bounds`.

Only :class:`HttpLimits` is imported eagerly, so a daemon's config loads without the
web stack; the other names import uvicorn and FastAPI on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from forgekeep.runner.settings import HttpLimits

if TYPE_CHECKING:
    from forgekeep.runner._bounds import BoundedH11Protocol
    from forgekeep.runner._mapper import (
        CertificateMapper,
        normalise_fingerprint,
        peer_fingerprint,
        scope_fingerprint,
    )
    from forgekeep.runner._protocol import PEER_CERT_SHA256, PeerCertH11Protocol
    from forgekeep.runner._serve import https_config, run_https, serve_in_thread

_LAZY = {
    "BoundedH11Protocol": "forgekeep.runner._bounds",
    "CertificateMapper": "forgekeep.runner._mapper",
    "normalise_fingerprint": "forgekeep.runner._mapper",
    "peer_fingerprint": "forgekeep.runner._mapper",
    "scope_fingerprint": "forgekeep.runner._mapper",
    "PEER_CERT_SHA256": "forgekeep.runner._protocol",
    "PeerCertH11Protocol": "forgekeep.runner._protocol",
    "https_config": "forgekeep.runner._serve",
    "run_https": "forgekeep.runner._serve",
    "serve_in_thread": "forgekeep.runner._serve",
}

__all__ = [
    "PEER_CERT_SHA256",
    "BoundedH11Protocol",
    "CertificateMapper",
    "HttpLimits",
    "PeerCertH11Protocol",
    "https_config",
    "normalise_fingerprint",
    "peer_fingerprint",
    "run_https",
    "scope_fingerprint",
    "serve_in_thread",
]


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
