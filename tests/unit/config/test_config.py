"""Workspace settings: file, environment overrides, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgekeep.config import (
    load_settings,
    read_secret_env,
    read_secret_file,
    resolve_home,
)
from forgekeep.errors import ConfigError, LimitExceededError, WorkspaceError
from forgekeep.limits import MAX_CONFIG_BYTES, MAX_PASSPHRASE_BYTES
from forgekeep.service.wiring import database_url

GOOD = """
[workspace]
tenant = "t-1"
principal = "p-1"
[keys]
uri = "local:keyring.fk"
[[sites]]
name = "local-de"
jurisdiction = "DE"
uri = "file:sites/local-de"
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "forgekeep.toml").write_text(text)
    return tmp_path


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.workspace.tenant == "t-1"
    assert (settings.database.url, settings.database.url_file) == (None, None)
    default = database_url(tmp_path, settings)  # SQLite in the workspace
    assert (default.kind, default.url.database) == ("sqlite", str(tmp_path / "forgekeep.db"))
    assert settings.keys.kdf.memory_kib == 65536
    assert settings.uploads.orphan_grace_seconds == 86400


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORGEKEEP_UPLOADS__ORPHAN_GRACE_SECONDS", "60")
    assert load_settings(_write(tmp_path, GOOD)).uploads.orphan_grace_seconds == 60


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("not = [valid", ConfigError),
        (GOOD + "\n[surprise]\nx = 1\n", ConfigError),
        (GOOD.replace('name = "local-de"', 'name = "Local DE"'), ConfigError),
        (GOOD.replace('[keys]\nuri = "local:keyring.fk"', ""), ConfigError),
        (GOOD + "\n[ledger]\nmax_uncovered_seconds = -1\n", ConfigError),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_settings(_write(tmp_path, text))


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError):
        load_settings(tmp_path)
    with pytest.raises(LimitExceededError):
        load_settings(_write(tmp_path, "#" * (MAX_CONFIG_BYTES + 1)))


def test_resolve_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORGEKEEP_HOME", raising=False)
    with pytest.raises(WorkspaceError):
        resolve_home(None)
    monkeypatch.setenv("FORGEKEEP_HOME", str(tmp_path))
    assert resolve_home(None) == tmp_path.resolve()
    assert resolve_home(tmp_path / "x") == (tmp_path / "x").resolve()


def test_secrets_from_env_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FK_TEST_SECRET", raising=False)
    monkeypatch.delenv("FK_TEST_SECRET_FILE", raising=False)
    assert read_secret_env("FK_TEST_SECRET") is None
    secret = tmp_path / "s"
    secret.write_bytes(b"from-file\n")
    monkeypatch.setenv("FK_TEST_SECRET_FILE", str(secret))
    assert read_secret_env("FK_TEST_SECRET") == b"from-file"
    monkeypatch.setenv("FK_TEST_SECRET", "direct")
    assert read_secret_env("FK_TEST_SECRET") == b"direct"
    monkeypatch.setenv("FK_TEST_SECRET", "")
    with pytest.raises(ConfigError):
        read_secret_env("FK_TEST_SECRET")
    secret.write_bytes(b"x" * (MAX_PASSPHRASE_BYTES + 1))
    with pytest.raises(LimitExceededError):
        read_secret_file(secret, "passphrase")
    with pytest.raises(ConfigError):
        read_secret_file(tmp_path / "absent", "passphrase")


@pytest.mark.parametrize(
    "name",
    [
        "FORGEKEEP_WORKSPACE__PRINCIPAL",
        "FORGEKEEP_WORKSPACE__TENANT",
        "FORGEKEEP_KEYS__URI",
        "FORGEKEEP_LEDGER__MAX_UNCOVERED_SECONDS",  # loosening it would hide a rewritten tail
    ],
)
def test_identity_and_keys_cannot_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "p-000000000000000000000000")
    with pytest.raises(ConfigError):
        load_settings(_write(tmp_path, GOOD))
