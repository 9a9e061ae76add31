"""The ``[http]`` table every Forgekeep daemon's config shares: how the runner bounds clients.

``witness.toml`` has it today; ``server.toml`` and ``keyd.toml`` embed the same model.
Security rule: every client of an HTTPS runner is bounded in count and in time, and an
operator can tighten the bounds but never switch them off: each value is validated
(strict types, no zero, negative, infinite or absurd values; the ceilings live in
:mod:`forgekeep.limits`). A bad value is :class:`~forgekeep.errors.ConfigError`
(``FK-CONFIG-001``) when the daemon's config is loaded.

This module imports only pydantic, so a config can be read without the web stack.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from forgekeep import limits


class HttpLimits(BaseModel):
    """How many clients an HTTPS runner serves at once, and how long each may take."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    #: Connections held at once, counted from accept (before TLS) until the socket closes.
    #: One more is closed at accept, before any TLS state is allocated for it.
    max_connections: int = Field(default=1024, ge=1, le=limits.MAX_HTTP_CONNECTIONS)
    #: Requests in flight at once (all connections together); one more gets 503 + Retry-After.
    max_requests: int = Field(default=128, ge=1, le=limits.MAX_HTTP_REQUESTS)
    #: From accept (or the first byte of a later request on a kept-alive connection) to the
    #: complete request head, the TLS handshake included. Past it: 408 and close.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=limits.MAX_HTTP_TIMEOUT_SECONDS)
    #: From the complete request head to the complete body. Past it: 408 and close (or only
    #: close, when the response has already begun).
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=limits.MAX_HTTP_TIMEOUT_SECONDS)
    #: A kept-alive connection with no request under way is closed after this (uvicorn's
    #: ``timeout_keep_alive``).
    idle_timeout_seconds: float = Field(default=5.0, gt=0, le=limits.MAX_HTTP_TIMEOUT_SECONDS)
    #: Request line and headers buffered while the head is incomplete, bytes (h11's
    #: ``max_incomplete_event_size``); more is 400.
    max_header_bytes: int = Field(
        default=16384, ge=limits.MIN_HTTP_HEADER_BYTES, le=limits.MAX_HTTP_HEADER_BYTES
    )

    def render_toml(self) -> list[str]:
        """The ``[http]`` table with comments, as ``init`` writes it into a daemon's config."""
        return [
            "# How the HTTPS runner bounds clients (docs/operations.md). Every value must be",
            "# positive; a slow or excess client is answered 408 or 503 and disconnected.",
            "[http]",
            "# Connections at once (from accept, TLS handshake included); more are closed.",
            f"max_connections = {self.max_connections}",
            "# Requests in flight at once; more get 503 with Retry-After.",
            f"max_requests = {self.max_requests}",
            "# Seconds to receive the TLS handshake and the whole request head.",
            f"header_timeout_seconds = {self.header_timeout_seconds}",
            "# Seconds to receive the whole request body once the head is in.",
            f"body_timeout_seconds = {self.body_timeout_seconds}",
            "# Seconds a kept-alive connection may sit idle between requests.",
            f"idle_timeout_seconds = {self.idle_timeout_seconds}",
            "# Largest request head (request line and headers), bytes.",
            f"max_header_bytes = {self.max_header_bytes}",
        ]
