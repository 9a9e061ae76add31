"""The tenant's transparency log as a service: key, checkpoints, entries, proofs, verify.

Security rules:

* The log's signing key is made by ``init`` or ``ensure_log_key``
  (:mod:`forgekeep.service.ledger.key`), never here: a read on a log without a
  key fails with :class:`LogKeyMissingError` and writes nothing but its event.
* The log's origin line and its key name are ``forgekeep/<tenant>``; a
  checkpoint for another origin never verifies against this key.
* Reading the log (entries, proofs, checkpoints) is an authorized, journaled
  action (admins and auditors); the reads themselves become log entries.
  Inclusion proofs live in :mod:`forgekeep.service.ledger.proofs`.
* A checkpoint is never signed over a log whose newest rows are gone: that
  would make a truncation look legitimate. ``verify`` lives in
  :mod:`forgekeep.service.ledger.verify`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.signed import VerifierKey, encode_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.locks import hold_until_commit
from forgekeep.errors import UsageError
from forgekeep.ledger import log, merkle
from forgekeep.ledger import sequencer as sequencer_limits
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.journal import Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, SequencerLimits
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request
from forgekeep.service.ledger import mirror as ledger_mirror
from forgekeep.service.ledger.key import log_signer, log_verifier, origin_of


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
    """The signed checkpoint of the log as it is now (signed now if it grew).

    Never signs a log whose tail is broken (:func:`log.require_intact_tail`).
    """
    hold_until_commit(session, "checkpoint", ctx.tenant_id)  # one signer per size
    size = log.require_intact_tail(session, ctx.tenant_id)
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
