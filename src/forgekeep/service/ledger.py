"""The tenant's transparency log as a service: key, checkpoints, entries, proofs, verify.

Security rules:

* The log's signing key is made by ``init`` or ``ensure_log_key``
  (:mod:`forgekeep.service.ledger_key`), never here: a read on a log without a
  key fails with :class:`LogKeyMissingError` and writes nothing but its event.
* The log's origin line and its key name are ``forgekeep/<tenant>``; a
  checkpoint for another origin never verifies against this key.
* Reading the log (entries, proofs, checkpoints) is an authorized, journaled
  action (admins and auditors); the reads themselves become log entries.
  Inclusion proofs live in :mod:`forgekeep.service.ledger_proofs`.
* ``verify`` trusts nothing in the database: it re-hashes every entry, rebuilds
  every stored hash, checks every stored checkpoint's root and signature, and,
  given a checkpoint held elsewhere, proves the log has not been rolled back or
  rebuilt since (:class:`ForkError` otherwise).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.signed import VerifierKey, encode_vkey, parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash, LedgerKey
from forgekeep.db.locks import hold_until_commit
from forgekeep.errors import ForkError, ProofError, UsageError
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger import sequencer as sequencer_limits
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.journal import Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, SequencerLimits
from forgekeep.service import ledger_mirror
from forgekeep.service._core import ServiceContext, commit_with_event, request
from forgekeep.service.authz import Action
from forgekeep.service.ledger_key import log_signer, log_verifier, origin_of


def verifier(session: Session, ctx: ServiceContext) -> VerifierKey:
    """The log's verifier key (:class:`LogKeyMissingError` when it has none: never made here)."""
    return log_verifier(session, ctx.tenant_id)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: bytes


def latest_checkpoint(session: Session, tenant_id: str) -> CheckpointRow | None:
    return session.scalar(
        select(CheckpointRow)
        .where(CheckpointRow.tenant_id == tenant_id)
        .order_by(CheckpointRow.size.desc())
        .limit(1)
    )


def signed_checkpoint(session: Session, ctx: ServiceContext) -> SignedCheckpoint:
    """The signed checkpoint of the log as it is now (signed now if it grew)."""
    hold_until_commit(session, "checkpoint", ctx.tenant_id)  # one signer per size
    size = log.log_size(session, ctx.tenant_id)
    latest = latest_checkpoint(session, ctx.tenant_id)
    if latest is not None and latest.size == size:
        return SignedCheckpoint(latest.size, bytes(latest.root), latest.note.encode())
    reader = log.SqlHashes(session, ctx.tenant_id)
    root = merkle.tree_hash(size, reader)
    checkpoint_body = Checkpoint(origin_of(ctx.tenant_id), size, root)
    note = sign_checkpoint(checkpoint_body, log_signer(session, ctx))
    ledger_mirror.mirror(ctx, size, note, reader)  # so a restored database cannot roll back
    session.add(
        CheckpointRow(
            tenant_id=ctx.tenant_id,
            size=size,
            root=root,
            note=note.decode(),
            signed_at=ctx.clock.now(),
        )
    )
    return SignedCheckpoint(size, root, note)


def checkpoint(ctx: ServiceContext) -> SignedCheckpoint:
    """Sign (if needed) and return the latest checkpoint, as a C2SP signed note."""
    with request(ctx, Action.LEDGER_CHECKPOINT, "ledger") as req, ctx.sessions() as session:
        signed = signed_checkpoint(session, ctx)
        commit_with_event(session, ctx, req.event(Outcome.OK, size=signed.size))
        return signed


@contextlib.contextmanager
def group_commit(
    ctx: ServiceContext,
    *,
    max_delay: float = sequencer_limits.MAX_DELAY,
    checkpoint_interval: float = sequencer_limits.CHECKPOINT_INTERVAL,
) -> Iterator[Sequencer]:
    """Run the log's sequencer for a long-running host, until the block ends.

    While it runs, reads' decisions and refusals are committed in groups (at
    most 1,000 entries or 10 ms), and a checkpoint is signed (and mirrored) at
    least every second while the log grows; writes keep their own transaction.
    """
    if ctx.sequencer is not None:
        raise UsageError("group commit is already running for this vault")
    if not isinstance(ctx.journal, SqlJournal):
        raise UsageError("group commit needs the SQL journal")
    with ctx.sessions() as session:
        log_verifier(session, ctx.tenant_id)  # the checkpointer signs: fail now, not later

    def sign_checkpoint_now() -> None:
        with ctx.sessions() as session:
            signed_checkpoint(session, ctx)
            session.commit()

    sequencer = Sequencer(
        ctx.sessions,
        ctx.journal,
        checkpointer=sign_checkpoint_now,
        limits=SequencerLimits(max_delay=max_delay, checkpoint_interval=checkpoint_interval),
    ).start()
    ctx.sequencer = sequencer
    try:
        yield sequencer
    finally:
        ctx.sequencer = None
        sequencer.close()


