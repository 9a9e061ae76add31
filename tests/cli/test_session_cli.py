"""``login --token``, ``logout`` and ``profiles ls|use``: tokens only in a 0600 credentials file."""

from __future__ import annotations

import io
import os
import stat
import sys
import tomllib
from pathlib import Path

import pytest
from fk_cli_harness import InProcess

from forgekeep import client_config
from forgekeep.client_config import Profile
from forgekeep.errors import ConfigError, InvalidNameError, LimitExceededError
from forgekeep.limits import MAX_CLIENT_CONFIG_BYTES

CONFIG = "config.toml"
CREDENTIALS = "credentials"


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root))
    return root / "forgekeep"


def _token(fk: InProcess, ws: Path, scope: str = "admin") -> str:
    made = fk(
        "--workspace", str(ws), "tokens", "create", "--label", "t", "--scope", scope, "--json"
    )
    return str(made.json()["token"])


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_login_with_env_stores_the_token_privately(fk: InProcess, ws: Path, cfg: Path) -> None:
    text = _token(fk, ws)
    done = fk("--workspace", str(ws), "login", "--token", "--json", env={"FORGEKEEP_TOKEN": text})
    result = done.json()
    assert result["profile"] == "ws"
    assert result["scopes"] == ["admin"]
    assert text not in done.out
    assert text not in done.stderr

    credentials = cfg / CREDENTIALS
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert tomllib.loads(credentials.read_text())["profiles"]["ws"]["token"] == text
    config = (cfg / CONFIG).read_text()
    assert text not in config
    assert tomllib.loads(config) == {"active": "ws", "profiles": {"ws": {"workspace": str(ws)}}}

    # The active profile now names the workspace and supplies the token.
    listed = fk("ls", "--json")
    listed.ok()
    (row,) = fk("tokens", "ls", "--json").json()
    assert row["last_used_at"] is not None

    profiles = fk("profiles", "ls")
    profiles.ok()
    assert "*" in profiles.out
    assert text not in profiles.out
    assert fk("profiles", "ls", "--json").json()[0]["logged_in"] is True


