"""Proof files of log entries (``prove inclusion``, ``get --receipt``) under a checkpoint
the witnesses have seen.

Security rules:

* A proof file carries the newest stored checkpoint that covers its entry and,
  when witnesses are configured, carries a cosignature by *every* configured
  witness that verifies under the key an admin configured. It never carries a
  checkpoint signed for the occasion that no witness has seen, so a verifier's
  ``--quorum`` can be met.
* With no witnesses configured, the newest signed checkpoint covering the entry
  is used; if there is none, one is signed, but only when the actor may
  ``ledger.checkpoint`` (signing is a write). Nothing here creates a key: a log
  without one fails with :class:`LogKeyMissingError`.
* When nothing covers the entry yet, the answer is :class:`NotYetCoveredError`
  (exit 5). With ``wait`` (at most ``limits.MAX_PROOF_WAIT_SECONDS``), an actor
  who may ``ledger.checkpoint`` collects cosignatures, and any other waits for
  a cosigned checkpoint made by others (``ledger checkpoint --follow``), with
  back-off from 0.5 s to 8 s, until the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.clock import monotonic
from forgekeep.db.ledger import BytesContain
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.models import Event
from forgekeep.errors import CheckpointError, IntegrityError, NotYetCoveredError, UsageError
from forgekeep.identity.tokens import allows
from forgekeep.ledger import log, merkle
from forgekeep.ledger.checkpoint import verify_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey
from forgekeep.ledger.entry import needle
from forgekeep.ledger.journal import Outcome
from forgekeep.ledger.tlog_proof import write_proof
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import Request, commit_with_event, request
from forgekeep.service.ledger import log as ledger
from forgekeep.service.ledger import witnesses
from forgekeep.service.ledger.key import log_verifier

FIRST_BACKOFF: Final = 0.5
MAX_BACKOFF: Final = 8.0
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class EntryProof:
    proof: bytes  # the c2sp.org/tlog-proof@v1 file
    index: int
    size: int  # the tree size of the checkpoint it carries


def check_wait(wait: float) -> float:
    if not 0 <= wait <= limits.MAX_PROOF_WAIT_SECONDS:
        raise UsageError(
            f"--wait is {wait} s; it must lie in [0, {limits.MAX_PROOF_WAIT_SECONDS}] seconds"
        )
    return wait


def _covering_note(
    session: Session, ctx: ServiceContext, index: int, keys: Sequence[CosignerVerifierKey]
) -> tuple[bytes, int] | None:
    """The newest stored checkpoint over ``index`` cosigned by every configured witness."""
    notes = session.scalars(
        select(CheckpointRow.note)
        .where(CheckpointRow.tenant_id == ctx.tenant_id, CheckpointRow.size > index)
        .order_by(CheckpointRow.size.desc())
        .limit(limits.MAX_PROOF_CHECKPOINTS_SCANNED)
    ).all()
    key = log_verifier(session, ctx.tenant_id)
    for note in notes:
        try:
            verified = verify_checkpoint(note.encode(), key, keys, len(keys))
        except CheckpointError:
            continue  # not (yet) cosigned by all of them: an older one may be
        return note.encode(), verified.checkpoint.size
    return None


def _prove_under(
    session: Session, ctx: ServiceContext, index: int, note: bytes, size: int
) -> EntryProof:
    (found,) = log.entries(session, ctx.tenant_id, index, index + 1)
    path = merkle.inclusion_proof(index, size, log.SqlHashes(session, ctx.tenant_id))
    return EntryProof(write_proof(note, index, path, found), index, size)


def _may_checkpoint(req: Request) -> bool:
    """Whether the actor may sign checkpoints (asked, not recorded: the read is the request).

    An API token must carry the ``ledger.checkpoint`` scope too: scopes only narrow.
    """
    ctx = req.ctx
    if not allows(ctx.auth.scopes, str(Action.LEDGER_CHECKPOINT)):
        return False
    return ctx.access.decide_tenant(
        req.actor, ctx.tenant_id, str(Action.LEDGER_CHECKPOINT), req.facts
    ).allowed


def _attempt(
    ctx: ServiceContext, index: int, keys: Sequence[CosignerVerifierKey], *, advance: bool
) -> EntryProof | None:
    """One look for a covering checkpoint; with ``advance``, sign (and collect) one first."""
    with ctx.sessions() as session:
        if _covering_note(session, ctx, index, keys) is None and advance:
            if keys:
                done = witnesses.sign_and_cosign(session, ctx)
                session.commit()
                if done.fork is not None:
                    raise done.fork
            else:
                ledger.signed_checkpoint(session, ctx)
                session.commit()
        covering = _covering_note(session, ctx, index, keys)
        return None if covering is None else _prove_under(session, ctx, index, *covering)


def _not_covered(index: int, keys: Sequence[CosignerVerifierKey], hint: str | None) -> Exception:
    if keys:
        what = f"no checkpoint cosigned by all {len(keys)} witnesses covers entry {index} yet"
    else:
        what = f"no signed checkpoint covers entry {index} yet, and you may not sign one"
    return NotYetCoveredError(what, hint=hint)


def entry_proof(
    req: Request,
    index: int,
    *,
    wait: float = 0.0,
    hint: str | None = None,
    sleep: Sleep = time.sleep,
) -> EntryProof:
    """The proof of entry ``index`` under the newest cosigned checkpoint covering it."""
    ctx, deadline = req.ctx, monotonic() + check_wait(wait)
    keys = witnesses.witness_keys(ctx)
    may_sign = _may_checkpoint(req)
    delay = FIRST_BACKOFF
    while True:
        # Witnesses: collect only when asked to wait. None: sign now if allowed.
        advance = may_sign and (not keys or wait > 0)
        found = _attempt(ctx, index, keys, advance=advance)
        if found is not None:
            return found
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise _not_covered(index, keys, hint)
        sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_BACKOFF)


def prove_inclusion(
    ctx: ServiceContext, index: int, *, wait: float = 0.0, sleep: Sleep = time.sleep
) -> EntryProof:
    """A C2SP tlog-proof of entry ``index`` (``ledger prove inclusion N [--wait S]``)."""
    with request(ctx, Action.LEDGER_READ, str(index)) as req:
        with ctx.sessions() as session:
            size = log.log_size(session, ctx.tenant_id)
        if not 0 <= index < size:
            raise UsageError(f"the log has entries 0 to {size - 1}; there is no entry {index}")
        found = entry_proof(req, index, wait=wait, sleep=sleep)
        with ctx.sessions() as session:
            commit_with_event(session, ctx, req.event(Outcome.OK, index=index, size=found.size))
        return found


def receipt(req: Request, *, wait: float = 0.0, sleep: Sleep = time.sleep) -> bytes:
    """The proof of ``req``'s own decision event (``get --receipt``); no new request.

    The event is found by the request id inside the entry bytes, not by the
    ``request_id`` column, which an UPDATE could point elsewhere.
    """
    ctx = req.ctx
    with ctx.sessions() as session:
        index = session.scalar(
            select(Event.log_index)
            .where(Event.tenant_id == ctx.tenant_id)
            .where(BytesContain(Event.entry, needle("request", req.id)))
            .order_by(Event.log_index)
            .limit(1)
        )
    if index is None:
        raise IntegrityError(f"the decision of {req.id} is not in the log")
    hint = (
        f"the read itself succeeded and is entry {index}; read again with --wait SECONDS, or"
        f" an auditor runs `forgekeep ledger prove inclusion {index} --wait 60`"
    )
    return entry_proof(req, index, wait=wait, hint=hint, sleep=sleep).proof
