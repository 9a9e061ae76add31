"""Building and running the one HTTPS server every Forgekeep service uses.

Rules: TLS 1.2 is the floor. When client certificates are required, a CA bundle to
verify them must be named (no default trust store). When they are optional and a CA
is named, a presented certificate is still verified, and the handshake fails on a bad
one. Proxy headers are ignored and websockets are off: no request metadata can stand
in for the TLS peer. Every client is bounded by the :class:`HttpLimits` given (there is
no unbounded mode): uvicorn listens on plain TCP and the runner's connection gate
(:mod:`forgekeep.runner._gate`) admits, counts and wraps each connection in TLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import uvicorn
from uvicorn._types import ASGIApplication

from forgekeep.errors import ConfigError
from forgekeep.runner._gate import ConnectionGate, ensure_fd_headroom
from forgekeep.runner.settings import HttpLimits

_STARTUP_POLL_SECONDS = 0.01


def _cert_reqs(client_ca: Path | None, *, require_client_cert: bool) -> ssl.VerifyMode:
    if require_client_cert:
        if client_ca is None:
            raise ConfigError(
                "client certificates are required, but no client CA bundle is configured",
                hint="name the CA that issues client certificates (client_ca)",
            )
        return ssl.CERT_REQUIRED
    return ssl.CERT_NONE if client_ca is None else ssl.CERT_OPTIONAL


def _harden(
    _config: uvicorn.Config, default_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    context = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION  # the peer is read once, per connection
    return context


class RunnerConfig(uvicorn.Config):
    """uvicorn's config with the runner's gate as its protocol factory.

    ``load()`` builds the hardened TLS context as uvicorn does, then hands it to the gate
    and clears ``ssl``, so uvicorn's listener is plain TCP and TLS starts only for the
    connections the gate admits (see :mod:`forgekeep.runner._gate`). The context stays
    readable as :attr:`tls`.
    """

    def __init__(self, app: ASGIApplication, *, limits: HttpLimits, **kwargs: Any) -> None:
        self.limits = limits
        self.gate = ConnectionGate(limits)
        super().__init__(
            app,
            http=cast("type[asyncio.Protocol]", self.gate),
            loop="asyncio",
            timeout_keep_alive=cast("int", limits.idle_timeout_seconds),  # used as a float
            h11_max_incomplete_event_size=limits.max_header_bytes,
            **kwargs,
        )

    @property
    def tls(self) -> ssl.SSLContext | None:
        return self.gate.tls

    def load(self) -> None:
        super().load()
        if self.ssl is None:
            raise ConfigError("the HTTPS runner was configured without TLS")
        ensure_fd_headroom(self.limits.max_connections)
        self.gate.tls, self.ssl = self.ssl, None


def https_config(
    app: ASGIApplication,
    *,
    host: str,
    port: int,
    certfile: Path,
    keyfile: Path,
    client_ca: Path | None,
    require_client_cert: bool,
    limits: HttpLimits,
) -> RunnerConfig:
    """The uvicorn config for one Forgekeep HTTPS service, bounded by ``limits``."""
    return RunnerConfig(
        app,
        limits=limits,
        host=host,
        port=port,
        ws="none",
        proxy_headers=False,
        server_header=False,
        log_config=None,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ssl_ca_certs=client_ca,
        ssl_cert_reqs=_cert_reqs(client_ca, require_client_cert=require_client_cert),
        ssl_context_factory=_harden,
    )


def _load(config: RunnerConfig) -> None:
    try:
        config.load()
    except OSError as exc:  # ssl.SSLError is an OSError too
        raise ConfigError(
            f"cannot load the TLS certificate, key or client CA: {type(exc).__name__}",
            hint="check the certfile, keyfile and client_ca paths and that the key matches",
        ) from exc


def run_https(
    app: ASGIApplication,
    *,
    host: str,
    port: int,
    certfile: Path,
    keyfile: Path,
    client_ca: Path | None,
    require_client_cert: bool,
    limits: HttpLimits,
) -> None:
    """Serve ``app`` over HTTPS until interrupted (blocks; installs signal handlers)."""
    config = https_config(
        app,
        host=host,
        port=port,
        certfile=certfile,
        keyfile=keyfile,
        client_ca=client_ca,
        require_client_cert=require_client_cert,
        limits=limits,
    )
    _load(config)
    uvicorn.Server(config).run()


def _run_until_exit(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's way of reporting a failed startup
        return


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError("the HTTPS runner did not start", hint="check its TLS files")
        time.sleep(_STARTUP_POLL_SECONDS)


@contextmanager
def serve_in_thread(
    app: ASGIApplication,
    *,
    certfile: Path,
    keyfile: Path,
    client_ca: Path | None,
    require_client_cert: bool,
    limits: HttpLimits | None = None,
    timeout: float = 10.0,
) -> Iterator[int]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yields the port (for tests).

    ``limits`` defaults to the ``[http]`` defaults (tests pass short deadlines).
    """
    config = https_config(
        app,
        host="127.0.0.1",
        port=0,
        certfile=certfile,
        keyfile=keyfile,
        client_ca=client_ca,
        require_client_cert=require_client_cert,
        limits=limits or HttpLimits(),
    )
    config.timeout_graceful_shutdown = int(timeout)
    _load(config)  # bad TLS files fail here, in the caller, not in the thread
    server = uvicorn.Server(config)
    with socket.create_server(("127.0.0.1", 0)) as sock:
        thread = threading.Thread(
            target=_run_until_exit, args=(server, sock), name="forgekeep-runner", daemon=True
        )
        thread.start()
        try:
            _wait_started(server, thread, timeout)
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True
            thread.join(timeout)
