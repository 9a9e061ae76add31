"""The transparency log over the journal: checkpoints, proofs, receipts and tampering.

Each tamper case edits the database the way an operator could, and ``ledger
verify`` (re-hashing everything) or a checkpoint kept elsewhere must catch it.
"""

from __future__ import annotations

import io
import json
import shutil

import pytest
from sqlalchemy import delete, select, update

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import generate_signer, parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash, LedgerKey
from forgekeep.db.models import Event
from forgekeep.errors import CheckpointError, ForkError, JournalError, ProofError
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.checkpoint import verify_checkpoint
from forgekeep.ledger.journal import JournalEvent, Outcome
from forgekeep.ledger.tlog_proof import verify_proof_file
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing import rawdb
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER


@pytest.fixture
def busy(vault: Vault) -> Vault:
    for i in range(5):
        vault.assets.put(io.BytesIO(b"part %d" % i), project="blade", name=f"part-{i}.step")
    vault.assets.get("part-1.step", io.BytesIO())
    return vault


def _indexes(vault: Vault) -> list[int | None]:
    with context_of(vault).sessions() as session:
        return list(session.scalars(select(Event.log_index).order_by(Event.seq)))


def test_every_event_is_a_leaf_and_the_log_verifies(busy: Vault) -> None:
    indexes = _indexes(busy)
    assert indexes == list(range(len(indexes)))
    report = busy.ledger.verify()
    assert report.size == len(indexes)
    key = parse_vkey(busy.ledger.key())
    assert key.name == f"forgekeep/{busy.tenant_id}"
    signed = busy.ledger.checkpoint()
    checked = verify_checkpoint(signed.note, key).checkpoint
    assert (checked.size, checked.root_hash) == (signed.size, signed.root)


def test_inclusion_and_consistency_proofs_verify(busy: Vault) -> None:
    key = parse_vkey(busy.ledger.key())
    first = busy.ledger.checkpoint()
    entry = busy.ledger.entry(3)
    assert json.loads(entry)["v"] == 1
    proof = busy.ledger.prove_inclusion(3).proof
    verified = verify_proof_file(proof, key)
    assert (verified.index, verified.entry) == (3, entry)
    later = busy.ledger.checkpoint()
    consistency = busy.ledger.prove_consistency(first.size, later.size)
    merkle.verify_consistency(first.size, later.size, consistency, first.root, later.root)
    with pytest.raises(ProofError):
        verify_proof_file(proof.replace(b"index 3", b"index 4"), key)
    with pytest.raises(CheckpointError):
        verify_proof_file(proof, generate_signer(key.name).verifier)  # same name, other key


def test_a_receipt_proves_the_read_decision(busy: Vault) -> None:
    result = busy.assets.get("part-2.step", io.BytesIO(), receipt=True)
    assert result.receipt is not None
    verified = verify_proof_file(result.receipt, parse_vkey(busy.ledger.key()))
    decision = json.loads(verified.entry)
    assert (decision["action"], decision["request"]) == ("asset.get", result.request_id)
    assert decision["detail"]["phase"] == "decision"


def _tamper(vault: Vault, *statements: object) -> None:
    with context_of(vault).sessions() as session:
        for statement in statements:
            session.execute(statement)  # type: ignore[call-overload]
        session.commit()


def _entry(vault: Vault, index: int) -> bytes:
    with context_of(vault).sessions() as session:
        found = session.scalar(select(Event.entry).where(Event.log_index == index))
    assert found is not None
    return bytes(found)


def test_one_changed_byte_in_an_entry_is_caught(busy: Vault) -> None:
    original = _entry(busy, 2)
    changed = original.replace(b'"ok"', b'"OK"', 1)
    assert changed != original
    _tamper(busy, update(Event).where(Event.log_index == 2).values(entry=changed))
    with pytest.raises(ProofError):
        busy.ledger.verify()


def test_a_deleted_entry_is_caught(busy: Vault) -> None:
    _tamper(busy, delete(Event).where(Event.log_index == 4))
    with pytest.raises(ProofError):
        busy.ledger.verify()


