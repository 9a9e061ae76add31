"""Fixtures for the forgekeep.keys unit tests: cheap KDF, a keyring, in-process agents."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from forgekeep.clock import ManualClock
from forgekeep.errors import ForgekeepError
from forgekeep.keys._agent_server import AgentServer, bind_socket, prepare
from forgekeep.keys._agent_wire import recv_frame, send_frame
from forgekeep.keys.agent import AgentKeyManager, agent_socket_path
from forgekeep.keys.local import KdfParams, LocalKeyManager, derive_key

CHEAP = KdfParams(memory_kib=64, iterations=1, lanes=1)
PASSPHRASE = b"correct horse battery staple"

Serving = Callable[[AgentServer], contextlib.AbstractContextManager[threading.Thread]]
FakeAgent = Callable[
    [Path, Callable[[dict[str, Any]], Any]], contextlib.AbstractContextManager[None]
]


@contextlib.contextmanager
def _serving(server: AgentServer) -> Iterator[threading.Thread]:
    """Run an AgentServer's loop in a thread; stop and join it afterwards."""
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        server.stop()
        thread.join(timeout=5)


@contextlib.contextmanager
def _fake_agent(path: Path, respond: Callable[[dict[str, Any]], Any]) -> Iterator[None]:
    """A scripted agent on ``path``: ``respond(request)`` returns the reply (None: stay silent)."""
    listener = bind_socket(path)
    listener.settimeout(0.05)
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError, ForgekeepError):
                reply = respond(recv_frame(conn))
                if reply is None:
                    done.wait(2)
                else:
                    send_frame(conn, reply)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def passphrase() -> bytes:
    return PASSPHRASE


@pytest.fixture
def cheap_kdf() -> KdfParams:
    return CHEAP


@pytest.fixture
def serving() -> Serving:
    """Run an AgentServer's loop in a thread for the duration of a ``with`` block."""
    return _serving


@pytest.fixture
def fake_agent() -> FakeAgent:
    """A scripted agent: ``with fake_agent(path, respond): ...``."""
    return _fake_agent


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.fk"


@pytest.fixture
def km(keyring_path: Path, clock: ManualClock) -> LocalKeyManager:
    return LocalKeyManager.create(keyring_path, PASSPHRASE, params=CHEAP, clock=clock)


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private XDG_RUNTIME_DIR (Unix socket paths are limited to 107 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="fk-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def agent_km(km: LocalKeyManager, runtime_dir: Path) -> Iterator[AgentKeyManager]:
    """An AgentKeyManager talking to a real AgentServer running in this process."""
    key = derive_key(km.path, PASSPHRASE)
    server = prepare(km.path, agent_socket_path(km.path), key, 60.0)
    with _serving(server):
        yield AgentKeyManager(km.path)