def test_login_from_stdin_and_token_file(
    fk: InProcess, ws: Path, cfg: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = _token(fk, ws, scope="read")
    _stdin(monkeypatch, (text + "\n").encode())
    fk("--workspace", str(ws), "login", "--token", "--profile", "piped").ok()
    assert "piped" in (cfg / CREDENTIALS).read_text()

    token_file = tmp_path / "token"
    token_file.write_text(text + "\n")
    _stdin(monkeypatch, b"")
    fk(
        "--workspace", str(ws), "login", "--token", "--profile", "filed",
        env={"FORGEKEEP_TOKEN_FILE": str(token_file)},
    ).ok()  # fmt: skip
    names = [p["name"] for p in fk("profiles", "ls", "--json").json()]
    assert names == ["filed", "piped"]


def test_login_never_takes_the_token_from_argv(
    fk: InProcess, ws: Path, cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _token(fk, ws)
    _stdin(monkeypatch, b"")
    refused = fk("--workspace", str(ws), "login", "--token", text)
    refused.error("FK-USAGE-001", 2)
    assert text not in refused.stderr
    fk("--workspace", str(ws), "login", "--token").error("FK-USAGE-003", 2)
    assert not (cfg / CREDENTIALS).exists()


def test_a_bad_token_is_not_stored(
    fk: InProcess, ws: Path, cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, b"fkt_0123456789abcdef_" + b"A" * 43 + b"\n")
    fk("--workspace", str(ws), "login", "--token").error("FK-AUTHZ-002", 3)
    _stdin(monkeypatch, b"not a token\n")
    fk("--workspace", str(ws), "login", "--token").error("FK-AUTHZ-002", 3)
    assert not (cfg / CREDENTIALS).exists()
    assert not (cfg / CONFIG).exists()


def test_credentials_readable_by_others_are_refused(fk: InProcess, ws: Path, cfg: Path) -> None:
    text = _token(fk, ws)
    fk("--workspace", str(ws), "login", "--token", env={"FORGEKEEP_TOKEN": text}).ok()
    os.chmod(cfg / CREDENTIALS, 0o644)  # noqa: PTH101 (the test sets a bad mode on purpose)
    message = fk("profiles", "ls").error("FK-CONFIG-001", 1)
    assert "readable by others" in message
    assert "chmod 600" in fk("ls").stderr
    os.chmod(cfg / CREDENTIALS, 0o600)  # noqa: PTH101
    fk("profiles", "ls").ok()


def test_logout_removes_the_token(fk: InProcess, ws: Path, cfg: Path) -> None:
    text = _token(fk, ws)
    fk("--workspace", str(ws), "login", "--token", env={"FORGEKEEP_TOKEN": text}).ok()
    assert fk("logout", "--json").json() == {"profile": "ws", "removed": True}
    assert text not in (cfg / CREDENTIALS).read_text()
    assert fk("profiles", "ls", "--json").json()[0]["logged_in"] is False
    assert fk("logout", "--profile", "ws", "--json").json()["removed"] is False
    # Without a stored token the workspace's own principal acts again (no token used).
    fk("ls").ok()


def test_profiles_use_and_server_profiles(fk: InProcess, ws: Path, cfg: Path) -> None:
    text = _token(fk, ws)
    env = {"FORGEKEEP_TOKEN": text}
    fk("--workspace", str(ws), "login", "--token", "--profile", "one", env=env).ok()
    fk("--workspace", str(ws), "login", "--token", "--profile", "two", env=env).ok()
    config = cfg / CONFIG
    config.write_text(
        config.read_text()
        + '\n[profiles.prod]\nserver = "https://vault.example"\ntenant = "acme"\n'
    )
    active = {p["name"]: p["active"] for p in fk("profiles", "ls", "--json").json()}
    assert active == {"one": False, "prod": False, "two": True}
    fk("profiles", "use", "one").ok()
    rows = {p["name"]: p for p in fk("profiles", "ls", "--json").json()}
    assert rows["one"]["active"] is True
    assert rows["prod"]["mode"] == "server"
    assert rows["prod"]["server"] == "https://vault.example"
    assert "https://vault.example" in fk("profiles", "ls").out
    fk("profiles", "use", "nope").error("FK-NOTFOUND-001", 1)

    message = fk("--profile", "prod", "login", "--token", env=env).error("FK-USAGE-001", 2)
    assert "server" in message
    message = fk("--workspace", str(ws), "login", "--oidc").error("FK-USAGE-001", 2)
    assert "server" in message.lower()
    fk("--profile", "prod", "ls").error("FK-USAGE-001", 2)


def test_config_files_are_bounded_and_strict(cfg: Path) -> None:
    client_config.put_profile(Profile("team.a-1", workspace=Path('/w/x y"z')), activate=True)
    loaded = client_config.load_config()
    assert loaded.active == "team.a-1"
    assert loaded.profiles["team.a-1"].workspace == Path('/w/x y"z')
    client_config.store_token("team.a-1", "fkt_x")
    assert client_config.stored_token("team.a-1") == "fkt_x"
    assert stat.S_IMODE((cfg / CREDENTIALS).stat().st_mode) == 0o600

    (cfg / CREDENTIALS).write_bytes(b"#" * (MAX_CLIENT_CONFIG_BYTES + 1))
    with pytest.raises(LimitExceededError):
        client_config.load_credentials()
    (cfg / CREDENTIALS).unlink()
    (cfg / CREDENTIALS).symlink_to(cfg / CONFIG)
    with pytest.raises(ConfigError):
        client_config.load_credentials()

    (cfg / CONFIG).write_text('[profiles.p]\nworkspace = "/w"\ntoken = "fkt_leak"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        client_config.load_config()
    (cfg / CONFIG).write_text('[profiles.p]\nworkspace = "/w"\nserver = "https://s"\n')
    with pytest.raises(ConfigError, match="exactly one"):
        client_config.load_config()
    with pytest.raises(InvalidNameError):
        client_config.validate_profile_name("../etc")