def test_two_swapped_entries_are_caught(busy: Vault) -> None:
    one, two = _entry(busy, 1), _entry(busy, 2)
    _tamper(
        busy,
        update(Event).where(Event.log_index == 1).values(entry=two),
        update(Event).where(Event.log_index == 2).values(entry=one),
    )
    with pytest.raises(ProofError):
        busy.ledger.verify()


def test_a_rebuilt_history_needs_the_trusted_checkpoint_to_be_caught(busy: Vault) -> None:
    trusted = busy.ledger.checkpoint().note  # an auditor keeps this copy
    tenant = busy.tenant_id
    forged = _entry(busy, 1).replace(b'"ok"', b'"OK"', 1)
    with context_of(busy).sessions() as session:
        size = log.log_size(session, tenant)
        leaves = [
            forged if i == 1 else bytes(e)
            for i, e in enumerate(log.entries(session, tenant, 0, size))
        ]
    rebuilt = audit.rebuild(leaves)
    stored = rebuilt.read_hashes(range(merkle.stored_hash_count(size)))
    _tamper(
        busy,
        update(Event).where(Event.log_index == 1).values(entry=forged),
        delete(LedgerHash).where(LedgerHash.tenant_id == tenant),
        delete(CheckpointRow).where(CheckpointRow.tenant_id == tenant),
    )
    with context_of(busy).sessions() as session:
        session.add_all(LedgerHash(tenant_id=tenant, idx=i, hash=h) for i, h in enumerate(stored))
        session.commit()
    with pytest.raises(ForkError, match="rewritten"):
        busy.ledger.verify()  # the checkpoints and tiles mirrored on the site catch it…
    shutil.rmtree(context_of(busy).home / "sites" / "local-de" / "ledger")  # …so drop them too
    busy.ledger.verify()  # a consistent-looking new tree now passes on its own…
    with pytest.raises(ForkError, match="rewritten"):
        busy.ledger.verify(trusted_checkpoint=trusted)  # …but not against a kept checkpoint


def test_a_rollback_is_caught_by_the_trusted_checkpoint(busy: Vault) -> None:
    early = busy.ledger.checkpoint()
    busy.assets.put(io.BytesIO(b"later"), project="blade", name="later.step")
    trusted = busy.ledger.checkpoint().note
    tenant = busy.tenant_id
    keep = merkle.stored_hash_count(early.size)
    _tamper(
        busy,
        delete(Event).where(Event.log_index >= early.size),
        delete(LedgerHash).where(LedgerHash.tenant_id == tenant, LedgerHash.idx >= keep),
        delete(CheckpointRow).where(CheckpointRow.size > early.size),
    )
    with pytest.raises(ForkError, match="rolled back"):
        busy.ledger.verify(trusted_checkpoint=trusted)


def test_entries_past_the_end_and_extra_hashes_are_caught(busy: Vault) -> None:
    tenant = busy.tenant_id
    with context_of(busy).sessions() as session:
        size = log.log_size(session, tenant)
        with pytest.raises(ProofError, match="missing"):
            list(log.entries(session, tenant, 0, size + 1))
    _tamper(busy, delete(Event).where(Event.log_index == size - 1))  # the newest entry
    # No entry can be added: the next index collides with the hashes left behind, so a
    # truncated log is never silently extended. Verify still reports where it broke,
    # although its own event cannot be journaled.
    report = busy.ledger.verify()
    assert [(f.kind, f.index) for f in report.findings] == [("broken-tail", size - 1)]
    assert (report.journaled, report.size, report.ok) == (False, size, False)
    with pytest.raises(JournalError):
        busy.assets.put(io.BytesIO(b"more"), project="blade", name="more.step")


# An operator restores last night's backup of the database (a logical copy of every
# table, as pg_dump or SQLite's .dump keeps it); the site's mirror is not rolled back.
def test_a_restored_database_is_caught_by_the_mirrored_checkpoints(busy: Vault) -> None:
    busy.ledger.checkpoint()
    home = context_of(busy).home
    last_night = rawdb.backup(home)
    busy.assets.put(io.BytesIO(b"today"), project="blade", name="today.step")
    for _ in range(3):
        busy.ledger.checkpoint()  # mirrored to the site as it is signed
    assert busy.ledger.verify().mirrored_size is not None
    rawdb.restore(home, last_night)  # the operator restores the old database
    with pytest.raises(ForkError, match="rolled back"):
        busy.ledger.verify()


