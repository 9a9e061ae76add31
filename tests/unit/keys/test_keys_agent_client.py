"""The agent's client side: socket directory rules, locked keyrings, start/stop failures."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from forgekeep.errors import (
    AgentError,
    KeyringLockedError,
    NotFoundError,
    UsageError,
    WrongPassphraseError,
)
from forgekeep.keys import agent
from forgekeep.keys._agent_wire import error_reply, ok_reply
from forgekeep.keys.agent import (
    AgentKeyManager,
    agent_socket_path,
    agent_status,
    call_agent,
    start_agent,
    stop_agent,
)
from forgekeep.keys.local import LocalKeyManager, derive_key


def test_the_socket_lives_in_a_private_runtime_directory(runtime_dir: Path, tmp_path: Path) -> None:
    sock = agent_socket_path(tmp_path / "k.fk")
    assert sock.parent == runtime_dir / "forgekeep"
    info = sock.parent.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()


def test_the_socket_name_follows_the_resolved_keyring_path(
    runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link").symlink_to(tmp_path)
    first = agent_socket_path(tmp_path / "k.fk")
    assert agent_socket_path(Path("k.fk")) == first
    assert agent_socket_path(tmp_path / "link" / "k.fk") == first
    assert agent_socket_path(tmp_path / "other.fk") != first


@pytest.mark.parametrize("runtime", ["", "relative/dir"])
def test_without_a_usable_xdg_dir_it_uses_tmp(
    monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    assert agent_socket_path(Path("/k.fk")).parent == Path(f"/tmp/forgekeep-{os.getuid()}")


def test_a_directory_owned_by_someone_else_is_refused(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent.os, "getuid", lambda: os.geteuid() + 4242)
    with pytest.raises(AgentError, match="not a private directory"):
        agent_socket_path(Path("/k.fk"))


def test_an_open_directory_is_refused(runtime_dir: Path) -> None:
    (runtime_dir / "forgekeep").mkdir(mode=0o755)
    (runtime_dir / "forgekeep").chmod(0o755)
    with pytest.raises(AgentError, match="not a private directory"):
        agent_socket_path(Path("/k.fk"))


def test_a_symlinked_directory_is_refused(runtime_dir: Path, tmp_path: Path) -> None:
    (runtime_dir / "forgekeep").symlink_to(tmp_path)
    with pytest.raises(AgentError, match="not a private directory"):
        agent_socket_path(Path("/k.fk"))


def test_a_missing_runtime_directory_is_an_agent_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "gone"))
    with pytest.raises(AgentError, match="cannot use"):
        agent_socket_path(Path("/k.fk"))


def test_a_socket_path_too_long_is_refused(runtime_dir: Path) -> None:
    deep = runtime_dir / ("d" * 90)
    deep.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(deep)
    with pytest.raises(AgentError, match="too long"):
        agent_socket_path(Path("/k.fk"))


def test_no_agent_means_locked(km: LocalKeyManager, runtime_dir: Path) -> None:
    with pytest.raises(KeyringLockedError):
        AgentKeyManager(km.path).describe("r")
    assert agent_status(km.path) is None
    assert stop_agent(km.path) is False
    assert repr(AgentKeyManager(km.path)) == f"AgentKeyManager(uri='{km.uri}')"


def test_an_unreachable_socket_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot reach"):
        call_agent(Path("/tmp") / ("x" * 120), "ping", {}, timeout=1)


def test_a_silent_agent_times_out(km: LocalKeyManager, runtime_dir: Path, fake_agent: Any) -> None:
    with (
        fake_agent(agent_socket_path(km.path), lambda _request: None),
        pytest.raises(AgentError, match="did not answer"),
    ):
        AgentKeyManager(km.path, timeout=0.2).describe("r")


def test_an_agent_of_another_user_is_refused(
    km: LocalKeyManager,
    runtime_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_agent: Any,
) -> None:
    sock = agent_socket_path(km.path)
    with fake_agent(sock, lambda _request: ok_reply(1)):
        monkeypatch.setattr(agent.os, "getuid", lambda: os.geteuid() + 4242)
        with pytest.raises(AgentError, match="another user"):
            call_agent(sock, "ping", {}, timeout=1)


@pytest.mark.parametrize(
    ("result", "call"),
    [
        ("three", lambda km: km.rewrap("r")),
        (True, lambda km: km.rewrap("r")),
        ({"pid": "x"}, lambda km: agent_status(km._path)),
        ({"pid": 1}, lambda km: agent_status(km._path)),
    ],
)
def test_malformed_results_are_agent_errors(
    km: LocalKeyManager,
    runtime_dir: Path,
    result: Any,
    call: Any,
    fake_agent: Any,
) -> None:
    with (
        fake_agent(agent_socket_path(km.path), lambda _request: ok_reply(result)),
        pytest.raises(AgentError, match="malformed"),
    ):
        call(AgentKeyManager(km.path))


def test_remote_errors_keep_their_class(
    km: LocalKeyManager, runtime_dir: Path, fake_agent: Any
) -> None:
    reply = error_reply(NotFoundError("no key ring 'r'"))
    with (
        fake_agent(agent_socket_path(km.path), lambda _request: reply),
        pytest.raises(NotFoundError, match="no key ring"),
    ):
        AgentKeyManager(km.path).describe("r")


def test_stop_waits_for_the_socket_to_go(
    km: LocalKeyManager,
    runtime_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_agent: Any,
) -> None:
    monkeypatch.setattr(agent, "STOP_TIMEOUT_SECONDS", 0.1)
    with (
        fake_agent(agent_socket_path(km.path), lambda _request: ok_reply({"pid": 1})),
        pytest.raises(AgentError, match="did not exit"),
    ):
        stop_agent(km.path)


@pytest.mark.parametrize("ttl", [0, -1, agent.MAX_TTL_SECONDS + 1])
def test_ttl_bounds(km: LocalKeyManager, runtime_dir: Path, ttl: float, passphrase: bytes) -> None:
    with pytest.raises(UsageError, match="TTL"):
        start_agent(km.path, derive_key(km.path, passphrase), ttl_seconds=ttl)


def _fake_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o700)
    monkeypatch.setattr(agent.sys, "executable", str(script))


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        ("echo boom >&2; exit 3", AgentError, r"did not start \(exit 3\): boom"),
        ("exit 4", AgentError, "no output"),
        ("echo '[1]'", AgentError, "malformed start report"),
        ('echo \'{"ok": true, "result": "x"}\'', AgentError, "malformed start report"),
        (
            'echo \'{"ok": false, "error": {"code": "FK-KEY-002", "message": "m"}}\'',
            WrongPassphraseError,
            "m",
        ),
    ],
)
def test_start_failures_are_reported(
    km: LocalKeyManager,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    error: type[Exception],
    match: str,
    passphrase: bytes,
) -> None:
    _fake_interpreter(tmp_path, monkeypatch, body)
    with pytest.raises(error, match=match):
        start_agent(km.path, derive_key(km.path, passphrase), ttl_seconds=5)


def test_a_hanging_start_is_killed(
    km: LocalKeyManager,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    passphrase: bytes,
) -> None:
    _fake_interpreter(tmp_path, monkeypatch, "exec sleep 30")
    monkeypatch.setattr(agent, "STARTUP_TIMEOUT_SECONDS", 0.2)
    with pytest.raises(AgentError, match="in time"):
        start_agent(km.path, derive_key(km.path, passphrase), ttl_seconds=5)


def test_an_agent_that_is_not_the_one_started_is_refused(
    km: LocalKeyManager,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    passphrase: bytes,
) -> None:
    real = sys.executable
    _fake_interpreter(
        tmp_path, monkeypatch, f'"{real}" "$@" >/dev/null; echo \'{{"ok":true,"result":1}}\''
    )
    try:
        with pytest.raises(AgentError, match="not the one just started"):
            start_agent(km.path, derive_key(km.path, passphrase), ttl_seconds=30)
    finally:
        assert stop_agent(km.path) is True
