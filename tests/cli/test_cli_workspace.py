"""``init``, ``status``, ``doctor``, ``--help``, ``unlock``/``lock``, passphrases and ``demo``."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fk_cli_harness import CHEAP_KDF, PASSPHRASE, InProcess, Sub, tree_snapshot

from forgekeep.keys.agent import agent_status


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.subprocess
def test_init_creates_a_workspace(fk_sub: Sub, tmp_path: Path) -> None:
    home = tmp_path / "new"
    result = fk_sub("--workspace", str(home), "init", *CHEAP_KDF).ok()

    assert (home / "forgekeep.toml").is_file()
    assert (home / "forgekeep.db").is_file()
    assert (home / "keyring.fk").is_file()
    assert (home / "sites" / "local-de").is_dir()
    config = tomllib.loads((home / "forgekeep.toml").read_text())
    assert config["keys"]["uri"] == "local:keyring.fk"
    assert config["keys"]["kdf"] == {"memory_kib": 64, "iterations": 1, "lanes": 4}
    assert [s["uri"] for s in config["sites"]] == ["file:sites/local-de"]
    assert config["workspace"]["tenant"] in result.out
    assert config["workspace"]["principal"] in result.out
    assert f"workspace {home}" in result.out
    # secrets stay secret: private modes, and the passphrase is stored nowhere
    assert _mode(home) == 0o700
    assert _mode(home / "forgekeep.toml") == 0o600
    assert _mode(home / "keyring.fk") == 0o600
    assert _mode(home / "sites" / "local-de") == 0o700
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSPHRASE.encode() not in path.read_bytes(), path
    assert "hint:" in result.stderr  # hints go to stderr, data to stdout
    assert "hint:" not in result.out


def test_init_json(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    data = fk("--json", "--workspace", str(home), "init", *CHEAP_KDF).json()
    assert data["home"] == str(home)
    assert data["site"] == "local-de"
    assert data["tenant_id"].startswith("t-")
    assert data["principal_id"].startswith("p-")
    config = tomllib.loads((home / "forgekeep.toml").read_text())
    assert config["workspace"] == {"tenant": data["tenant_id"], "principal": data["principal_id"]}


def test_init_accepts_an_empty_directory(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    fk("--workspace", str(home), "init", *CHEAP_KDF).ok()
    assert (home / "forgekeep.toml").is_file()


@pytest.mark.parametrize("leftover", ["notes.txt", ".hidden", "subdir/"])
def test_init_refuses_a_non_empty_directory(fk: InProcess, tmp_path: Path, leftover: str) -> None:
    home = tmp_path / "busy"
    home.mkdir()
    if leftover.endswith("/"):
        (home / leftover).mkdir()
        (home / leftover / "precious.step").write_bytes(b"ISO-10303-21;")
    else:
        (home / leftover).write_text("keep me")
    before = tree_snapshot(home)

    result = fk("--workspace", str(home), "init", *CHEAP_KDF)

    message = result.error("FK-CONFIG-002", 1)
    assert "not empty" in message
    assert tree_snapshot(home) == before


def test_init_refuses_an_existing_workspace(fk: InProcess, ws: Path) -> None:
    before = tree_snapshot(ws)
    fk("--workspace", str(ws), "init", *CHEAP_KDF).error("FK-CONFLICT-001", 1)
    assert tree_snapshot(ws) == before


def test_init_refuses_a_file(fk: InProcess, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    fk("--workspace", str(target), "init", *CHEAP_KDF).error("FK-CONFIG-002", 1)
    assert target.read_text() == "x"


def test_no_workspace_given(fk: InProcess, tmp_path: Path) -> None:
    fk("ls").error("FK-CONFIG-002", 1)
    fk("--workspace", str(tmp_path / "nowhere"), "ls").error("FK-CONFIG-002", 1)
    assert not (tmp_path / "nowhere").exists()


def test_workspace_from_forgekeep_home(fk: InProcess, ws: Path) -> None:
    data = fk("status", "--json", env={"FORGEKEEP_HOME": str(ws)}).json()
    assert data["workspace"] == str(ws)


def test_split_mode_is_a_usage_error(fk: InProcess, ws: Path) -> None:
    fk("--server", "https://vault.example", "ls").error("FK-USAGE-001", 2)


def test_passphrase_file(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    secret = tmp_path / "pass.txt"
    secret.write_text("from a file\n")
    no_env = {"FORGEKEEP_PASSPHRASE": None}
    fk("--workspace", str(home), "init", "--passphrase-file", str(secret), *CHEAP_KDF, env=no_env)
    env = {**no_env, "FORGEKEEP_PASSPHRASE_FILE": str(secret)}
    fk("--workspace", str(home), "whoami", env=env).ok()
    fk("--workspace", str(home), "whoami", env={"FORGEKEEP_PASSPHRASE": "from a file"}).ok()
    fk("--workspace", str(home), "whoami").error("FK-KEY-002", 1)  # the test default is wrong


def test_status_and_doctor(fk: InProcess, ws: Path) -> None:
    status = fk("--workspace", str(ws), "--json", "status").json()
    assert status["agent"] == "locked"
    assert (status["projects"], status["assets"], status["sites"]) == (1, 0, ["local-de"])
    checks = fk("--workspace", str(ws), "doctor", "--json").json()
    assert checks
    assert all(c["ok"] for c in checks), checks


@pytest.mark.parametrize("damage", ["keyring missing", "config broken", "site is a file"])
def test_doctor_exits_4_on_problems(fk: InProcess, ws: Path, damage: str) -> None:
    if damage == "keyring missing":
        (ws / "keyring.fk").unlink()
    elif damage == "config broken":
        (ws / "forgekeep.toml").write_text("[workspace\n")
    else:
        shutil.rmtree(ws / "sites" / "local-de")  # it holds the mirrored log already
        (ws / "sites" / "local-de").write_text("not a directory")
    result = fk("--workspace", str(ws), "doctor")
    assert result.code == 4, result
    assert "FAIL" in result.out


# --- passphrases and the keyring ------------------------------------------------------------


@pytest.mark.subprocess
def test_wrong_passphrase(fk_sub: Sub, ws: Path) -> None:
    before = tree_snapshot(ws / "sites")
    result = fk_sub("--workspace", str(ws), "ls", env={"FORGEKEEP_PASSPHRASE": "wrong"})
    result.error("FK-KEY-002", 1)
    assert result.stdout == b""
    assert tree_snapshot(ws / "sites") == before


@pytest.mark.subprocess
def test_locked_keyring_without_a_terminal(fk_sub: Sub, ws: Path) -> None:
    result = fk_sub("--workspace", str(ws), "ls", env={"FORGEKEEP_PASSPHRASE": None})
    message = result.error("FK-KEY-003", 1)
    assert "terminal" in message
    assert "forgekeep unlock" in result.stderr  # the hint names the next command


def test_locked_keyring_in_process(fk: InProcess, ws: Path) -> None:
    fk("--workspace", str(ws), "ls", env={"FORGEKEEP_PASSPHRASE": None}).error("FK-KEY-003", 1)


def _agent_pid(text: str) -> int:
    found = re.search(r"agent pid (\d+)", text)
    assert found is not None, text
    return int(found.group(1))


@contextlib.contextmanager
def _agent_cleanup(fk_sub: Sub, ws: Path) -> Iterator[list[int]]:
    """Whatever happens, no agent outlives the test: `lock`, then SIGTERM the pid we saw."""
    pids: list[int] = []
    try:
        yield pids
    finally:
        fk_sub("--workspace", str(ws), "lock")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


@pytest.mark.subprocess
def test_unlock_then_lock(fk_sub: Sub, fk: InProcess, ws: Path) -> None:
    """The agent is started and stopped by real processes; the commands between run in-process
    (they reach the agent over its socket all the same)."""
    locked = {"FORGEKEEP_PASSPHRASE": None}
    with _agent_cleanup(fk_sub, ws) as pids:
        unlocked = fk_sub("--workspace", str(ws), "unlock", "--ttl", "30").ok()
        pids.append(_agent_pid(unlocked.stderr))
        assert PASSPHRASE not in unlocked.stderr + unlocked.out

        status = fk("--workspace", str(ws), "status", "--json", env=locked).json()
        assert status["agent"]["pid"] == pids[0]
        fk_sub("--workspace", str(ws), "ls", env=locked).ok()  # a fresh process, no passphrase
        path = ws / "hello.txt"
        path.write_bytes(b"through the agent")
        fk("--workspace", str(ws), "put", str(path), "-p", "p1", env=locked).ok()
        out = ws.parent / "back.txt"  # plaintext never goes inside the workspace
        fk("--workspace", str(ws), "get", "hello.txt", "-o", str(out), env=locked).ok()
        assert out.read_bytes() == b"through the agent"

        locked_now = fk_sub("--workspace", str(ws), "lock").ok()
        assert "locked" in locked_now.stderr
        fk("--workspace", str(ws), "ls", env=locked).error("FK-KEY-003", 1)
        deadline = time.monotonic() + 5
        while _alive(pids[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(pids[0]), "the agent still runs after `lock`"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: it answers nothing
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.subprocess
def test_unlock_with_a_wrong_passphrase_leaves_no_agent(fk_sub: Sub, ws: Path) -> None:
    with _agent_cleanup(fk_sub, ws):
        result = fk_sub(
            "--workspace", str(ws), "unlock", "--ttl", "30", env={"FORGEKEEP_PASSPHRASE": "nope"}
        )
        result.error("FK-KEY-002", 1)
        assert agent_status(ws / "keyring.fk") is None


@pytest.mark.parametrize("ttl", ["0", "-5", "15x", "soon"])
def test_unlock_rejects_a_bad_ttl(fk: InProcess, ws: Path, ttl: str) -> None:
    fk("--workspace", str(ws), "unlock", f"--ttl={ttl}").error("FK-USAGE-001", 2)
    assert agent_status(ws / "keyring.fk") is None


def test_lock_without_an_agent(fk: InProcess, ws: Path) -> None:
    result = fk("--workspace", str(ws), "lock").ok()
    assert "no agent was running" in result.stderr


# --- help -----------------------------------------------------------------------------------

COMMANDS = [
    [],
    ["init"],
    ["demo"],
    ["status"],
    ["doctor"],
    ["unlock"],
    ["lock"],
    ["put"],
    ["get"],
    ["ls"],
    ["versions"],
    ["rm"],
    ["fsck"],
    ["projects"],
    ["projects", "create"],
    ["projects", "ls"],
    ["projects", "show"],
    ["projects", "set"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "forgekeep")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(fk: InProcess, command: list[str], flag: str) -> None:
    result = fk(*command, flag).ok()
    assert "Usage:" in result.out
    assert result.stderr == ""


def test_get_help_warns_that_stdout_is_unverified(fk: InProcess) -> None:
    text = " ".join(fk("get", "--help").ok().out.split())
    assert "-o -" in text
    assert re.search(r"UNVERIFIED until the exit code is 0", text, re.IGNORECASE), text


@pytest.mark.subprocess
def test_help_of_the_entry_point(fk_sub: Sub) -> None:
    result = fk_sub("--help").ok()
    for command in ("init", "put", "get", "ls", "versions", "rm", "fsck", "projects", "unlock"):
        assert command in result.out


# --- demo -----------------------------------------------------------------------------------


@pytest.mark.subprocess
def test_demo_end_to_end(fk_sub: Sub, tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    result = fk_sub("demo", "--big-mib", "4", "--keep", str(keep)).ok()
    assert "refused" in result.out
    assert result.out.count("identical: yes") == 3
    assert "identical: NO" not in result.out
    assert "output file: none" in result.out
    assert "site files containing the STEP plaintext marker: 0" in result.out
    assert (keep / "workspace" / "forgekeep.toml").is_file()
    assert (keep / "inputs" / "plc-firmware.bin").stat().st_size == 4 << 20