def test_a_database_restored_from_before_the_first_checkpoint_is_caught(
    unvetted_workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    home = unvetted_workspace.home
    right_after_init = rawdb.backup(home)  # no checkpoint in it yet
    with open_vault(home, passphrase=passphrase, clock=clock) as opened:
        ISSUER.vet(opened, unvetted_workspace.principal_id, clock)
    # The vault signed (and mirrored) a checkpoint as it closed.
    rawdb.restore(home, right_after_init)
    engine = rawdb.workspace_engine(home)
    with engine.begin() as live:  # a backup made by a release without a log key
        live.execute(delete(LedgerKey))
    engine.dispose()
    with open_vault(home, passphrase=passphrase, clock=clock) as opened:
        ISSUER.vet(opened, unvetted_workspace.principal_id, clock)
        with pytest.raises(ForkError, match="before the log's first checkpoint"):
            opened.ledger.verify()


def test_mirrored_tiles_catch_rewrites_and_rollbacks_without_checkpoints(busy: Vault) -> None:
    ctx = context_of(busy)
    events = [
        JournalEvent("test.fill", Outcome.OK, busy.principal_id, f"t{i}", f"req-{i:016x}")
        for i in range(300)
    ]
    with ctx.sessions.begin() as session:
        ctx.journal.append_many(session, events)  # type: ignore[attr-defined]
    busy.ledger.checkpoint()  # mirrors tiles 0 and 1 (512 stored hashes)
    site = ctx.home / "sites" / "local-de" / "ledger" / busy.tenant_id
    assert len(list((site / "tiles").iterdir())) >= 2
    shutil.rmtree(site / "checkpoints")  # leave only the tiles
    original = _entry(busy, 5)
    _tamper(busy, update(Event).where(Event.log_index == 5).values(entry=original + b" "))
    with pytest.raises(ProofError):
        busy.ledger.verify()  # the stored hashes no longer match the entry
    _tamper(busy, update(Event).where(Event.log_index == 5).values(entry=original))
    with ctx.sessions() as session:
        size = log.log_size(session, busy.tenant_id)
    _tamper(
        busy,
        delete(Event).where(Event.log_index >= 100),
        delete(LedgerHash).where(LedgerHash.idx >= merkle.stored_hash_count(100)),
        delete(CheckpointRow),
    )
    assert size > 100
    with pytest.raises(ForkError, match="longer log"):
        busy.ledger.verify()


def test_mirrored_tiles_catch_a_rebuilt_tree(busy: Vault) -> None:
    ctx, tenant = context_of(busy), busy.tenant_id
    events = [
        JournalEvent("test.fill", Outcome.OK, busy.principal_id, f"t{i}", f"req-{i:016x}")
        for i in range(300)
    ]
    with ctx.sessions.begin() as session:
        ctx.journal.append_many(session, events)  # type: ignore[attr-defined]
    busy.ledger.checkpoint()
    shutil.rmtree(ctx.home / "sites" / "local-de" / "ledger" / tenant / "checkpoints")
    forged = _entry(busy, 5).replace(b'"ok"', b'"OK"', 1)
    with ctx.sessions() as session:
        size = log.log_size(session, tenant)
        stored_entries = list(log.entries(session, tenant, 0, size))
    rebuilt = audit.rebuild([forged if i == 5 else e for i, e in enumerate(stored_entries)])
    hashes = rebuilt.read_hashes(range(merkle.stored_hash_count(size)))
    _tamper(
        busy,
        update(Event).where(Event.log_index == 5).values(entry=forged),
        delete(LedgerHash).where(LedgerHash.tenant_id == tenant),
        delete(CheckpointRow).where(CheckpointRow.tenant_id == tenant),
    )
    with ctx.sessions() as session:
        session.add_all(LedgerHash(tenant_id=tenant, idx=i, hash=h) for i, h in enumerate(hashes))
        session.commit()
    with pytest.raises(ForkError, match="tile 0 on the site differs"):
        busy.ledger.verify()
