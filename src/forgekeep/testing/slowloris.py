"""Slow clients for load tests of the HTTPS runner: loopback only, bounded in count and time.

Each client sends one byte, then waits ``interval`` seconds, and again, until the
server drops it or the run ends. Three kinds, one per deadline the runner keeps:

* ``tls`` trickles a real TLS ClientHello over plain TCP: it never finishes its
  handshake (the header deadline covers the handshake);
* ``head`` finishes its handshake, then trickles an HTTP request head;
* ``body`` sends a complete head announcing a body, then trickles the body.

Everything runs in one thread over non-blocking sockets, so holding thousands of
connections costs the caller little. Rules: the target must be a loopback address
(``ValueError`` otherwise); at most ``MAX_CLIENTS`` clients and ``MAX_RUN_SECONDS`` per
run; every socket is closed when the run ends.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["tls", "head", "body"]
#: Most clients one run may open.
MAX_CLIENTS: Final = 5000
#: Longest one run may last, seconds.
MAX_RUN_SECONDS: Final = 120.0
_HEAD = b"POST /add-checkpoint HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 4096\r\n\r\n"
_POLL_SECONDS = 0.05


@dataclass
class SlowClient:
    """One slow connection and what became of it."""

    kind: Kind
    sock: socket.socket
    pending: bytes
    opened_at: float
    next_send: float
    dropped_at: float | None = None
    #: The first bytes the server sent before it closed (e.g. a 408 status line).
    answer: bytes = b""

    @property
    def held_seconds(self) -> float | None:
        return None if self.dropped_at is None else self.dropped_at - self.opened_at


def _client_hello() -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):  # no server: it waits for one
        tls.do_handshake()
    return outgoing.read()


class SlowLoris:
    """Opens slow clients against ``host:port`` and trickles bytes until each is dropped."""

    def __init__(self, host: str, port: int, *, interval: float) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("slow clients go to a loopback address only")
        self.address = (host, port)
        self.interval = interval
        self.clients: list[SlowClient] = []
        self._selector = selectors.DefaultSelector()
        self._hello = _client_hello()
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # load only: nothing here is trusted

    def open(self, kind: Kind, count: int) -> None:
        """Open ``count`` clients of ``kind`` (TLS kinds finish their handshake here)."""
        if len(self.clients) + count > MAX_CLIENTS:
            raise ValueError(f"at most {MAX_CLIENTS} slow clients")
        for _ in range(count):
            self._open_one(kind)

    def _open_one(self, kind: Kind) -> None:
        raw = socket.create_connection(self.address, timeout=10)
        opened = time.monotonic()
        sock: socket.socket = raw
        payload = self._hello
        try:
            if kind != "tls":
                sock = self._tls.wrap_socket(raw, server_hostname="localhost")
                payload = _HEAD if kind == "head" else b"x" * 4096
                if kind == "body":
                    sock.sendall(_HEAD)
        except OSError:  # refused (closed at accept) during the handshake
            raw.close()
            self.clients.append(SlowClient(kind, raw, b"", opened, opened, opened))
            return
        sock.setblocking(False)
        client = SlowClient(kind, sock, payload, opened, opened)
        self._selector.register(sock, selectors.EVENT_READ, client)
        self.clients.append(client)
        self._trickle(client, opened)

    def run(self, seconds: float) -> None:
        """Trickle for ``seconds`` (at most ``MAX_RUN_SECONDS``), noting every drop."""
        end = time.monotonic() + min(seconds, MAX_RUN_SECONDS)
        while time.monotonic() < end and self.alive():
            self.poll()
            time.sleep(_POLL_SECONDS)

    def poll(self) -> None:
        """One round: read what servers sent (a drop), send the bytes that are due."""
        for key, _ in self._selector.select(timeout=0):
            self._read(key.data)
        now = time.monotonic()
        for client in self.clients:
            if client.dropped_at is None and client.next_send <= now:
                self._trickle(client, now)

    def alive(self) -> int:
        return sum(1 for client in self.clients if client.dropped_at is None)

    def _read(self, client: SlowClient) -> None:
        try:
            data = client.sock.recv(4096)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            data = b""
        client.answer = data[:64]
        self._drop(client)  # a slow client only ever hears a refusal (408, 400) or EOF

    def _trickle(self, client: SlowClient, now: float) -> None:
        if not client.pending:
            client.pending = b"x"  # a body or head that is "done" keeps trickling junk
        try:
            client.sock.send(client.pending[:1])
        except (ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            self._drop(client)
            return
        client.pending = client.pending[1:]
        client.next_send = now + self.interval

    def _drop(self, client: SlowClient) -> None:
        if client.dropped_at is None:
            client.dropped_at = time.monotonic()
            self._selector.unregister(client.sock)
            client.sock.close()

    def close(self) -> None:
        """Close every socket still open."""
        for client in self.clients:
            if client.dropped_at is None:
                self._selector.unregister(client.sock)
                client.sock.close()
        self._selector.close()
