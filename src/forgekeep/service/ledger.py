"""The tenant's transparency log as a service: key, checkpoints, entries, proofs, verify.

Security rules:

* The log's Ed25519 signing seed exists in clear only in memory while a
  checkpoint is signed; at rest it is wrapped by the key manager under a domain
  key of its own (context bound to the tenant and the role ``ledger-key``).
* The log's origin line and its key name are ``forgekeep/<tenant>``; a
  checkpoint for another origin never verifies against this key.
* Reading the log (entries, proofs, checkpoints) is an authorized, journaled
  action (admins and auditors); the reads themselves become log entries.
* A checkpoint is never signed over a log whose newest rows are gone: that
  would make a truncation look legitimate. ``verify`` lives in
  :mod:`forgekeep.service.ledger_verify`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto import Suite
from forgekeep.crypto import wrap_context as make_wrap_context
from forgekeep.crypto.signed import SignerKey, VerifierKey, encode_vkey, parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerKey
from forgekeep.db.models import KeyRing
from forgekeep.errors import NotFoundError, UsageError
from forgekeep.keys.protocol import DomainKeyRef
from forgekeep.ledger import log, merkle
from forgekeep.ledger import sequencer as sequencer_limits
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.journal import Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, SequencerLimits
from forgekeep.ledger.tlog_proof import write_proof
from forgekeep.service import ledger_mirror
from forgekeep.service._core import ServiceContext, commit_with_event, request
from forgekeep.service.authz import Action
from forgekeep.service.projects import new_domain_key

_SEED_CONTEXT_ID = "ledger-key"


def origin_of(tenant_id: str) -> str:
    return f"forgekeep/{tenant_id}"


def _seed_context(tenant: str, ring: str, domain: str) -> bytes:
    return make_wrap_context(
        tenant=tenant,
        key_ring=ring,
        domain=domain,
        asset_id=_SEED_CONTEXT_ID,
        version_id=bytes(16),
        suite=int(Suite.COBBLESTONE_256),
    )


def _asset_ring(session: Session, ctx: ServiceContext) -> str:
    ring = session.scalar(
        select(KeyRing.id)
        .where(KeyRing.tenant_id == ctx.tenant_id, KeyRing.purpose == "assets")
        .order_by(KeyRing.id)
    )
    if ring is None:
        raise NotFoundError("the tenant has no asset key ring for the log key")
    return ring


def _create_key(session: Session, ctx: ServiceContext) -> tuple[LedgerKey, SignerKey]:
    ring = _asset_ring(session, ctx)
    domain = new_domain_key(session, ctx, ring, "ledger")
    session.flush()  # the domain key row first: the log key refers to it
    signer = SignerKey(origin_of(ctx.tenant_id), secrets.token_bytes(32))
    context = _seed_context(ctx.tenant_id, ring, domain)
    wrapped = ctx.key_manager.wrap(DomainKeyRef(ring, domain), signer.seed(), context)
    row = LedgerKey(
        tenant_id=ctx.tenant_id,
        origin=origin_of(ctx.tenant_id),
        vkey=encode_vkey(signer.verifier),
        ring_id=ring,
        domain_key_id=domain,
        wrapped_seed=wrapped,
        created_at=ctx.clock.now(),
    )
    session.add(row)
    return row, signer


def _signer(session: Session, ctx: ServiceContext) -> SignerKey:
    row = session.get(LedgerKey, ctx.tenant_id)
    if row is None:
        return _create_key(session, ctx)[1]
    context = _seed_context(ctx.tenant_id, row.ring_id, row.domain_key_id)
    seed = ctx.key_manager.unwrap(
        DomainKeyRef(row.ring_id, row.domain_key_id), row.wrapped_seed, context
    )
    return SignerKey(row.origin, seed)


def verifier(session: Session, ctx: ServiceContext) -> VerifierKey:
    row = session.get(LedgerKey, ctx.tenant_id)
    if row is None:
        return _create_key(session, ctx)[1].verifier
    return parse_vkey(row.vkey)


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
    size = log.require_intact_tail(session, ctx.tenant_id)
    latest = latest_checkpoint(session, ctx.tenant_id)
    if latest is not None and latest.size == size:
        return SignedCheckpoint(latest.size, bytes(latest.root), latest.note.encode())
    reader = log.SqlHashes(session, ctx.tenant_id)
    root = merkle.tree_hash(size, reader)
    note = sign_checkpoint(Checkpoint(origin_of(ctx.tenant_id), size, root), _signer(session, ctx))
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


def prove_inclusion(ctx: ServiceContext, index: int) -> bytes:
    """A C2SP tlog-proof of entry ``index`` under a freshly signed checkpoint."""
    with request(ctx, Action.LEDGER_READ, str(index)) as req, ctx.sessions() as session:
        signed = signed_checkpoint(session, ctx)
        _check_index(index, signed.size)
        (found,) = log.entries(session, ctx.tenant_id, index, index + 1)
        reader = log.SqlHashes(session, ctx.tenant_id)
        path = merkle.inclusion_proof(index, signed.size, reader)
        proof = write_proof(signed.note, index, path, found)
        commit_with_event(session, ctx, req.event(Outcome.OK, index=index, size=signed.size))
        return proof


def receipt(session: Session, ctx: ServiceContext, index: int) -> bytes:
    """The tlog-proof of entry ``index`` for the request that wrote it (no new request:
    the caller's own decision covers it). The caller commits the checkpoint it signs."""
    signed = signed_checkpoint(session, ctx)
    _check_index(index, signed.size)
    (found,) = log.entries(session, ctx.tenant_id, index, index + 1)
    path = merkle.inclusion_proof(index, signed.size, log.SqlHashes(session, ctx.tenant_id))
    return write_proof(signed.note, index, path, found)


def prove_consistency(ctx: ServiceContext, old: int, new: int) -> list[bytes]:
    """RFC 6962 §2.1.2 consistency proof between tree sizes ``old`` ≤ ``new``."""
    with request(ctx, Action.LEDGER_READ, f"{old}..{new}") as req, ctx.sessions() as session:
        size = log.log_size(session, ctx.tenant_id)
        if not 0 < old <= new <= size:
            raise UsageError(f"sizes must satisfy 0 < A <= B <= {size}")
        proof = merkle.consistency_proof(old, new, log.SqlHashes(session, ctx.tenant_id))
        commit_with_event(session, ctx, req.event(Outcome.OK, old=old, new=new))
        return proof
