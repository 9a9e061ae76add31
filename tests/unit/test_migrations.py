"""The ORM models and the Alembic migrations describe the same schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forgekeep.config import KdfSection
from forgekeep.db.engine import (
    HEAD_REVISION,
    _alembic_config,
    current_revision,
    make_engine,
    migrate,
)
from forgekeep.db.models import Base
from forgekeep.errors import ConflictError, SchemaVersionError
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, DatabaseChoice, init_workspace
from forgekeep.service.workspace.migrate import upgrade_workspace


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_new_database_is_at_the_head_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_0002_upgrades_a_0001_database_with_principals(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    command.upgrade(_alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO tenants (id, name, created_at) VALUES ('t-1', 't-1', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO principals (id, tenant_id, kind, roles, status, subject_ring,"
            " created_at) VALUES ('p-1', 't-1', 'person', '[\"admin\"]', 'active', 'r',"
            " '2026-01-01')"
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT org_id, clearance, trainings, vetting_expires, cert_fingerprints"
            " FROM principals WHERE id = 'p-1'"
        ).one()
    engine.dispose()
    assert tuple(row) == (None, 0, "[]", None, "[]")


REVISIONS = ["0001", "0002", "0003", "0004", "0005"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize("start", [None, *REVISIONS])
def test_every_revision_upgrades_to_head_on_both_databases(
    empty_database: str, start: str | None
) -> None:
    engine = make_engine(empty_database)
    try:
        if start is not None:
            command.upgrade(_alembic_config(engine), start)
            assert current_revision(engine) == start
        migrate(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def _workspace(home: Path, database: DatabaseChoice | None = None) -> None:
    init_workspace(
        home,
        passphrase=b"pw",
        admin=AdminSpec("a", ("DE",), "DE"),
        kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
        database=database,
    )


def test_an_older_workspace_is_refused_until_it_is_migrated(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _workspace(home)
    engine = make_engine(f"sqlite:///{home / 'forgekeep.db'}")
    command.downgrade(_alembic_config(engine), "0001")
    with pytest.raises(SchemaVersionError, match="schema 0001") as refused:
        open_vault(home, passphrase=b"pw")
    assert "forgekeep migrate" in refused.value.diagnostics()
    assert current_revision(engine) == "0001"  # opening never migrates
    result = upgrade_workspace(home)
    assert (result.from_revision, result.to_revision, result.changed) == (
        "0001",
        HEAD_REVISION,
        True,
    )
    assert not upgrade_workspace(home).changed  # idempotent
    with open_vault(home, passphrase=b"pw") as vault:
        assert vault.principals.whoami().roles == ("admin",)
    with engine.connect() as conn:
        actions = [row[0] for row in conn.exec_driver_sql("SELECT action FROM events")]
    engine.dispose()
    assert actions[-1] == "workspace.migrate"


def test_a_newer_database_is_refused_and_not_touched(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _workspace(home)
    engine = make_engine(f"sqlite:///{home / 'forgekeep.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaVersionError, match="newer than this forgekeep"):
        open_vault(home, passphrase=b"pw")
    with pytest.raises(SchemaVersionError, match="newer"):
        upgrade_workspace(home)
    assert current_revision(engine) == "9999"
    engine.dispose()


@pytest.mark.postgres
def test_init_refuses_a_database_that_holds_data(tmp_path: Path, postgres_url: str) -> None:
    _workspace(tmp_path / "one", DatabaseChoice.choose(postgres_url, None))
    with pytest.raises(ConflictError, match="already holds"):
        _workspace(tmp_path / "two", DatabaseChoice.choose(postgres_url, None))
    assert not (tmp_path / "two").exists()  # refused before anything was written
