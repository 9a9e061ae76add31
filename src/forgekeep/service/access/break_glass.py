"""Break-glass: a time-boxed emergency grant of one principal to some assets.

Security rules:

* A grant needs an approval of kind ``break-glass`` signed by two distinct
  approvers other than the requester (:mod:`forgekeep.service.access.approvals`); the
  approval names the principal, the exact asset ids, the reason and the minutes.
* The grant lasts at most ``limits.MAX_BREAK_GLASS_MINUTES`` and covers at most
  ``limits.MAX_BREAK_GLASS_ASSETS`` assets; both are checked when it is
  requested and again when it is activated.
* Only the requester activates it, once (the approval is consumed in the same
  transaction); it starts at activation and ends at ``expires_at`` by the
  injected clock, or earlier when revoked.
* Activation is loud: the journal event carries ``break_glass=<id>`` and a
  warning is logged. The reason is journaled only as its length.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.db.access import BreakGlass
from forgekeep.db.models import Asset, Project
from forgekeep.errors import (
    ApprovalRequiredError,
    ConflictError,
    LimitExceededError,
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

KIND: Final = "break-glass"
REQUIRED: Final = 2
#: How long the two approvers have to sign: an emergency does not wait a week.
APPROVAL_TTL: Final = dt.timedelta(hours=24)
MAX_REASON: Final = 255
_FIELDS: Final = frozenset({"principal", "assets", "reason", "minutes"})
_log = structlog.get_logger("forgekeep.break_glass")


@dataclass(frozen=True, slots=True)
class BreakGlassInfo:
    id: str
    principal: str
    assets: tuple[str, ...]
    reason: str
    approval_id: str
    starts_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


def _info(row: BreakGlass) -> BreakGlassInfo:
    return BreakGlassInfo(
        row.id, row.principal_id, tuple(row.assets), row.reason, row.approval_id,
        row.starts_at, row.expires_at, row.revoked_at,
    )  # fmt: skip


def _minutes(duration: dt.timedelta) -> int:
    if not isinstance(duration, dt.timedelta) or duration % dt.timedelta(minutes=1):
        raise UsageError("a break-glass duration is a whole number of minutes")
    minutes = duration // dt.timedelta(minutes=1)
    if not 1 <= minutes <= limits.MAX_BREAK_GLASS_MINUTES:
        raise LimitExceededError(
            f"a break-glass grant lasts 1-{limits.MAX_BREAK_GLASS_MINUTES} minutes"
        )
    return minutes


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= len(reason) <= MAX_REASON:
        raise UsageError(f"a break-glass reason is 1-{MAX_REASON} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Cf"} for ch in reason):
        raise UsageError("a break-glass reason has no control or invisible characters")
    return reason


def _resolve(session: Session, ctx: ServiceContext, refs: Sequence[str]) -> list[str]:
    """Asset ids of ``project/name`` references (live assets of this tenant), sorted."""
    if isinstance(refs, str) or not 1 <= len(refs) <= limits.MAX_BREAK_GLASS_ASSETS:
        raise UsageError(f"a break-glass grant names 1-{limits.MAX_BREAK_GLASS_ASSETS} assets")
    found: set[str] = set()
    for ref in refs:
        project, sep, name = ref.partition("/") if isinstance(ref, str) else ("", "", "")
        if not sep or not project or not name:
            raise UsageError(f"asset {ref!r} is not project/name")
        asset_id = session.scalar(
            select(Asset.id)
            .join(Project, Asset.project_id == Project.id)
            .where(
                Asset.tenant_id == ctx.tenant_id,
                Project.name == project,
                Asset.name == name,
                Asset.deleted_at.is_(None),
            )
        )
        if asset_id is None:
            raise NotFoundError(f"no asset {ref!r}", hint="run `forgekeep ls`")
        found.add(asset_id)
    return sorted(found)


def request_break_glass(
    ctx: ServiceContext, *, assets: Sequence[str], reason: str, duration: dt.timedelta
) -> ApprovalInfo:
    """Ask for emergency access to ``assets`` (``project/name``); needs 2 approvers."""
    with request(ctx, Action.BREAK_GLASS, ctx.principal_id) as req, ctx.sessions() as session:
        minutes = _minutes(duration)
        text = _reason(reason)
        asset_ids = _resolve(session, ctx, assets)
        payload: dict[str, Any] = {
            "principal": ctx.principal_id,
            "assets": asset_ids,
            "reason": text,
            "minutes": minutes,
        }
        row = request_approval(
            session,
            ctx,
            kind=KIND,
            target=ctx.principal_id,
            payload=payload,
            required=REQUIRED,
            ttl=APPROVAL_TTL,
        )
        info = approval_info(session, row, ctx.clock.now())
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                step="request",
                approval=row.id,
                assets=len(asset_ids),
                minutes=minutes,
                reason_chars=len(text),
            ),
        )
        return info


def _checked_payload(payload: dict[str, Any], principal: str, approval_id: str) -> int:
    """The minutes of a stored break-glass payload for ``principal``; raises otherwise."""
    assets = payload.get("assets")
    if (
        set(payload) != _FIELDS
        or payload.get("principal") != principal
        or not isinstance(assets, list)
        or not all(isinstance(a, str) for a in assets)
        or not isinstance(payload.get("reason"), str)
        or not isinstance(payload.get("minutes"), int)
    ):
        raise ApprovalRequiredError(f"approval {approval_id} is not a break-glass for you")
    if not 1 <= len(assets) <= limits.MAX_BREAK_GLASS_ASSETS:
        raise LimitExceededError("the approved break-glass names too many assets")
    return _minutes(dt.timedelta(minutes=payload["minutes"]))


def activate_break_glass(ctx: ServiceContext, approval_id: str) -> BreakGlassInfo:
    """Start an approved break-glass grant now (requester only, once)."""
    with request(ctx, Action.BREAK_GLASS, str(approval_id)) as req, ctx.sessions() as session:
        approval, payload = own_approval(
            session,
            ctx,
            approval_id,
            kind=KIND,
            what="a break-glass",
            hint="the requester runs `forgekeep access break-glass activate ID`",
        )
        minutes = _checked_payload(payload, ctx.principal_id, approval.id)
        consume_approval(
            session,
            ctx,
            approval.id,
            kind=KIND,
            payload_sha256=payload_sha256(payload),
            requester=ctx.principal_id,
        )
        now = ctx.clock.now()
        row = BreakGlass(
            id=f"bg-{secrets.token_hex(8)}",
            tenant_id=ctx.tenant_id,
            principal_id=ctx.principal_id,
            assets=list(payload["assets"]),
            reason=payload["reason"],
            approval_id=approval.id,
            starts_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
            revoked_at=None,
        )
        session.add(row)
        event = req.event(
            Outcome.OK,
            step="activate",
            break_glass=row.id,
            approval=approval.id,
            assets=len(row.assets),
            minutes=minutes,
            expires=row.expires_at.isoformat(),
        )
        commit_with_event(session, ctx, event)
        _log.warning(
            "break-glass activated",
            break_glass=row.id,
            principal=row.principal_id,
            approval=approval.id,
            assets=len(row.assets),
            expires=row.expires_at.isoformat(),
            request=req.id,
        )
        return _info(row)


#: The further Cedar action to end another principal's grant (admins, as operators).
REVOKE_OTHERS = "break-glass.revoke"


def revoke_break_glass(ctx: ServiceContext, grant_id: str) -> BreakGlassInfo:
    """End a break-glass grant now (it stays on record, stamped ``revoked_at``)."""
    with request(ctx, Action.BREAK_GLASS, str(grant_id)) as req, ctx.sessions() as session:
        row = session.get(BreakGlass, grant_id) if isinstance(grant_id, str) else None
        if row is None or row.tenant_id != ctx.tenant_id:
            raise NotFoundError(f"no break-glass grant {grant_id!r}")
        if row.principal_id != ctx.principal_id:
            req.authorize_tenant(cedar_action=REVOKE_OTHERS)  # someone else's grant
        if row.revoked_at is not None:
            raise ConflictError(f"break-glass grant {row.id} was already revoked")
        row.revoked_at = ctx.clock.now()
        commit_with_event(session, ctx, req.event(Outcome.OK, step="revoke", break_glass=row.id))
        _log.warning("break-glass revoked", break_glass=row.id, request=req.id)
        return _info(row)
