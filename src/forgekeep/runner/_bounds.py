"""Deadlines and the in-flight cap, per connection, in the runner's h11 protocol.

uvicorn bounds idle keep-alive (``timeout_keep_alive``) and the size of a request head
(h11's ``max_incomplete_event_size``), and the runner sets both. It has no deadline for
a head or a body that arrives one byte at a time, and never arms its keep-alive timer
before the first response, so a client that connects and trickles is held forever.
This protocol adds what is missing (:class:`~forgekeep.runner.settings.HttpLimits`):

* **Header deadline.** From accept (the TLS handshake included: the connection is
  created at accept, and the time the handshake took is subtracted), or from the first
  byte of a later request on a kept-alive connection, to the complete request head.
* **Body deadline.** From the complete head to the complete body, whatever the app
  does meanwhile (an app that answers early does not leave the rest unbounded).
* **Requests in flight** across the server: one more is answered 503 with
  ``Retry-After`` before the app sees it. (uvicorn's ``limit_concurrency`` is not used:
  it counts only connections past their handshake, is checked only once a full head
  arrived, which a slow client never sends, and its 503 has no ``Retry-After``.)

A missed deadline is answered 408 and the connection closed; when the app has already
begun its response, the connection is only closed. The deadlines follow h11's view of
the client (``their_state``), re-checked after every read and every response, so they
hold for pipelined and kept-alive requests alike.

Memory: besides the TLS read buffer (see :mod:`forgekeep.runner._gate`), a connection
holds at most ``TLS_BACKLOG_BYTES`` of received ciphertext, ``max_header_bytes`` of
unparsed head in h11, and 64 KiB of body the app has not taken (uvicorn then stops
reading); two timer handles are all the deadlines add.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import h11
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.server import ServerState

from forgekeep.runner._protocol import PeerCertH11Protocol
from forgekeep.runner._shed import BUSY_BODY, BUSY_HEADERS, canned_response, shed_log
from forgekeep.runner.settings import HttpLimits

#: Received ciphertext the TLS layer holds while the app is not reading, bytes (asyncio's
#: default is 256 KiB per connection); past it, the connection stops reading its socket.
TLS_BACKLOG_BYTES: Final = 64 << 10
_TIMEOUT_408 = canned_response(408, "request timeout: the request was not received in time")


class BoundedH11Protocol(PeerCertH11Protocol):
    """The runner's h11 protocol: peer certificate stamp, deadlines, in-flight cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.accepted_at = self.loop.time()  # built at accept, before the TLS handshake
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self.established = False  # TLS is up and uvicorn has the connection
        self.cut = False  # the runner ended this connection (a deadline)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.established = True
        limit_backlog = getattr(transport, "set_read_buffer_limits", None)
        if limit_backlog is not None:  # the TLS transport has it; a plain one has no backlog
            limit_backlog(high=TLS_BACKLOG_BYTES)
        self.app = self._guarded(self.app)
        spent = self.loop.time() - self.accepted_at
        left = max(0.0, self.limits.header_timeout_seconds - spent)
        self._head_timer = self.loop.call_later(left, self._head_expired)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow(got_bytes=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow(got_bytes=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head()
        self._cancel_body()
        super().connection_lost(exc)

    def _follow(self, *, got_bytes: bool) -> None:
        """Arm or drop the deadlines for where h11 says the client now is."""
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            # A later request's head starts with its first byte; until then the idle
            # (keep-alive) timer that uvicorn arms after each response applies.
            if got_bytes and self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.limits.header_timeout_seconds, self._head_expired
                )
        elif state is h11.SEND_BODY:
            self._cancel_head()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(
                    self.limits.body_timeout_seconds, self._body_expired
                )
        else:  # the whole request is in (or the connection is over)
            self._cancel_head()
            self._cancel_body()

    def _cancel_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        self._cut("header-deadline", _TIMEOUT_408)

    def _body_expired(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            self._cut("body-deadline", None)  # only closing is left
            return
        if cycle is not None:
            cycle.disconnected = True  # the app's own sends are dropped from here on
            cycle.message_event.set()  # and its receive() sees a disconnect
        self._cut("body-deadline", _TIMEOUT_408)

    def _cut(self, reason: str, response: bytes | None) -> None:
        if self.transport.is_closing():
            return
        self.cut = True
        if response is not None:
            self.transport.write(response)
        shed_log.shed(reason, status=408 if response else None, peer=_peer(self.client))
        self.transport.close()

    def _guarded(self, app: ASGI3Application) -> ASGI3Application:
        """The app behind the in-flight cap; an error caused by a cut is not the app's."""
        tasks = self.tasks
        limit = self.limits.max_requests

        async def guarded(
            scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
        ) -> None:
            if scope["type"] == "http" and len(tasks) > limit:  # this request is counted too
                shed_log.shed("over-capacity", status=503, peer=_peer(self.client))
                await _busy(send)
                return
            try:
                await app(scope, receive, send)
            except Exception as exc:
                if not self.cut:
                    raise
                # The app read on after the runner cut the request (a disconnect); its
                # error is the expected consequence, not a bug worth a traceback.
                shed_log.shed("app-after-cut", error=type(exc).__name__)

        return guarded


async def _busy(send: ASGISendCallable) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": list(BUSY_HEADERS)})
    await send({"type": "http.response.body", "body": BUSY_BODY, "more_body": False})


def _peer(client: tuple[str, int] | None) -> str | None:
    return None if client is None else f"{client[0]}:{client[1]}"
