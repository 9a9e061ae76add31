"""A PostgreSQL outage mid-run: a clear error, nothing half-committed, then service again.

These tests stop and start the server, so they use a private cluster of their own
(``initdb`` on a free loopback port), never the machine's shared one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.errors import DatabaseUnavailableError
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import DatabaseChoice, InitResult
from forgekeep.testing.postgres import PrivateCluster, fresh_database, initdb_available
from forgekeep.testing.workspaces import new_test_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    if not initdb_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL restart tests: initdb is not installed")
        pytest.skip("initdb is not installed (Debian: postgresql)")
    private = PrivateCluster.start_new()
    try:
        yield private
    finally:
        private.destroy()


@pytest.fixture
def own_workspace(
    cluster: PrivateCluster, tmp_path: Path, clock: ManualClock, passphrase: bytes
) -> Iterator[InitResult]:
    with fresh_database(cluster.admin_url) as url:
        database = DatabaseChoice.choose(url, None)
        created = new_test_workspace(
            tmp_path / "ws", passphrase=passphrase, clock=clock, database=database
        )
        with open_vault(created.home, passphrase=passphrase, clock=clock) as vault:
            vault.projects.create("blade", residency="DE")
        yield created


def test_a_put_in_flight_fails_clearly_and_the_next_one_works(
    cluster: PrivateCluster,
    own_workspace: InitResult,
    clock: ManualClock,
    passphrase: bytes,
    tmp_path: Path,
) -> None:
    source = tmp_path / "big.step"
    source.write_bytes(os.urandom(3 << 20))
    stopped: list[bool] = []

    def stop_once(_done: int) -> None:
        if not stopped:
            stopped.append(True)
            cluster.stop()  # while the upload runs, before its version is committed

    with open_vault(own_workspace.home, passphrase=passphrase, clock=clock) as vault:
        try:
            with pytest.raises(DatabaseUnavailableError, match="unreachable"):
                vault.assets.put(source, project="blade", name="big.step", progress=stop_once)
            with pytest.raises(DatabaseUnavailableError):
                vault.assets.ls()
        finally:
            cluster.start()
        assert vault.assets.ls() == []  # nothing of the failed put is visible
        vault.assets.put(source, project="blade", name="big.step")
        sink = io.BytesIO()
        vault.assets.get("big.step", sink)
        assert sink.getvalue() == source.read_bytes()
        assert [v.number for v in vault.assets.versions("big.step")] == [1]
        assert vault.ledger.verify().size > 0


def test_a_restart_between_requests_is_invisible(
    cluster: PrivateCluster, own_workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    with open_vault(own_workspace.home, passphrase=passphrase, clock=clock) as vault:
        before = vault.ledger.verify().size
        cluster.restart()  # pooled connections are dead now; pre-ping replaces them
        assert vault.ledger.verify().size > before
