"""Legal holds: a principal's records are kept, and nobody erases them, until the hold ends.

A hold is a row of ``legal_holds`` (one per principal), placed by
``forgekeep principals hold P --until DATE --reason R``. It ends by itself at
``until``, or earlier when it is lifted, which needs another person's signed
approval: ``hold P --release --reason R`` opens an approval of kind
``hold-release``; once approved, the requester runs
``hold --release --approval ID``.

Security rules:

* Holds fail closed. They live in the metadata database, so every process and
  every server on one database sees the same holds; there is no file that can
  be missing or unreadable and thereby mean "no hold".
* Placing a hold writes the row and its journal event in one transaction.
  A hold may be extended or replaced by a later one, never shortened: an
  earlier end is a lift, and a lift needs approval.
* Lifting needs an approval signed by someone other than the requester (the
  approvals machinery refuses the requester's own verdict). The approval binds
  the exact hold (its end and when it was set): if the hold changed since the
  request, the approval no longer applies. The row is kept, marked released.
* Every check and every change of a principal's hold first locks the
  principal's row (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
  serializes writers already). Erasure checks holds under that lock in the
  transaction that records the erasure, so a hold placed concurrently is
  either seen by the erasure or placed after it, never missed.
* Export-controlled activity (ITAR, EAR) by the person in the last
  ``RETENTION_YEARS`` years is an implicit hold that nobody lifts.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.models import Asset, Event, Principal
from forgekeep.db.state import LegalHold
from forgekeep.errors import (
    ApprovalRequiredError,
    ConflictError,
    LegalHoldError,
    NotFoundError,
    UsageError,
)
from forgekeep.ledger.journal import Outcome
from forgekeep.service.access.approvals import (
    ApprovalInfo,
    approval_info,
    consume_approval,
    own_approval,
    payload_sha256,
    request_approval,
)
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request

RELEASE_KIND: Final = "hold-release"
RELEASE_REQUIRED: Final = 1
RELEASE_TTL: Final = dt.timedelta(days=7)
#: ITAR (22 CFR 122.5) and EAR (15 CFR 762.6) records are kept five years.
RETENTION_YEARS: Final = 5
CONTROLLED_REGIMES: Final = ("ITAR", "EAR")
MAX_REASON: Final = 255
ERASED: Final = "erased"
_RELEASE_FIELDS: Final = frozenset({"principal", "until", "set_at", "reason"})
_RELEASE_HINT: Final = "the requester runs `forgekeep principals hold --release --approval ID`"


@dataclass(frozen=True, slots=True)
class LegalHoldInfo:
    principal: str
    until: dt.datetime | None  # None once released
    released: bool


def check_reason(reason: str) -> str:
    """A reason: 1-255 characters, no control or invisible characters."""
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= len(reason) <= MAX_REASON:
        raise UsageError(f"a reason is 1-{MAX_REASON} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Cf"} for ch in reason):
        raise UsageError("a reason has no control or invisible characters")
    return reason


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def _years_before(when: dt.datetime, years: int) -> dt.datetime:
    try:
        return when.replace(year=when.year - years)
    except ValueError:  # 29 February
        return when.replace(year=when.year - years, day=28)


def locked_principal(session: Session, ctx: ServiceContext, principal_id: str) -> Principal:
    """The principal's row, locked until commit: holds and erasure of one person serialize."""
    row = session.get(Principal, str(principal_id), with_for_update=True, populate_existing=True)
    if row is None or row.tenant_id != ctx.tenant_id:
        raise NotFoundError(f"no principal {principal_id!r}", hint="run `forgekeep principals ls`")
    return row


def _hold_row(session: Session, ctx: ServiceContext, pseudonym: str) -> LegalHold | None:
    return session.get(
        LegalHold, (ctx.tenant_id, pseudonym), with_for_update=True, populate_existing=True
    )


def _in_force(hold: LegalHold | None, now: dt.datetime) -> LegalHold | None:
    if hold is None or hold.released_at is not None or now >= hold.until:
        return None
    return hold


def _controlled_activity(
    session: Session, ctx: ServiceContext, pseudonym: str, since: dt.datetime
) -> str | None:
    """An export-controlled asset the person's events touched since ``since``, if any."""
    controlled = set(
        session.scalars(
            select(Asset.id).where(
                Asset.tenant_id == ctx.tenant_id, Asset.export_regime.in_(CONTROLLED_REGIMES)
            )
        )
    )
    if not controlled:
        return None
    rows = session.execute(
        select(Event.target, Event.detail).where(
            Event.tenant_id == ctx.tenant_id, Event.actor == pseudonym, Event.at >= since
        )
    )
    for target, detail in rows:
        if target in controlled:
            return str(target)
        try:
            asset = json.loads(detail).get("asset")
        except (ValueError, AttributeError):
            continue
        if asset in controlled:
            return str(asset)
    return None


