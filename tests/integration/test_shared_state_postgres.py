"""Legal holds, witnesses and upload leases on PostgreSQL, where row locks do the serializing.

Each test gets its own database on the tests' PostgreSQL (see ``tests/conftest.py``),
and a workspace made on it by ``init``. Without a server the tests fail in CI and
skip elsewhere.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import encode_vkey, generate_signer
from forgekeep.db.engine import HEAD_REVISION, _alembic_config, current_revision, make_engine
from forgekeep.db.engine import migrate as migrate_db
from forgekeep.db.state import LegalHold, UploadLease
from forgekeep.errors import ConflictError, LegalHoldError
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.service.assets import leases as _leases
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import database_url, open_vault
from forgekeep.service.workspace.create import DatabaseChoice, InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.pki import TestCA
from forgekeep.testing.vetting import ISSUER
from forgekeep.testing.workspaces import new_test_workspace

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """A fresh, empty database, dropped afterwards."""
    return postgres_url


@pytest.fixture
def pg_workspace(
    tmp_path: Path, clock: ManualClock, passphrase: bytes, postgres_schema_url: str
) -> InitResult:
    """A vetted test workspace whose metadata is on PostgreSQL."""
    database = DatabaseChoice.choose(postgres_schema_url, None)
    return new_test_workspace(
        tmp_path / "ws", passphrase=passphrase, clock=clock, database=database
    )


@pytest.fixture
def pg_vault(pg_workspace: InitResult, clock: ManualClock, passphrase: bytes) -> Iterator[Vault]:
    with open_vault(pg_workspace.home, passphrase=passphrase, clock=clock) as opened:
        assert context_of(opened).sessions.kw["bind"].dialect.name == "postgresql"
        yield opened


def test_migration_0005_upgrades_and_downgrades_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        command.upgrade(_alembic_config(engine), "0004")
        migrate_db(engine)
        assert current_revision(engine) == HEAD_REVISION == "0005"
        command.downgrade(_alembic_config(engine), "0004")
        assert current_revision(engine) == "0004"
        migrate_db(engine)
        assert current_revision(engine) == "0005"
    finally:
        engine.dispose()


def _person(vault: Vault, name: str, role: str) -> str:
    return vault.principals.add_person(
        org="home", display_name=name, citizenships=["DE"], location="DE", roles=[role]
    ).id


def _blocked(action: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``action`` in a thread; return it and the list its exception lands in."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_holds_and_erasure_serialize_on_the_principals_row(
    pg_vault: Vault, clock: ManualClock
) -> None:
    vault = pg_vault
    eve = _person(vault, "Eve Example", "writer")
    bob = _person(vault, "Bob Approver", "approver")
    bob_key = generate_signer("bob")
    for pid in (eve, bob):
        ISSUER.vet(vault, pid, clock)
    vault.principals.set_signing_key(bob, encode_vkey(bob_key.verifier))

    # Lifting needs someone else's signed approval, on PostgreSQL as on SQLite.
    vault.holds.set(eve, until=clock.now() + dt.timedelta(days=9), reason="case 1")
    lift = vault.holds.request_release(eve, reason="closed").id
    vault.approvals.approve(lift, bob_key)
    assert vault.holds.release(lift).released

    # A writer holding the principal's row lock (as an erasure does) makes a hold wait,
    # and the hold then sees what that transaction committed.
    raw = make_engine(database_url(context_of(pg_vault).home, context_of(pg_vault).settings))
    try:
        with raw.connect() as conn:
            conn.execute(text("SELECT id FROM principals WHERE id = :p FOR UPDATE"), {"p": eve})
            conn.execute(text("UPDATE principals SET status = 'erased' WHERE id = :p"), {"p": eve})
            until = clock.now() + dt.timedelta(days=3)
            thread, errors = _blocked(lambda: vault.holds.set(eve, until=until, reason="x"))
            thread.join(1.0)
            assert thread.is_alive(), "the hold must wait for the row lock"
            conn.commit()
        thread.join(30)
        assert len(errors) == 1
        assert isinstance(errors[0], ConflictError)
        assert "erased already" in str(errors[0])
    finally:
        raw.dispose()


def test_a_hold_committed_while_an_erasure_waits_is_seen(
    pg_vault: Vault, clock: ManualClock
) -> None:
    vault = pg_vault
    zed = _person(vault, "Zed Zweit", "admin")
    eve = _person(vault, "Eve Example", "writer")
    keys = {p: generate_signer(p) for p in (_person(vault, n, "approver") for n in "BC")}
    for pid in [zed, eve, *keys]:
        ISSUER.vet(vault, pid, clock)
    for pid, key in keys.items():
        vault.principals.set_signing_key(pid, encode_vkey(key.verifier))
    with open_vault(context_of(vault).home, passphrase=b"correct horse battery staple",
                    principal=zed, clock=clock) as other:  # fmt: skip
        approval = other.erasure.request(eve, reason="leaver").id
        for key in keys.values():
            vault.approvals.approve(approval, key)
        raw = make_engine(database_url(context_of(pg_vault).home, context_of(pg_vault).settings))
        try:
            with raw.connect() as conn:  # a concurrent hold, mid-transaction
                conn.execute(text("SELECT id FROM principals WHERE id = :p FOR UPDATE"), {"p": eve})
                tenant = context_of(vault).tenant_id
                conn.execute(
                    insert(LegalHold.__table__).values(
                        tenant_id=tenant, principal_id=eve, reason="case 2", set_by=zed,
                        until=clock.now() + dt.timedelta(days=1), set_at=clock.now(),
                    )
                )  # fmt: skip
                thread, errors = _blocked(lambda: other.erasure.erase(approval))
                thread.join(1.0)
                assert thread.is_alive(), "the erasure must wait for the row lock"
                conn.commit()
            thread.join(30)
        finally:
            raw.dispose()
        assert len(errors) == 1
        assert isinstance(errors[0], LegalHoldError)
        assert vault.principals.show(eve).attributes["display_name"] == "Eve Example"


def test_witnesses_and_leases_on_postgres(
    pg_vault: Vault, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = TestCA(tmp_path / "ca")
    vkey = encode_cosigner_vkey(CosignerKey("w.example/w1", bytes(32)).verifier)
    pg_vault.witnesses.add("w1", url="https://w1.example", vkey=vkey, cacert=ca.cert_path)
    with pytest.raises(ConflictError):
        pg_vault.witnesses.add("w1", url="https://w1.example", vkey=vkey, cacert=ca.cert_path)
    ((witness, status),) = pg_vault.witnesses.ls()
    assert (witness.name, status.last_size, witness.cacert_pem) == (
        "w1", 0, ca.cert_path.read_text()
    )  # fmt: skip
    pg_vault.witnesses.rm("w1")
    assert pg_vault.witnesses.ls() == []

    ctx, version = context_of(pg_vault), "ab" * 16
    with _leases.upload_lease(ctx, version) as lease:
        monkeypatch.setattr(_leases, "_host", lambda: "elsewhere")  # no pid to probe
        assert _leases.take_over(ctx, version) is None  # not expired
        clock.advance(dt.timedelta(minutes=5))
        fsck = _leases.take_over(ctx, version)
        assert fsck is not None
        with ctx.sessions() as session, pytest.raises(ConflictError):
            lease.check(session)
        _leases.release(ctx, version, fsck)
    with ctx.sessions() as session:
        assert session.scalars(select(UploadLease)).all() == []
    pg_vault.projects.create("blade", residency="DE")
    put = pg_vault.assets.put(io.BytesIO(b"on postgres"), project="blade", name="pg.bin")
    assert put.version == 1


def test_racing_claims_of_one_lease_leave_exactly_one_owner(pg_vault: Vault) -> None:
    ctx, version, ready = context_of(pg_vault), "cd" * 16, threading.Barrier(8)
    owners: list[str | None] = []

    def claim() -> None:
        ready.wait(10)
        owners.append(_leases.take_over(ctx, version))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [owner for owner in owners if owner is not None]
    assert len(owners) == 8
    assert len(winners) == 1
    with ctx.sessions() as session:
        row = session.get(UploadLease, version)
    assert row is not None
    assert row.owner == winners[0]
