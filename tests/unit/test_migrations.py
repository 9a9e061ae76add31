"""The ORM models and the Alembic migrations describe the same schema."""

from __future__ import annotations

from pathlib import Path

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
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace import AdminSpec, init_workspace


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


def test_an_older_workspace_is_upgraded_when_it_is_opened(tmp_path: Path) -> None:

    home = tmp_path / "ws"
    init_workspace(
        home,
        passphrase=b"pw",
        admin=AdminSpec("a", ("DE",), "DE"),
        kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
    )
    engine = make_engine(f"sqlite:///{home / 'forgekeep.db'}")
    command.downgrade(_alembic_config(engine), "0001")
    assert current_revision(engine) == "0001"
    with open_vault(home, passphrase=b"pw") as vault:
        assert vault.whoami().roles == ("admin",)
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()
