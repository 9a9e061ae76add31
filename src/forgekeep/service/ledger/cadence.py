"""The embedded checkpoint cadence: a vault signs a checkpoint as it closes.

Security rules:

* When a vault closes after its commands grew the log, it signs (and mirrors
  to the site) a checkpoint of the whole log, so an entry waits for a
  signature only as long as the command that wrote it runs. Long-running
  hosts sign one every second instead (``group_commit``); ``ledger verify``
  fails when entries stay uncovered longer than ``[ledger]
  max_uncovered_seconds`` (:mod:`forgekeep.service.ledger.verify`).
* It never signs over entries that were already older than that lag when the
  vault opened: those should have been covered by an earlier command, so a
  checkpoint was deleted or a process died before signing. Signing over them
  silently would bless a tail that may have been rewritten; the vault warns
  instead, ``ledger verify`` reports them, and an admin signs over them with
  ``ledger checkpoint`` once they have checked (docs/operations.md).
* It never signs over a broken tail (:func:`forgekeep.ledger.log.require_intact_tail`).
* Failing to sign never fails the command, whose events are already durable:
  the entries stay uncovered, which ``ledger verify`` reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from forgekeep.db.models import Event
from forgekeep.errors import ForgekeepError, LogKeyMissingError
from forgekeep.ledger import log
from forgekeep.ledger.entry import parse_entry
from forgekeep.service.context import ServiceContext
from forgekeep.service.ledger.log import SignedCheckpoint, latest_checkpoint, signed_checkpoint

_log = structlog.get_logger("forgekeep.ledger")


def sign_if_grown(ctx: ServiceContext, opened_at: dt.datetime) -> SignedCheckpoint | None:
    """Sign a checkpoint if the log grew past the newest one; ``None`` if nothing was due
    or the uncovered entries predate ``opened_at`` by more than the allowed lag."""
    with ctx.sessions() as session:
        size = log.log_size(session, ctx.tenant_id)
        latest = latest_checkpoint(session, ctx.tenant_id)
        covered = 0 if latest is None else latest.size
        if size <= covered:
            return None
        first = session.scalar(
            select(Event.entry).where(Event.tenant_id == ctx.tenant_id, Event.log_index == covered)
        )
        lag = dt.timedelta(seconds=ctx.settings.ledger.max_uncovered_seconds)
        oldest = None if first is None else parse_entry(bytes(first)).at
        if oldest is None or oldest < opened_at - lag:
            _log.warning(
                "log entries are overdue for a checkpoint; not signing over them",
                first=covered,
                last=size - 1,
                since=None if oldest is None else oldest.isoformat(),
                hint="run `forgekeep ledger verify`",
            )
            return None
        signed = signed_checkpoint(session, ctx)
        session.commit()
        return signed


def closer(ctx: ServiceContext) -> contextlib.AbstractContextManager[object]:
    """What the vault runs as it closes (before the database engine is disposed)."""
    opened_at = ctx.clock.now()

    def close() -> None:
        try:
            sign_if_grown(ctx, opened_at)
        except IntegrityError:
            pass  # another process signed a checkpoint of the same size first: it covers us
        except LogKeyMissingError:
            pass  # made by an older release: `doctor` reports it, `doctor --fix` mends it
        except (ForgekeepError, SQLAlchemyError) as exc:
            _log.warning("could not sign a checkpoint on close", error=str(exc))

    stack = contextlib.ExitStack()
    stack.callback(close)
    return stack
