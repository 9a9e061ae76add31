"""The conformance battery through a real unlock agent: a detached process on a real socket."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.errors import KeyringLockedError, UsageError, WrongPassphraseError
from forgekeep.keys import open_key_manager
from forgekeep.keys.agent import (
    AgentKeyManager,
    agent_socket_path,
    agent_status,
    start_agent,
    stop_agent,
)
from forgekeep.keys.local import KdfParams, LocalKeyManager, derive_key
from forgekeep.testing._keys_conformance import exercise_key_manager

CHEAP = KdfParams(memory_kib=64, iterations=1, lanes=1)
PASSPHRASE = b"agent conformance passphrase"


def _gone(pid: int) -> bool:
    """True once the process has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="fk-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def keyring(tmp_path: Path, runtime_dir: Path) -> Iterator[Path]:
    path = tmp_path / "keyring.fk"
    LocalKeyManager.create(path, PASSPHRASE, params=CHEAP, clock=ManualClock())
    yield path
    stop_agent(path)


@pytest.fixture
def agent_pid(keyring: Path) -> int:
    return start_agent(keyring, derive_key(keyring, PASSPHRASE), ttl_seconds=120)


def test_the_battery_passes_through_a_real_agent(keyring: Path, agent_pid: int) -> None:
    assert agent_pid != os.getpid()
    exercise_key_manager(AgentKeyManager(keyring), ring_prefix="agent")


def test_socket_is_0600_in_a_0700_directory(keyring: Path, agent_pid: int) -> None:
    sock = agent_socket_path(keyring)
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert sock.stat().st_uid == sock.parent.stat().st_uid == os.getuid()


def test_status_reports_pid_and_expiry(keyring: Path, agent_pid: int) -> None:
    status = agent_status(keyring)
    assert status is not None
    assert status["pid"] == agent_pid
    assert status["keyring"] == f"local:{keyring.resolve()}"
    assert status["expires_at"].tzinfo is not None


def test_the_key_is_not_on_the_agent_command_line(keyring: Path, agent_pid: int) -> None:
    key = derive_key(keyring, PASSPHRASE)
    cmdline = Path(f"/proc/{agent_pid}/cmdline").read_bytes()
    assert b"forgekeep.keys._agent_server" in cmdline
    for form in (key, key.hex().encode(), PASSPHRASE):
        assert form not in cmdline


def test_the_agent_process_cannot_dump_core(keyring: Path, agent_pid: int) -> None:
    limits = Path(f"/proc/{agent_pid}/limits").read_text().splitlines()
    core = next(line for line in limits if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"]


def test_lock_stops_the_agent(keyring: Path, agent_pid: int) -> None:
    assert stop_agent(keyring) is True
    assert not agent_socket_path(keyring).exists()
    assert _within(5, lambda: _gone(agent_pid))
    assert stop_agent(keyring) is False
    with pytest.raises(KeyringLockedError):
        AgentKeyManager(keyring).describe("any")


def test_the_ttl_expires(keyring: Path) -> None:
    pid = start_agent(keyring, derive_key(keyring, PASSPHRASE), ttl_seconds=1.5)
    assert agent_status(keyring) is not None
    assert _within(10, lambda: _gone(pid))
    assert agent_status(keyring) is None
    assert not agent_socket_path(keyring).exists()


def test_removing_the_socket_stops_the_agent(keyring: Path, agent_pid: int) -> None:
    agent_socket_path(keyring).unlink()
    assert _within(5, lambda: _gone(agent_pid))


def test_sigterm_stops_the_agent_and_removes_its_socket(keyring: Path, agent_pid: int) -> None:
    os.kill(agent_pid, signal.SIGTERM)
    assert _within(5, lambda: _gone(agent_pid))
    assert not agent_socket_path(keyring).exists()


def test_unlocking_again_replaces_the_agent(keyring: Path, agent_pid: int) -> None:
    second = start_agent(keyring, derive_key(keyring, PASSPHRASE), ttl_seconds=60)
    assert second != agent_pid
    assert _within(5, lambda: _gone(agent_pid))
    status = agent_status(keyring)
    assert status is not None
    assert status["pid"] == second


def test_a_stale_socket_file_is_replaced(keyring: Path) -> None:
    sock = agent_socket_path(keyring)
    sock.write_bytes(b"")
    pid = start_agent(keyring, derive_key(keyring, PASSPHRASE), ttl_seconds=60)
    status = agent_status(keyring)
    assert status is not None
    assert status["pid"] == pid


def test_locked_without_an_agent(keyring: Path) -> None:
    assert agent_status(keyring) is None
    with pytest.raises(KeyringLockedError):
        AgentKeyManager(keyring).create_ring("r")
    with pytest.raises(KeyringLockedError):
        open_key_manager(f"local:{keyring}")


def test_the_registry_opens_through_a_running_agent(keyring: Path, agent_pid: int) -> None:
    km = open_key_manager("local:keyring.fk", base_dir=keyring.parent)
    assert isinstance(km, AgentKeyManager)
    assert km.create_ring("via-registry").kek_version == 1


def test_a_wrong_passphrase_starts_no_agent(keyring: Path) -> None:
    with pytest.raises(WrongPassphraseError):
        start_agent(keyring, derive_key(keyring, b"not the passphrase"), ttl_seconds=60)
    assert not agent_socket_path(keyring).exists()
    assert agent_status(keyring) is None


def test_a_wrong_passphrase_leaves_a_running_agent_alone(keyring: Path, agent_pid: int) -> None:
    with pytest.raises(WrongPassphraseError):
        start_agent(keyring, derive_key(keyring, b"not the passphrase"), ttl_seconds=60)
    with pytest.raises(UsageError):
        start_agent(keyring, b"short", ttl_seconds=60)
    status = agent_status(keyring)
    assert status is not None
    assert status["pid"] == agent_pid


def test_wrong_or_empty_passphrase_on_create_and_open(tmp_path: Path) -> None:
    path = tmp_path / "k.fk"
    with pytest.raises(UsageError):
        LocalKeyManager.create(path, b"", params=CHEAP, clock=ManualClock())
    LocalKeyManager.create(path, PASSPHRASE, params=CHEAP, clock=ManualClock())
    with pytest.raises(WrongPassphraseError):
        LocalKeyManager.open(path, PASSPHRASE + b"!", clock=ManualClock())
    with pytest.raises(UsageError):
        derive_key(path, b"")
