"""The one HTTPS runner: uvicorn with the verified mTLS peer certificate in the ASGI scope.

keyd, the witness, the server and the telemetry endpoint all serve through
:func:`run_https`. Each request's scope carries
``scope["extensions"]["forgekeep.peer_cert_sha256"]``: the lower-case hex SHA-256 of
the client certificate's DER bytes, as verified by the TLS handshake, or ``None``.
It is taken from the TLS connection only, never from a header.

Authorisation on top of it fails closed: :class:`CertificateMapper` returns ``None``
for an unknown or missing certificate, and the caller denies.
"""

from forgekeep.runner._mapper import (
    CertificateMapper,
    normalise_fingerprint,
    peer_fingerprint,
    scope_fingerprint,
)
from forgekeep.runner._protocol import PEER_CERT_SHA256, PeerCertH11Protocol
from forgekeep.runner._serve import https_config, run_https, serve_in_thread

__all__ = [
    "PEER_CERT_SHA256",
    "CertificateMapper",
    "PeerCertH11Protocol",
    "https_config",
    "normalise_fingerprint",
    "peer_fingerprint",
    "run_https",
    "scope_fingerprint",
    "serve_in_thread",
]
