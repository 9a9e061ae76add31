"""Reading the log as an auditor: listing entries, and exporting it for offline checks.

Security rules:

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
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forgekeep._durable import atomic_writer, write_atomic
from forgekeep.crypto.signed import encode_vkey
from forgekeep.db.models import Asset, Event
from forgekeep.errors import UsageError, WorkspaceError
from forgekeep.ledger import audit, log
from forgekeep.ledger.journal import Outcome
from forgekeep.service._core import ServiceContext, commit_with_event, request
from forgekeep.service.authz import Action
from forgekeep.service.ledger import SignedCheckpoint, signed_checkpoint, verifier

MAX_LISTED: Final = 10_000


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


def list_entries(
    ctx: ServiceContext,
    *,
    asset: str | None = None,
    principal: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[LogEntryInfo]:
    """Entries by asset (name or id), principal and time, for auditors who know no indices."""
    if not 0 < limit <= MAX_LISTED:
        raise UsageError(f"--limit is 1-{MAX_LISTED}")
    with request(ctx, Action.LEDGER_READ, "ls") as req, ctx.sessions() as session:
        query = select(Event).where(Event.tenant_id == ctx.tenant_id, Event.log_index.is_not(None))
        if principal is not None:
            query = query.where(Event.actor == principal)
        if since is not None:
            query = query.where(Event.at >= since)
        if asset is not None:
            ids = _asset_ids(session, ctx, asset)
            matches = [Event.detail.contains(f'"asset":"{i}"') for i in ids]
            query = query.where(or_(Event.target.in_([asset, *ids]), *matches))
        rows = session.scalars(query.order_by(Event.log_index).limit(limit)).all()
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [
            LogEntryInfo(
                int(r.log_index or 0), r.at, r.actor, r.action, r.outcome, r.target, r.request_id
            )
            for r in rows
        ]


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
    """Write the log (entries, a signed checkpoint, the verifier key) for an offline audit."""
    with request(ctx, Action.LEDGER_READ, "export") as req, ctx.sessions() as session:
        _new_directory(directory)
        req.authorize_tenant(cedar_action=str(Action.LEDGER_CHECKPOINT))  # it signs one
        signed = signed_checkpoint(session, ctx)
        with atomic_writer(directory / audit.ENTRIES_FILE, mode=0o644) as out:
            for entry in log.entries(session, ctx.tenant_id, 0, signed.size):
                out.write(entry + b"\n")
        vkey = verifier(session, ctx)
        write_atomic(directory / audit.KEY_FILE, (encode_vkey(vkey) + "\n").encode(), mode=0o644)
        write_atomic(directory / audit.CHECKPOINT_FILE, signed.note, mode=0o644)
        commit_with_event(session, ctx, req.event(Outcome.OK, size=signed.size))
        return ExportInfo(directory, signed.size, signed)
