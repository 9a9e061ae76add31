"""Each bound of the runner on a real loopback server: deadlines, idle, caps, with short limits.

The server runs in a thread (``serve_in_thread``) with deadlines of a fraction of a
second; clients are plain sockets, so each test controls exactly which bytes arrive
and when. Every test checks both sides of its bound: not cut before it, cut after it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog

from forgekeep.runner import HttpLimits, serve_in_thread
from forgekeep.runner._shed import shed_log
from forgekeep.testing.pki import IssuedCert, TestCA

SHORT = 0.5  # seconds: every deadline in these tests
SLACK = 1.5  # seconds a cut may come after its deadline on a busy machine

Received = list[dict[str, Any]]


class App:
    """Echoes the request body's length; ``/slow`` waits on an event; ``/early`` answers
    before reading the body. Records every ASGI message the app received."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.received: Received = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["path"] == "/slow":
            await asyncio.to_thread(self.release.wait, 10)
        if scope["path"] != "/early":
            await self._read(receive)
        body = b"ok\n"
        headers = [(b"content-length", b"3")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read(self, receive: Any) -> None:
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        await send({"type": f"{message['type']}.complete"})
        if message["type"] == "lifespan.shutdown":
            return


@contextmanager
def _served(server_cert: IssuedCert, app: App, **limits: Any) -> Iterator[int]:
    bounds = {
        "header_timeout_seconds": SHORT,
        "body_timeout_seconds": SHORT,
        "idle_timeout_seconds": SHORT,
    }
    with serve_in_thread(
        app,
        certfile=server_cert.cert_path,
        keyfile=server_cert.key_path,
        client_ca=None,
        require_client_cert=False,
        limits=HttpLimits(**(bounds | limits)),
    ) as port:
        yield port


def _tls(ca: TestCA, port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=ca.cert_path)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def _read_until_closed(sock: socket.socket, limit: float = SHORT + SLACK) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start, data = time.monotonic(), b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.monotonic() - start


def _answer(sock: socket.socket) -> bytes:
    """One 200 response from the test app (its body is ``ok``)."""
    sock.settimeout(5)
    data = b""
    while not data.endswith(b"ok\n"):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def _still_open(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True


@pytest.fixture
def app() -> App:
    return App()


def test_a_trickled_head_gets_408_at_the_header_deadline(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app) as port, _tls(ca, port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\n")
        assert _still_open(sock, SHORT / 3)
        sock.sendall(b"host: x\r\n")
        data, waited = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close" in data
    assert waited < SHORT + SLACK
    assert app.received == []  # the app never saw the request


def test_a_stalled_tls_handshake_is_closed_at_the_header_deadline(
    server_cert: IssuedCert, app: App
) -> None:
    with (
        structlog.testing.capture_logs() as logs,
        _served(server_cert, app) as port,
        socket.create_connection(("127.0.0.1", port)) as raw,
    ):
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
        assert _still_open(raw, SHORT / 3)
        data, waited = _read_until_closed(raw)
        time.sleep(0.1)
    assert data == b""  # no HTTP can be spoken before TLS: only closed
    assert waited < SHORT + SLACK
    assert [(e["reason"], e["error"]) for e in logs if e["event"] == "client shed"] == [
        ("header-deadline", "ConnectionAbortedError")
    ]


def test_a_trickled_body_gets_408_and_the_app_sees_a_disconnect(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app) as port, _tls(ca, port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123")
        assert _still_open(sock, SHORT / 3)
        data, waited = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert waited < SHORT + SLACK
    assert app.received[-1] == {"type": "http.disconnect"}


def test_a_complete_body_inside_the_deadline_is_served(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app) as port, _tls(ca, port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\n01")
        time.sleep(SHORT / 3)
        sock.sendall(b"23")
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_body_trickled_after_an_early_answer_is_cut_at_the_deadline(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app) as port, _tls(ca, port) as sock:
        sock.sendall(b"POST /early HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n01")
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        sock.sendall(b"2")
        data, waited = _read_until_closed(sock)
    assert data == b""  # the response had begun: only closing is left
    assert waited < SHORT + SLACK


def test_an_idle_kept_alive_connection_is_closed_quietly(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app, header_timeout_seconds=30.0) as port, _tls(ca, port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        data, waited = _read_until_closed(sock)
    assert data == b""
    assert SHORT / 2 < waited < SHORT + SLACK


def test_a_later_request_head_on_a_kept_alive_connection_has_a_deadline(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with (
        _served(server_cert, app, idle_timeout_seconds=30.0) as port,
        _tls(ca, port) as sock,
    ):
        sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        assert _still_open(sock, SHORT * 2)  # idle, not yet a request: the idle timer rules
        sock.sendall(b"G")
        data, waited = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert waited < SHORT + SLACK


def test_connections_over_the_cap_are_closed_at_accept_and_slots_come_back(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    limits = {"max_connections": 2, "header_timeout_seconds": 30.0}
    with _served(server_cert, app, **limits) as port:
        first, second = _tls(ca, port), _tls(ca, port)
        with (
            structlog.testing.capture_logs() as logs,
            pytest.raises((ConnectionError, ssl.SSLError)),
        ):
            _tls(ca, port).close()  # closed before its handshake
        assert {"event": "client shed", "reason": "over-capacity"}.items() <= logs[0].items()
        first.close()
        time.sleep(0.3)
        with _tls(ca, port) as third:  # the slot came back
            third.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
            assert _answer(third).startswith(b"HTTP/1.1 200 OK\r\n")
        second.close()


def test_requests_over_the_in_flight_cap_get_503_with_retry_after(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with _served(server_cert, app, max_requests=1) as port:
        busy = _tls(ca, port)
        busy.sendall(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        time.sleep(0.2)
        with _tls(ca, port) as sock:
            sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
            data, _ = _read_until_closed(sock, 5)
        app.release.set()
        assert _answer(busy).startswith(b"HTTP/1.1 200 OK\r\n")
        busy.close()
    assert data.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"retry-after: 5\r\n" in data
    assert b"connection: close\r\n" in data


def test_failed_handshakes_give_their_slot_back(
    ca: TestCA, server_cert: IssuedCert, app: App
) -> None:
    with (
        structlog.testing.capture_logs() as logs,
        _served(server_cert, app, max_connections=2) as port,
    ):
        for _ in range(5):  # garbage instead of a ClientHello: the handshake fails
            with socket.create_connection(("127.0.0.1", port)) as raw:
                raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
                assert _read_until_closed(raw)[0] == b""
        shed_log.reset()  # so a line for the next one could not be rate-limited away
        with socket.create_connection(("127.0.0.1", port)):
            pass  # connected and left: not a shed
        time.sleep(0.3)
        with _tls(ca, port) as one, _tls(ca, port) as two:
            for sock in (one, two):
                sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
                assert _answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
    sheds = [e for e in logs if e["event"] == "client shed"]
    assert [e["reason"] for e in sheds] == ["tls-handshake-failed"]  # once: rate-limited


def test_an_app_error_caused_by_a_cut_is_logged_as_a_shed_not_a_crash(
    ca: TestCA, server_cert: IssuedCert, caplog: pytest.LogCaptureFixture
) -> None:
    async def reads_then_fails(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        while (await receive())["type"] != "http.disconnect":
            pass
        raise RuntimeError("the client went away")  # what a framework does on a disconnect

    with (
        structlog.testing.capture_logs() as logs,
        _served(server_cert, reads_then_fails) as port,  # type: ignore[arg-type]
        _tls(ca, port) as sock,
    ):
        sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n1")
        assert _read_until_closed(sock)[0].startswith(b"HTTP/1.1 408 ")
        time.sleep(0.2)
    assert "Exception in ASGI application" not in caplog.text
    reasons = [entry["reason"] for entry in logs if entry["event"] == "client shed"]
    assert reasons == ["body-deadline", "app-after-cut"]


def test_an_app_error_without_a_cut_is_still_an_error(
    ca: TestCA, server_cert: IssuedCert, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        raise RuntimeError("a bug")

    with _served(server_cert, fails) as port, _tls(ca, port) as sock:  # type: ignore[arg-type]
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _read_until_closed(sock)[0].startswith(b"HTTP/1.1 500 ")
    assert "Exception in ASGI application" in caplog.text


def test_a_head_over_max_header_bytes_is_400(ca: TestCA, server_cert: IssuedCert, app: App) -> None:
    with _served(server_cert, app, max_header_bytes=1024) as port, _tls(ca, port) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\nx-pad: " + b"a" * 2000)
        time.sleep(0.2)  # h11 bounds what it must buffer of a head still incomplete
        sock.sendall(b"\r\n\r\n")
        data, _ = _read_until_closed(sock, 5)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert app.received == []
