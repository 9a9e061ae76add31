"""How the runner turns a client away: a canned response, and a log line that cannot flood.

A shed client gets at most one short, fixed response (408 for a missed deadline, 503
with ``Retry-After`` when the runner is full) followed by ``Connection: close``; the
bytes are built once, here, and never depend on anything the client sent. When no
response can be sent (before TLS, or after the app began its own), the runner only
closes.

Every shed is logged as one structured event, ``client shed``, with its reason. Under
a flood the log is rate-limited per reason: at most one line per
``LOG_INTERVAL_SECONDS``, and each line counts the sheds it stands for, so a slowloris
cannot turn into a disk-filling log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

import structlog

#: What an over-capacity 503 asks the client to wait before it retries, seconds.
RETRY_AFTER_SECONDS: Final = 5
#: At most one ``client shed`` line per reason this often, seconds.
LOG_INTERVAL_SECONDS: Final = 1.0

_log = structlog.get_logger("forgekeep.runner")


#: The 503 an over-capacity request gets (sent through the app interface, so h11 frames it).
BUSY_BODY: Final = b"server busy: too many requests in flight; retry later\n"
BUSY_HEADERS: Final = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"connection", b"close"),
    (b"retry-after", str(RETRY_AFTER_SECONDS).encode("ascii")),
)


def canned_response(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection (``message`` is ours).

    Written straight to the transport, past h11, because the connection is closed right
    after it whatever state h11 is in (a head may be half-parsed).
    """
    body = f"{message}\n".encode("ascii")
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class ShedLog:
    """Rate-limited ``client shed`` events: one line per reason per interval, with a count."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}
        self._pending: dict[str, int] = {}

    def shed(self, reason: str, **fields: Any) -> bool:
        """Record one shed client; returns whether a line was written for it."""
        now = self._clock()
        count = self._pending.get(reason, 0) + 1
        last = self._last.get(reason)
        if last is not None and now - last < LOG_INTERVAL_SECONDS:
            self._pending[reason] = count
            return False
        self._last[reason] = now
        self._pending[reason] = 0
        _log.warning("client shed", reason=reason, shed=count, **fields)
        return True

    def reset(self) -> None:
        """Forget every reason's budget and count (each test starts with a fresh log)."""
        self._last.clear()
        self._pending.clear()


#: One per process: all runners in it share the budget, which is what protects the log.
shed_log = ShedLog()
