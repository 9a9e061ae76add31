"""2,000 slow clients against a real witness daemon on loopback: dropped, memory bounded.

``forgekeep witness run`` serves in a child process with short ``[http]`` deadlines
(4 s for the head, TLS included, and for the body) and room for every client. 2,000
connections each send one byte every 2 s: 1,000 trickle a TLS ClientHello, 500 a
request head after their handshake, 500 a body after a complete head. While they are
held, a normal client asks for a cosignature and gets it. Then every slow client is
dropped within its deadline (plus scheduling slack), heard a 408 where HTTP could be
spoken, and the witness's RSS stayed under its idle size plus the documented bound of
96 KiB per connection (docs/limits.md). Before the runner bounded clients, the same
load held every connection and grew the witness by about 590 MiB
(``bench/runner_slowloris.py``).

The test process needs about 2,100 file descriptors: it raises its soft limit, and
fails (never skips) when the hard limit is lower.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from forgekeep.runner import HttpLimits
from forgekeep.testing.slowloris import SlowLoris
from forgekeep.testing.witness import RunningWitness, start_witness

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

#: Opened in this order: the TLS handshakes of the first two kinds take a few seconds.
CLIENTS = {"body": 500, "head": 500, "tls": 1000}
DEADLINE = 4.0
INTERVAL = 2.0
SLACK = 2.5  # seconds after its deadline a drop may be noticed on a busy 2-core machine
BOUND_PER_CONNECTION = 96 << 10  # docs/limits.md
LIMITS = HttpLimits(
    max_connections=2500,
    max_requests=1000,  # the 500 slow bodies are requests in flight; a normal one fits
    header_timeout_seconds=DEADLINE,
    body_timeout_seconds=DEADLINE,
    idle_timeout_seconds=2.0,
)


def _fd_headroom(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.fail(f"this test needs {need} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[RunningWitness]:
    _fd_headroom(sum(CLIENTS.values()) + 200)
    running = start_witness(tmp_path, LIMITS)
    try:
        yield running
    finally:
        running.stop()


def test_slow_clients_are_dropped_memory_stays_bounded_and_a_normal_client_is_served(
    witness: RunningWitness, tmp_path: Path
) -> None:
    witness.cosign()  # warm: the first request imports and allocates what every later one uses
    process = psutil.Process(witness.process.pid)
    idle = process.memory_info().rss
    loris = SlowLoris("127.0.0.1", witness.port, interval=INTERVAL)
    peak = idle
    try:
        for kind, count in CLIENTS.items():
            for _ in range(0, count, 100):
                loris.open(kind, 100)  # type: ignore[arg-type]
                loris.poll()
                peak = max(peak, process.memory_info().rss)
        held_while_served = loris.alive()
        lines = witness.cosign(timeout=10)  # a normal client, while they are held
        end = time.monotonic() + DEADLINE + 2 * SLACK
        while loris.alive() and time.monotonic() < end:
            loris.run(0.5)
            peak = max(peak, process.memory_info().rss)
    finally:
        loris.close()

    assert held_while_served > 1000
    assert len(lines) == 1  # verified against the witness's key by the client
    for client in loris.clients:
        assert client.held_seconds is not None
        assert client.held_seconds <= DEADLINE + SLACK, (client.kind, client.held_seconds)
        if client.kind != "tls":
            assert client.answer.startswith(b"HTTP/1.1 408 "), (client.kind, client.answer)
    bound = idle + sum(CLIENTS.values()) * BOUND_PER_CONNECTION
    assert peak <= bound, f"peak RSS {peak >> 20} MiB over {bound >> 20} MiB"
    assert b"Traceback" not in (tmp_path / "witness.log").read_bytes()