def verifier_key(ctx: ServiceContext) -> str:
    """The log's verifier key (C2SP vkey)."""
    with request(ctx, Action.LEDGER_READ, "key") as req, ctx.sessions() as session:
        vkey = encode_vkey(verifier(session, ctx))
        commit_with_event(session, ctx, req.event(Outcome.OK))
        return vkey


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise UsageError(f"the log has entries 0 to {size - 1}; there is no entry {index}")


def entry(ctx: ServiceContext, index: int) -> bytes:
    """The canonical bytes of entry ``index``."""
    with request(ctx, Action.LEDGER_READ, str(index)) as req, ctx.sessions() as session:
        _check_index(index, log.log_size(session, ctx.tenant_id))
        (found,) = log.entries(session, ctx.tenant_id, index, index + 1)
        commit_with_event(session, ctx, req.event(Outcome.OK, index=index))
        return found


def prove_consistency(ctx: ServiceContext, old: int, new: int) -> list[bytes]:
    """RFC 6962 §2.1.2 consistency proof between tree sizes ``old`` ≤ ``new``."""
    with request(ctx, Action.LEDGER_READ, f"{old}..{new}") as req, ctx.sessions() as session:
        size = log.log_size(session, ctx.tenant_id)
        if not 0 < old <= new <= size:
            raise UsageError(f"sizes must satisfy 0 < A <= B <= {size}")
        proof = merkle.consistency_proof(old, new, log.SqlHashes(session, ctx.tenant_id))
        commit_with_event(session, ctx, req.event(Outcome.OK, old=old, new=new))
        return proof


@dataclass(frozen=True, slots=True)
class VerifyReport:
    size: int
    root: bytes
    checkpoints: int
    trusted_size: int | None
    mirrored_size: int | None = None
    cosigned_by: tuple[str, ...] = ()


def _stored(session: Session, tenant_id: str) -> Iterator[bytes]:
    rows = session.execute(
        select(LedgerHash.hash)
        .where(LedgerHash.tenant_id == tenant_id)
        .order_by(LedgerHash.idx)
        .execution_options(yield_per=4000)
    )
    for (value,) in rows:
        yield bytes(value)


def _rehash(session: Session, ctx: ServiceContext, size: int) -> merkle.MemoryHashes:
    rebuilt = audit.rebuild(log.entries(session, ctx.tenant_id, 0, size))
    expected = rebuilt.read_hashes(range(merkle.stored_hash_count(size)))
    count = 0
    for index, stored in enumerate(_stored(session, ctx.tenant_id)):
        if index >= len(expected) or stored != expected[index]:
            raise ProofError(f"stored hash {index} of the log does not match its entries")
        count = index + 1
    if count != len(expected):
        raise ProofError("the log's stored hashes are incomplete")
    return rebuilt


def _check_checkpoints(
    session: Session, ctx: ServiceContext, rebuilt: merkle.MemoryHashes, key: VerifierKey
) -> int:
    notes = session.scalars(
        select(CheckpointRow.note).where(CheckpointRow.tenant_id == ctx.tenant_id)
    ).all()
    for note in notes:
        audit.check_checkpoint(rebuilt, note.encode(), key)
    return len(notes)


def _existing_verifier(session: Session, ctx: ServiceContext) -> VerifierKey:
    """The log key, which verify never creates: a database without one, while the site
    holds signed checkpoints, was restored from before the log began."""
    row = session.get(LedgerKey, ctx.tenant_id)
    if row is not None:
        return parse_vkey(row.vkey)
    if ledger_mirror.has_checkpoints(ctx):
        raise ForkError(
            "the database has no log key but the site holds signed checkpoints:"
            " it was rolled back to before the log's first checkpoint"
        )
    return verifier(session, ctx)  # no key and nothing signed: LogKeyMissingError


def verify(
    ctx: ServiceContext,
    *,
    trusted_checkpoint: bytes | None = None,
    witnesses: audit.WitnessPolicy | None = None,
) -> VerifyReport:
    """Re-hash the whole log and check it against its checkpoints (and a trusted one).

    ``witnesses`` applies to the trusted checkpoint if there is one, else to the
    newest stored checkpoint: at least its quorum of those keys must have cosigned.
    """
    with request(ctx, Action.LEDGER_VERIFY, "ledger") as req, ctx.sessions() as session:
        size = log.log_size(session, ctx.tenant_id)
        rebuilt = _rehash(session, ctx, size)
        key = _existing_verifier(session, ctx)
        checked = _check_checkpoints(session, ctx, rebuilt, key)
        mirrored = ledger_mirror.check_against_mirror(ctx, rebuilt, key)
        trusted = (
            None
            if trusted_checkpoint is None
            else audit.check_checkpoint(rebuilt, trusted_checkpoint, key)
        )
        newest = latest_checkpoint(session, ctx.tenant_id)
        quorum_note = trusted_checkpoint or (None if newest is None else newest.note.encode())
        cosigned = tuple((witnesses or audit.WitnessPolicy()).cosigners(quorum_note, key))
        root = merkle.tree_hash(size, rebuilt)
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                size=size,
                root=base64.b64encode(root).decode(),
                checkpoints=checked,
                trusted=trusted,
                mirrored=mirrored,
                cosigned=len(cosigned),
            ),
        )
        return VerifyReport(size, root, checked, trusted, mirrored, cosigned)
