"""Shared fixtures: a fresh embedded workspace with cheap KDF parameters."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import DatabaseChoice, InitResult
from forgekeep.testing.postgres import (
    CleanDatabases,
    fresh_database,
    migrated_template,
    server_url,
)
from forgekeep.testing.vetting import ISSUER
from forgekeep.testing.workspaces import new_test_workspace

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def clock() -> ManualClock:
    # Starts at the real time: blob stores stamp files with the real clock.
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """An admin URL of a PostgreSQL server (the machine's, or a private cluster).

    Missing, it fails the test under CI and skips it (with the reason) elsewhere.
    """
    url = server_url()
    if url is None:
        problem = "no PostgreSQL at 127.0.0.1:5432 and no initdb to start one"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {problem}")
        pytest.skip(problem)
    return url


@pytest.fixture(scope="session")
def clean_databases(postgres_server: str) -> Iterator[CleanDatabases]:
    pool = CleanDatabases(postgres_server, migrated_template(postgres_server))
    yield pool
    pool.drop_all()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test, dropped after it."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture
def postgres_schema_url(clean_databases: CleanDatabases) -> Iterator[str]:
    """A PostgreSQL database at the head schema with no rows, emptied again after the test."""
    with clean_databases.database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> DatabaseChoice:
    """Every workspace-based test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return DatabaseChoice()
    return DatabaseChoice.choose(request.getfixturevalue("postgres_schema_url"), None)


@pytest.fixture
def unvetted_workspace(tmp_path: Path, clock: ManualClock, database: DatabaseChoice) -> InitResult:
    """A new workspace whose admin has no vetting record yet."""
    return new_test_workspace(
        tmp_path / "ws", passphrase=PASSPHRASE, clock=clock, database=database, vetted=False
    )


@pytest.fixture
def workspace(unvetted_workspace: InitResult, clock: ManualClock) -> InitResult:
    """A new workspace whose admin (DE, clearance 3) is vetted for a year."""
    with open_vault(unvetted_workspace.home, passphrase=PASSPHRASE, clock=clock) as opened:
        ISSUER.vet(opened, unvetted_workspace.principal_id, clock)
    return unvetted_workspace


@pytest.fixture
def vault(workspace: InitResult, clock: ManualClock) -> Iterator[Vault]:
    with open_vault(workspace.home, passphrase=PASSPHRASE, clock=clock) as opened:
        opened.projects.create("blade", residency="DE")
        yield opened


@pytest.fixture
def passphrase() -> bytes:
    return PASSPHRASE
