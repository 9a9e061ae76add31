"""``init --database-url``, ``migrate``, ``migrate --to-database`` and bad database settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from pathlib import Path

import pytest
from alembic import command
from fk_cli_harness import CHEAP_KDF, InProcess

from forgekeep.db.engine import HEAD_REVISION, _alembic_config, current_revision, make_engine
from forgekeep.testing.vetting import ISSUER


def _init(fk: InProcess, home: Path, *extra: str) -> str:
    created = fk("--json", "--workspace", str(home), "init", *CHEAP_KDF, *extra).json()
    principal = str(created["principal_id"])
    record = home.parent / f"vetting-{principal}.json"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    record.write_bytes(ISSUER.record(principal, now=now, clearance=3))
    fk("--workspace", str(home), "principals", "vet", str(record)).ok()
    fk("--workspace", str(home), "projects", "create", "p1", "--residency", "DE").ok()
    return principal


def _put_and_read(fk: InProcess, home: Path, tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "part.step"
    source.write_bytes(content)
    fk("--workspace", str(home), "put", str(source), "--project", "p1").ok()
    fk("--workspace", str(home), "get", "part.step", "-o", str(tmp_path / "copy.step")).ok()
    assert (tmp_path / "copy.step").read_bytes() == content


@pytest.mark.postgres
def test_init_with_a_postgresql_url(fk: InProcess, tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "ws"
    _init(fk, home, "--database-url", postgres_url)
    config = tomllib.loads((home / "forgekeep.toml").read_text())
    assert config["database"] == {"url": postgres_url}
    assert not (home / "forgekeep.db").exists()
    _put_and_read(fk, home, tmp_path, b"on postgres")
    assert "ok   database" in fk("--workspace", str(home), "doctor").ok().out
    fk("--workspace", str(home), "ledger", "verify").ok()


@pytest.mark.postgres
def test_init_with_a_url_file(fk: InProcess, tmp_path: Path, postgres_url: str) -> None:
    secret = tmp_path / "db.url"
    secret.write_text(postgres_url + "\n")
    secret.chmod(0o644)
    home = tmp_path / "ws"
    refused = fk("--workspace", str(home), "init", *CHEAP_KDF, "--database-url-file", str(secret))
    assert "may be read by other users" in refused.error("FK-CONFIG-001", 1)
    assert not (home / "forgekeep.toml").exists()
    secret.chmod(0o600)
    _init(fk, home, "--database-url-file", str(secret))
    config = tomllib.loads((home / "forgekeep.toml").read_text())
    assert config["database"] == {"url_file": str(secret)}
    _put_and_read(fk, home, tmp_path, b"url from a file")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@127.0.0.1/forgekeep", "scheme 'mysql' is not supported"),
        ("postgresql+psycopg://u:hunter2@127.0.0.1/fk", "carries a password inline"),
        ("postgresql+psycopg://u@127.0.0.1", "names no database"),
        ("not a url", "not a URL"),
    ],
)
def test_bad_database_urls_are_refused_before_anything_is_made(
    fk: InProcess, tmp_path: Path, url: str, message: str
) -> None:
    home = tmp_path / "ws"
    refused = fk("--workspace", str(home), "init", *CHEAP_KDF, "--database-url", url)
    assert message in refused.error("FK-CONFIG-001", 1)
    assert "hunter2" not in refused.stderr
    assert not home.exists()


def test_a_config_with_an_inline_password_is_refused(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _init(fk, home)
    config = home / "forgekeep.toml"
    text = config.read_text().replace(
        'url = "sqlite:///forgekeep.db"', 'url = "postgresql://fk:hunter2@127.0.0.1:5432/fk"'
    )
    config.write_text(text)
    refused = fk("--workspace", str(home), "ls")
    assert "password inline" in refused.error("FK-CONFIG-001", 1)
    assert "hunter2" not in refused.stderr


def test_an_older_schema_is_refused_until_migrate(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _init(fk, home)
    engine = make_engine(f"sqlite:///{home / 'forgekeep.db'}")
    command.downgrade(_alembic_config(engine), "0003")
    refused = fk("--workspace", str(home), "ls")
    assert "schema 0003" in refused.error("FK-DB-002", 1)
    assert "forgekeep migrate" in refused.stderr
    assert current_revision(engine) == "0003"
    migrated = fk("--workspace", str(home), "migrate").ok()
    assert f"schema 0003 -> {HEAD_REVISION}" in migrated.stderr
    assert "up to date" in fk("--workspace", str(home), "migrate").ok().stderr
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()
    fk("--workspace", str(home), "ls").ok()


@pytest.mark.postgres
def test_migrate_to_postgresql_copies_and_verifies(
    fk: InProcess, tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "ws"
    _init(fk, home)
    _put_and_read(fk, home, tmp_path, b"first version")
    _put_and_read(fk, home, tmp_path, b"second version")
    sqlite_file = home / "forgekeep.db"
    before = hashlib.sha256(sqlite_file.read_bytes()).hexdigest()
    moved = fk("--json", "--workspace", str(home), "migrate", "--to-database", postgres_url).json()
    assert moved["database"] == postgres_url
    assert moved["rows"] > 0
    assert moved["log_size"] > 0
    config = tomllib.loads((home / "forgekeep.toml").read_text())
    assert config["database"] == {"url": postgres_url}
    assert hashlib.sha256(sqlite_file.read_bytes()).hexdigest() == before  # kept as it was
    versions = fk("--json", "--workspace", str(home), "versions", "part.step").json()
    assert [v["number"] for v in versions] == [1, 2]
    _put_and_read(fk, home, tmp_path, b"third version, on postgres")
    fk("--workspace", str(home), "ledger", "verify").ok()


@pytest.mark.postgres
def test_migrate_refuses_a_target_that_holds_tables(
    fk: InProcess, tmp_path: Path, postgres_url: str
) -> None:
    _init(fk, tmp_path / "first", "--database-url", postgres_url)
    home = tmp_path / "ws"
    _init(fk, home)
    original = (home / "forgekeep.toml").read_text()
    refused = fk("--workspace", str(home), "migrate", "--to-database", postgres_url)
    assert "already holds tables" in refused.error("FK-CONFLICT-001", 1)
    assert (home / "forgekeep.toml").read_text() == original
    fk("--workspace", str(home), "ls").ok()


def test_the_url_file_variable_may_not_point_elsewhere(fk: InProcess, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _init(fk, home)
    elsewhere = tmp_path / "other.url"
    elsewhere.write_text("postgresql+psycopg://fk:hunter2@127.0.0.1:5432/other\n")
    elsewhere.chmod(0o600)
    refused = fk(
        "--workspace", str(home), "ls", env={"FORGEKEEP_DATABASE__URL_FILE": str(elsewhere)}
    )
    assert "names another database" in refused.error("FK-CONFIG-001", 1)
    assert "hunter2" not in refused.stderr


@pytest.mark.postgres
def test_the_url_file_variable_delivers_the_password(
    fk: InProcess, tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "ws"
    _init(fk, home, "--database-url", postgres_url)
    secret = tmp_path / "db.url"
    secret.write_text(postgres_url + "\n")  # the tests' server trusts loopback: no password
    secret.chmod(0o600)
    listed = fk("--workspace", str(home), "ls", env={"FORGEKEEP_DATABASE__URL_FILE": str(secret)})
    listed.ok()
