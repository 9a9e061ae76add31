"""The agent's server loop, run in a thread of this process over a real Unix socket."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from forgekeep.clock import SystemClock
from forgekeep.errors import AgentError, WrongPassphraseError
from forgekeep.keys._agent_server import AgentServer, bind_socket, prepare, report
from forgekeep.keys.agent import AgentKeyManager, agent_socket_path, call_agent
from forgekeep.keys.local import LocalKeyManager, derive_key
from forgekeep.testing._keys_conformance import exercise_key_manager


def _server(km: LocalKeyManager, ttl: float = 60.0, **kwargs: Any) -> AgentServer:
    sock = agent_socket_path(km.path)
    return AgentServer(km, bind_socket(sock), sock, ttl_seconds=ttl, clock=SystemClock(), **kwargs)


def _wait_for(condition: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_battery_passes_through_an_in_process_agent(agent_km: AgentKeyManager) -> None:
    exercise_key_manager(agent_km, ring_prefix="inproc")


def test_status_and_ping_report_the_agent(agent_km: AgentKeyManager, km: LocalKeyManager) -> None:
    status = call_agent(agent_socket_path(km.path), "status", {}, timeout=5)
    assert status["pid"] == os.getpid()
    assert status["keyring"] == km.uri
    assert "expires_at" in call_agent(agent_socket_path(km.path), "ping", {}, timeout=5)


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        ({"op": "fly"}, "arguments must be an object"),
        ({"op": "fly", "args": {}}, "unknown agent operation"),
        ({"op": 7, "args": {}}, "unknown agent operation"),
        ({"op": "wrap", "args": {"ring": "r"}}, "invalid argument 'domain'"),
        ({"op": "wrap", "args": {"ring": "r", "domain": "d", "data_key": 1}}, "base64"),
        ({"op": "describe", "args": {"ring": "r", "domain": 5}}, "invalid argument 'domain'"),
    ],
)
def test_bad_requests_get_agent_errors(
    km: LocalKeyManager,
    runtime_dir: Path,
    request_: dict[str, Any],
    match: str,
    serving: Any,
) -> None:
    server = _server(km)
    with serving(server):
        reply = server.dispatch(request_)
    assert reply["ok"] is False
    assert reply["error"]["code"] == AgentError.code
    assert match in reply["error"]["message"]


class _Exploding(LocalKeyManager):
    def rewrap(self, ring: str) -> int:
        raise RuntimeError("secret detail that must not cross the socket")


def test_an_unexpected_exception_becomes_a_generic_agent_error(
    km: LocalKeyManager,
    runtime_dir: Path,
    passphrase: bytes,
    serving: Any,
) -> None:
    exploding = _Exploding(km.path, derive_key(km.path, passphrase), clock=SystemClock())
    server = _server(exploding)
    with serving(server):
        reply = server.dispatch({"op": "rewrap", "args": {"ring": "r"}})
    assert reply["error"]["code"] == AgentError.code
    assert "secret" not in reply["error"]["message"]


def test_lock_ends_the_loop_and_removes_the_socket(
    km: LocalKeyManager, runtime_dir: Path, serving: Any
) -> None:
    server = _server(km)
    sock = agent_socket_path(km.path)
    with serving(server) as thread:
        assert call_agent(sock, "lock", {}, timeout=5)["pid"] == os.getpid()
        assert _wait_for(lambda: not thread.is_alive())
    assert not sock.exists()


def test_the_ttl_ends_the_loop(km: LocalKeyManager, runtime_dir: Path, serving: Any) -> None:
    with serving(_server(km, ttl=0.2)) as thread:
        assert _wait_for(lambda: not thread.is_alive())
    assert not agent_socket_path(km.path).exists()


def test_removing_the_socket_ends_the_loop(
    km: LocalKeyManager, runtime_dir: Path, serving: Any
) -> None:
    with serving(_server(km)) as thread:
        agent_socket_path(km.path).unlink()
        assert _wait_for(lambda: not thread.is_alive())


def test_a_replaced_socket_ends_the_loop_and_is_left_alone(
    km: LocalKeyManager,
    runtime_dir: Path,
    serving: Any,
) -> None:
    sock = agent_socket_path(km.path)
    with serving(_server(km)) as thread:
        sock.unlink()
        sock.write_bytes(b"someone else's")
        assert _wait_for(lambda: not thread.is_alive())
    assert sock.read_bytes() == b"someone else's"


def test_a_peer_with_another_uid_gets_no_answer(
    km: LocalKeyManager, runtime_dir: Path, serving: Any
) -> None:
    with serving(_server(km, uid=os.getuid() + 1)), pytest.raises(AgentError):
        call_agent(agent_socket_path(km.path), "ping", {}, timeout=5)


def test_a_garbled_request_is_dropped(km: LocalKeyManager, runtime_dir: Path, serving: Any) -> None:
    with serving(_server(km)):
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(str(agent_socket_path(km.path)))
            client.sendall(b"\xff\xff\xff\xff")
            assert client.recv(16) == b""
        assert call_agent(agent_socket_path(km.path), "ping", {}, timeout=5)["pid"] == os.getpid()


class _RefusingListener(socket.socket):
    def accept(self) -> tuple[socket.socket, Any]:
        raise ConnectionAbortedError


def test_a_failed_accept_is_survived(km: LocalKeyManager, runtime_dir: Path) -> None:
    sock = agent_socket_path(km.path)
    listener = _RefusingListener(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    listener.listen(1)
    server = AgentServer(km, listener, sock, ttl_seconds=0.5, clock=SystemClock())
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(sock))
        server.serve()
    assert not sock.exists()


def test_prepare_refuses_a_wrong_key_before_binding(km: LocalKeyManager, runtime_dir: Path) -> None:
    sock = agent_socket_path(km.path)
    with pytest.raises(WrongPassphraseError):
        prepare(km.path, sock, b"\x00" * 32, 60)
    assert not sock.exists()


def test_bind_failure_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot bind"):
        bind_socket(tmp_path / "missing" / "a.sock")


def test_the_socket_is_bound_0600_whatever_the_umask(runtime_dir: Path) -> None:
    old = os.umask(0)
    try:
        listener = bind_socket(runtime_dir / "a.sock")
    finally:
        os.umask(old)
    with listener:
        assert (runtime_dir / "a.sock").stat().st_mode & 0o777 == 0o600


def test_the_start_report_is_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    report({"ok": True, "result": 42})
    assert json.loads(capsys.readouterr().out) == {"ok": True, "result": 42}
