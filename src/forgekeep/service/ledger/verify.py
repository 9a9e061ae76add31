"""``ledger verify`` on the workspace's live log.

Security rules:

* Verify trusts nothing in the database: it re-hashes every entry, rebuilds
  every stored hash, compares every derived column of ``events`` with its
  entry, checks every stored and mirrored checkpoint's root and signature and,
  given a checkpoint held elsewhere, proves the log has not been rolled back or
  rebuilt since (:class:`ForkError` otherwise). Its report is the one the
  offline verifier of an export gives (:mod:`forgekeep.ledger.verifier`).
* Verify is authorized (``ledger.verify``) and journaled like every request.
  A log broken at its tail cannot take any new entry, verify's own included:
  then, and only then, verify still returns its report, marked as not
  journaled. It shows no more than ``forgekeep doctor`` shows to anyone who can
  read the workspace (indexes, counts, hashes), and a refusal still fails
  closed: an unauthorized verify gets :class:`JournalError` and no report.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.signed import VerifierKey, parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash, LedgerKey
from forgekeep.db.models import Event
from forgekeep.errors import ForkError, JournalError, ProofError
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.journal import Outcome
from forgekeep.ledger.verifier import Finding, LogVerifier, VerifyReport
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request
from forgekeep.service.ledger import mirror as ledger_mirror
from forgekeep.service.ledger.log import latest_checkpoint, verifier

_ROW_COLUMNS = (
    Event.log_index,
    Event.entry,
    Event.tenant_id,
    Event.at,
    Event.request_id,
    Event.actor,
    Event.action,
    Event.outcome,
    Event.target,
    Event.detail,
)


def _feed_entries(session: Session, tenant_id: str, checker: LogVerifier) -> None:
    """Every entry in index order, with its derived columns; a gap is a :class:`ProofError`."""
    rows = session.execute(
        select(*_ROW_COLUMNS)
        .where(Event.tenant_id == tenant_id, Event.log_index.is_not(None))
        .order_by(Event.log_index)
        .execution_options(yield_per=1000)
    )
    with rows:  # closed even when a finding stops the walk (a server-side cursor)
        for row in rows:
            if row.log_index != checker.present or row.entry is None:
                raise ProofError(f"log entry {checker.present} is missing or out of order")
            checker.add(bytes(row.entry), dict(row._mapping))


def _stored(session: Session, tenant_id: str) -> Iterator[bytes]:
    rows = session.execute(
        select(LedgerHash.hash)
        .where(LedgerHash.tenant_id == tenant_id)
        .order_by(LedgerHash.idx)
        .execution_options(yield_per=4000)
    )
    with rows:  # closed even when the caller stops early
        for (value,) in rows:
            yield bytes(value)


def _check_stored(session: Session, tenant_id: str, checker: LogVerifier) -> Finding | None:
    """Every stored hash must be the rebuilt one. Hashes past the entries are a
    broken tail: their leaves are added by hash, and their own tree checked."""
    rebuilt = checker.tree
    have = merkle.stored_hash_count(rebuilt.size)
    expected = rebuilt.read_hashes(range(have))
    extra: list[bytes] = []
    count = 0
    for index, stored in enumerate(_stored(session, tenant_id)):
        count = index + 1
        if index >= have:
            extra.append(stored)
        elif stored != expected[index]:
            raise ProofError(f"stored hash {index} of the log does not match its entries")
    if count < have:
        raise ProofError("the log's stored hashes are incomplete")
    if not extra:
        return None
    hashed = log.leaves_of(have + len(extra))
    if hashed is None:
        raise ProofError("the log's stored hashes do not describe a whole tree")
    for missing in range(rebuilt.size, hashed):
        checker.add_missing(extra[merkle.stored_hash_count(missing) - have])
    if rebuilt.read_hashes(range(have, have + len(extra))) != extra:
        raise ProofError("the stored hashes past the log's last entry do not form its tree")
    first, last = checker.present, hashed - 1
    return Finding(
        "broken-tail",
        f"entries {first} to {last} are missing but their hashes are stored: the newest"
        " events rows were deleted, and no entry can be added until the log is repaired"
        " (`forgekeep ledger repair`, docs/operations.md)",
        first,
    )


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


def _live_report(
    session: Session,
    ctx: ServiceContext,
    trusted_checkpoint: bytes | None,
    witnesses: audit.WitnessPolicy | None,
) -> VerifyReport:
    lag = dt.timedelta(seconds=ctx.settings.ledger.max_uncovered_seconds)
    checker = LogVerifier(now=ctx.clock.now(), max_uncovered=lag)
    _feed_entries(session, ctx.tenant_id, checker)
    broken = _check_stored(session, ctx.tenant_id, checker)
    key = _existing_verifier(session, ctx)
    notes = session.scalars(
        select(CheckpointRow.note).where(CheckpointRow.tenant_id == ctx.tenant_id)
    ).all()
    for note in notes:
        checker.checkpoint(note.encode(), key)
    mirrored = ledger_mirror.check_against_mirror(ctx, checker.tree, key)
    if mirrored is not None:
        checker.covers(mirrored)  # verified by check_against_mirror
    trusted = (
        None
        if trusted_checkpoint is None
        else checker.checkpoint(trusted_checkpoint, key, stored=False)
    )
    newest = latest_checkpoint(session, ctx.tenant_id)
    quorum_note = trusted_checkpoint or (None if newest is None else newest.note.encode())
    cosigned = tuple((witnesses or audit.WitnessPolicy()).cosigners(quorum_note, key))
    return checker.report(
        source="workspace",
        trusted_size=trusted,
        mirrored_size=mirrored,
        cosigned_by=cosigned,
        extra=() if broken is None else (broken,),
    )


def verify(
    ctx: ServiceContext,
    *,
    trusted_checkpoint: bytes | None = None,
    witnesses: audit.WitnessPolicy | None = None,
) -> VerifyReport:
    """Re-hash the whole log and check it against its columns, its checkpoints
    (and a trusted one) and the allowed checkpoint lag.

    ``witnesses`` applies to the trusted checkpoint if there is one, else to the
    newest stored checkpoint: at least its quorum of those keys must have cosigned.
    """
    with request(ctx, Action.LEDGER_VERIFY, "ledger") as req, ctx.sessions() as session:
        report = _live_report(session, ctx, trusted_checkpoint, witnesses)
        event = req.event(
            Outcome.OK,
            size=report.size,
            root=base64.b64encode(report.root).decode(),
            checkpoints=report.checkpoints,
            trusted=report.trusted_size,
            mirrored=report.mirrored_size,
            cosigned=len(report.cosigned_by),
            findings=len(report.findings) + report.omitted_findings,
        )
        try:
            commit_with_event(session, ctx, event)
        except JournalError:
            if not any(f.kind == "broken-tail" for f in report.findings):
                raise
            session.rollback()
            return dataclasses.replace(report, journaled=False)
        return report
