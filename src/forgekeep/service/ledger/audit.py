"""Reading the log as an auditor: listing entries, and exporting it for offline checks.

Security rules:

* Listing shows the canonical entries, each checked against the leaf hash
  the tree stores at its index; the derived columns of ``events`` may narrow
  a query, never decide what is shown (``ledger verify`` checks them).
* Both are authorized, journaled reads (``ledger.read``: admins and auditors),
  and each is one event however many entries it touches.
* An export holds only what the log holds — canonical entries (pseudonyms,
  ids, codes; no personal attributes), a signed checkpoint and the log's
  verifier key — and every file is published atomically into a new directory,
  so a reader never sees half an export. ``ledger verify --from-export DIR
  --key VKEY`` checks it with the key the auditor holds, not the one inside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from forgekeep._durable import atomic_writer, write_atomic
from forgekeep.crypto.signed import encode_vkey
from forgekeep.db.ledger import BytesContain
from forgekeep.db.models import Asset, Event
from forgekeep.errors import UsageError, WorkspaceError
from forgekeep.ledger import audit, log
from forgekeep.ledger.entry import LogEntry, needle, verified_entries
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request
from forgekeep.service.ledger.log import SignedCheckpoint, signed_checkpoint, verifier

MAX_LISTED: Final = 10_000
_CHUNK: Final = 500  # candidate rows whose leaf hashes are read in one query


@dataclass(frozen=True, slots=True)
class LogEntryInfo:
    index: int
    at: dt.datetime
    actor: str
    action: str
    outcome: str
    target: str
    request_id: str


def _asset_ids(session: Session, ctx: ServiceContext, ref: str) -> list[str]:
    rows = session.scalars(
        select(Asset.id).where(
            Asset.tenant_id == ctx.tenant_id, (Asset.id == ref) | (Asset.name == ref)
        )
    ).all()
    return list(rows) or [ref]


def _about(entry: LogEntry, refs: Sequence[str]) -> bool:
    return entry.target in refs or entry.detail.get("asset") in refs


def _matches(
    entry: LogEntry, principal: str | None, since: dt.datetime | None, refs: Sequence[str] | None
) -> bool:
    """The filters, decided on the verified entry (the query only narrowed by them)."""
    return (
        (principal is None or entry.actor == principal)
        and (since is None or entry.at >= since)
        and (refs is None or _about(entry, refs))
    )


def _narrowed(
    principal: str | None, since: dt.datetime | None, refs: Sequence[str] | None
) -> Select[int | None, bytes | None]:
    """Candidate rows. Actor and asset narrow on the entry bytes themselves, so no
    derived column can hide a row; time narrows on ``at``, which verify checks."""
    query = select(Event.log_index, Event.entry).where(Event.log_index.is_not(None))
    if principal is not None:
        query = query.where(BytesContain(Event.entry, needle("actor", principal)))
    if since is not None:
        query = query.where(Event.at >= since)
    if refs is not None:
        query = query.where(
            or_(
                *[BytesContain(Event.entry, needle("target", r)) for r in refs],
                *[BytesContain(Event.entry, needle("asset", r)) for r in refs],
            )
        )
    return query.order_by(Event.log_index)


def list_entries(
    ctx: ServiceContext,
    *,
    asset: str | None = None,
    principal: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[LogEntryInfo]:
    """Entries by asset (name or id), principal and time, for auditors who know no indices.

    Every field shown comes from the canonical entry, checked against the
    tree's stored leaf hash; the derived columns only narrow the query.
    """
    if not 0 < limit <= MAX_LISTED:
        raise UsageError(f"--limit is 1-{MAX_LISTED}")
    with request(ctx, Action.LEDGER_READ, "ls") as req, ctx.sessions() as session:
        refs = None if asset is None else [asset, *_asset_ids(session, ctx, asset)]
        query = _narrowed(principal, since, refs).where(Event.tenant_id == ctx.tenant_id)
        found: list[LogEntryInfo] = []
        result = session.execute(query.execution_options(yield_per=_CHUNK))
        for chunk in result.partitions():
            rows = [(int(i), bytes(d)) for i, d in chunk if i is not None and d is not None]
            entries = verified_entries(session, ctx.tenant_id, rows)
            found += [
                _info(index, entry)
                for (index, _), entry in zip(rows, entries, strict=True)
                if _matches(entry, principal, since, refs)
            ]
            if len(found) >= limit:
                break
        found = found[:limit]
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(found)))
        return found


def _info(index: int, entry: LogEntry) -> LogEntryInfo:
    return LogEntryInfo(
        index, entry.at, entry.actor, entry.action, entry.outcome, entry.target, entry.request_id
    )


@dataclass(frozen=True, slots=True)
class ExportInfo:
    directory: Path
    size: int
    checkpoint: SignedCheckpoint


def _new_directory(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise WorkspaceError(f"{directory} exists and is not an empty directory")
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)


def export(ctx: ServiceContext, directory: Path) -> ExportInfo:
    """Write the log (entries, a signed checkpoint, the verifier key) for an offline audit.

    The export's own event is appended first, so the export holds every entry
    up to and including itself, under a checkpoint that covers them all: a log
    whose newest rows are later deleted can be mended from it (``ledger repair``).
    """
    with request(ctx, Action.LEDGER_READ, "export") as req, ctx.sessions() as session:
        _new_directory(directory)
        req.authorize_tenant(cedar_action=str(Action.LEDGER_CHECKPOINT))  # it signs one
        size = log.log_size(session, ctx.tenant_id) + 1
        ctx.journal.append(session, req.event(Outcome.OK, size=size))
        signed = signed_checkpoint(session, ctx)
        with atomic_writer(directory / audit.ENTRIES_FILE, mode=0o644) as out:
            for entry in log.entries(session, ctx.tenant_id, 0, signed.size):
                out.write(entry + b"\n")
        vkey = verifier(session, ctx)
        write_atomic(directory / audit.KEY_FILE, (encode_vkey(vkey) + "\n").encode(), mode=0o644)
        write_atomic(directory / audit.CHECKPOINT_FILE, signed.note, mode=0o644)
        session.commit()
        return ExportInfo(directory, signed.size, signed)