def check_legal_hold(session: Session, ctx: ServiceContext, pseudonym: str) -> None:
    """Raise :class:`LegalHoldError` if the person's records must still be kept.

    Locks the principal's row first, so the answer holds until the caller commits.
    """
    locked_principal(session, ctx, pseudonym)
    now = ctx.clock.now()
    hold = _in_force(_hold_row(session, ctx, pseudonym), now)
    if hold is not None:
        raise LegalHoldError(f"{pseudonym} is under a legal hold until {_iso(hold.until)}")
    asset = _controlled_activity(session, ctx, pseudonym, _years_before(now, RETENTION_YEARS))
    if asset is not None:
        raise LegalHoldError(
            f"{pseudonym} acted on export-controlled asset {asset} within the last "
            f"{RETENTION_YEARS} years; ITAR and EAR records are kept that long"
        )


def _check_until(until: dt.datetime, now: dt.datetime) -> dt.datetime:
    if not isinstance(until, dt.datetime) or until.utcoffset() is None:
        raise UsageError("a hold ends at a time with a timezone")
    if until <= now:
        raise UsageError("a hold ends in the future")
    return until.astimezone(dt.UTC)


def set_legal_hold(
    ctx: ServiceContext, principal_id: str, *, until: dt.datetime, reason: str
) -> LegalHoldInfo:
    """Hold a principal's records until ``until`` (extends or replaces a hold in force)."""
    with request(ctx, Action.PRINCIPAL_HOLD, str(principal_id)) as req, ctx.sessions() as session:
        text = check_reason(reason)
        row = locked_principal(session, ctx, principal_id)
        if row.status == ERASED:
            raise ConflictError(f"{row.id} was erased already")
        now = ctx.clock.now()
        end = _check_until(until, now)
        hold = _hold_row(session, ctx, row.id)
        current = _in_force(hold, now)
        if current is not None and end < current.until:
            raise ConflictError(
                f"{row.id} is held until {_iso(current.until)}; a hold is never shortened",
                hint="lifting a hold early needs approval: `forgekeep principals hold P --release`",
            )
        if hold is None:
            hold = LegalHold(tenant_id=ctx.tenant_id, principal_id=row.id)
            session.add(hold)
        hold.until, hold.reason, hold.set_by, hold.set_at = end, text, ctx.principal_id, now
        hold.released_at = hold.released_by = hold.release_approval = None
        event = req.event(Outcome.OK, step="hold", until=_iso(end), reason_chars=len(text))
        commit_with_event(session, ctx, event)
        return LegalHoldInfo(row.id, end, released=False)


def _release_payload(hold: LegalHold, reason: str) -> dict[str, str]:
    return {
        "principal": hold.principal_id,
        "until": _iso(hold.until),
        "set_at": _iso(hold.set_at),
        "reason": reason,
    }


def request_hold_release(ctx: ServiceContext, principal_id: str, *, reason: str) -> ApprovalInfo:
    """Ask to lift a principal's hold early; another person must approve it."""
    with request(ctx, Action.PRINCIPAL_HOLD, str(principal_id)) as req, ctx.sessions() as session:
        text = check_reason(reason)
        row = locked_principal(session, ctx, principal_id)
        hold = _in_force(_hold_row(session, ctx, row.id), ctx.clock.now())
        if hold is None:
            raise NotFoundError(f"{row.id} has no legal hold in force")
        approval = request_approval(
            session,
            ctx,
            kind=RELEASE_KIND,
            target=row.id,
            payload=_release_payload(hold, text),
            required=RELEASE_REQUIRED,
            ttl=RELEASE_TTL,
        )
        info = approval_info(session, approval, ctx.clock.now())
        event = req.event(
            Outcome.OK, step="release-request", approval=approval.id, reason_chars=len(text)
        )
        commit_with_event(session, ctx, event)
        return info


def _approved_release(payload: dict[str, Any], approval_id: str) -> str:
    principal = payload.get("principal")
    if set(payload) != _RELEASE_FIELDS or not isinstance(principal, str):
        raise ApprovalRequiredError(f"approval {approval_id} is not a hold release")
    return principal


def release_legal_hold(ctx: ServiceContext, approval_id: str) -> LegalHoldInfo:
    """Lift a hold under an approved ``hold-release`` approval (requester only, once)."""
    with request(ctx, Action.PRINCIPAL_HOLD, str(approval_id)) as req, ctx.sessions() as session:
        approval, payload = own_approval(
            session, ctx, approval_id, kind=RELEASE_KIND, what="a hold release", hint=_RELEASE_HINT
        )
        row = locked_principal(session, ctx, _approved_release(payload, approval.id))
        now = ctx.clock.now()
        hold = _in_force(_hold_row(session, ctx, row.id), now)
        if hold is None or _release_payload(hold, payload["reason"]) != payload:
            raise ApprovalRequiredError(
                f"approval {approval.id} no longer applies: the hold on {row.id} changed or ended",
                hint="request a new release for the hold in force",
            )
        consume_approval(
            session,
            ctx,
            approval.id,
            kind=RELEASE_KIND,
            payload_sha256=payload_sha256(payload),
            requester=ctx.principal_id,
        )
        hold.released_at, hold.released_by, hold.release_approval = (
            now,
            ctx.principal_id,
            approval.id,
        )
        event = req.event(Outcome.OK, step="release", approval=approval.id, principal=row.id)
        commit_with_event(session, ctx, event)
        return LegalHoldInfo(row.id, None, released=True)
