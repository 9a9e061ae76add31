"""Admission at accept: at most ``max_connections`` at once, counted before TLS begins.

uvicorn would let asyncio do TLS for every accepted socket, and asyncio's TLS layer
allocates a 256 KiB read buffer per connection the moment it is accepted, before the
handshake, with no cap on how many: 2,000 clients trickling a ClientHello cost 600 MB.
So the runner listens on plain TCP and this gate, the protocol factory asyncio calls
at accept, decides first:

* **Over capacity**, the socket is closed at once, before any TLS state exists: there
  is nothing sensible to send before a handshake, and doing one would spend what the
  cap protects. The shed is logged.
* **Admitted**, the gate wraps the runner's h11 protocol in TLS itself, with a read
  buffer of ``TLS_READ_BUFFER_BYTES``, a handshake deadline equal to the header
  deadline, and ``TLS_SHUTDOWN_SECONDS`` to say goodbye. The connection counts until
  its socket closes, a failed or timed-out handshake included.

Security rules: the count never misses a close (it is released in the TLS layer's
``connection_lost``, which asyncio calls exactly once per accepted socket, handshake or
not); a gate that was never given its TLS context serves nobody; and the process gets
the file descriptors its cap needs at start-up, or the start fails (``FK-CONFIG-001``),
so the cap, not ``EMFILE``, is what turns clients away.
"""

from __future__ import annotations

import asyncio
import resource
import ssl
from asyncio import sslproto
from typing import Any, Final, cast

from uvicorn.config import Config
from uvicorn.server import ServerState

from forgekeep.errors import ConfigError
from forgekeep.runner._bounds import BoundedH11Protocol
from forgekeep.runner._shed import shed_log
from forgekeep.runner.settings import HttpLimits

#: TLS read buffer per connection, bytes (asyncio's default is 256 KiB, allocated and
#: zeroed at accept). Received bytes are copied out of it into OpenSSL at once, so its
#: size only sets how much one socket read takes: 16 KiB is one full TLS record.
TLS_READ_BUFFER_BYTES: Final = 16 << 10
#: How long a closing connection waits for the client's TLS close_notify, seconds.
TLS_SHUTDOWN_SECONDS: Final = 2.0
#: File descriptors kept free beside the connections (listening socket, state files, logs).
FD_RESERVE: Final = 64


class _TlsConnection(sslproto.SSLProtocol):
    """asyncio's server-side TLS with a smaller read buffer, reporting its close to the gate.

    This is the object asyncio's own event loop builds for a TLS server connection
    (``asyncio.sslproto.SSLProtocol``, Python 3.11+); the runner builds it itself so
    that it can decide before it exists, and size its buffer.
    """

    max_size = TLS_READ_BUFFER_BYTES

    def __init__(
        self,
        gate: ConnectionGate,
        http: BoundedH11Protocol,
        context: ssl.SSLContext,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(
            loop,
            http,
            context,
            None,  # type: ignore[arg-type]  # no waiter: nobody awaits the handshake here
            server_side=True,
            # asyncio takes any positive number of seconds; the stub says int.
            ssl_handshake_timeout=cast("int", gate.limits.header_timeout_seconds),
            ssl_shutdown_timeout=cast("int", TLS_SHUTDOWN_SECONDS),
        )
        self._gate = gate
        self._http = http

    def connection_lost(self, exc: BaseException | None) -> None:
        try:
            if not self._http.established:
                self._log_handshake_end(exc)
            super().connection_lost(exc)
        finally:
            self._gate.release()

    @staticmethod
    def _log_handshake_end(exc: BaseException | None) -> None:
        # asyncio aborts a handshake past its deadline with ConnectionAbortedError, and
        # a handshake OpenSSL refuses ends in SSLError; a client that closed or reset
        # the connection before finishing was not shed, and is not logged.
        if isinstance(exc, ConnectionAbortedError):
            shed_log.shed("header-deadline", error=type(exc).__name__)
        elif isinstance(exc, ssl.SSLError):
            shed_log.shed("tls-handshake-failed", error=type(exc).__name__)


class _Refused(asyncio.Protocol):
    """Over capacity: closed as soon as it is accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionGate:
    """The protocol factory of a runner: counts connections and wraps the admitted in TLS."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.tls: ssl.SSLContext | None = None  # set by RunnerConfig.load()
        self.open = 0  # admitted connections whose socket is not yet closed

    def __call__(
        self,
        *,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> asyncio.BaseProtocol:
        if self.tls is None:  # RunnerConfig.load() sets it; without it, fail closed
            shed_log.shed("no-tls-context")
            return _Refused()
        if self.open >= self.limits.max_connections:
            shed_log.shed("over-capacity", status=None, connections=self.open)
            return _Refused()
        loop = _loop or asyncio.get_running_loop()
        http = BoundedH11Protocol(config, server_state, app_state, loop, limits=self.limits)
        self.open += 1
        return _TlsConnection(self, http, self.tls, loop)

    def release(self) -> None:
        self.open -= 1


def ensure_fd_headroom(max_connections: int) -> None:
    """Raise this process's soft ``RLIMIT_NOFILE`` to fit the cap, or refuse to start."""
    need = max_connections + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise ConfigError(
            f"[http] max_connections = {max_connections} needs {need} open files, "
            f"but this process may open at most {hard}",
            hint="lower [http] max_connections, or raise the hard limit (ulimit -Hn, LimitNOFILE=)",
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
