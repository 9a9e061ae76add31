"""Approvals: other principals' signed consent to one exact payload.

An action that needs approval (a policy apply, a break-glass grant, later a key
destruction, an erasure or lifting a legal hold) records an :class:`Approval` naming its payload by
``payload_sha256`` = SHA-256(JCS(payload)). Approvers sign a signed object of
type ``approval`` (docs/formats/signed-objects.md) with the key registered for
them by ``forgekeep principals set-key``; the action runs only after
:func:`consume_approval` accepts the approval, once.

Signed verdicts are built and verified by :mod:`forgekeep.service.access.verdicts`
(the approver is proven by the signature under their registered key, whoever
submits it); its public names are re-exported here.

Security rules:

* The requester never approves their own request; an approver must be active;
  each approver gives one verdict; one rejection rejects the request; the
  approval is granted when ``required`` distinct approvers approved it.
* Nothing is decided on or consumed after ``expires_at`` (the injected clock);
  an approval's lifetime is bounded by ``limits.MAX_APPROVAL_TTL_HOURS``.
* Signed verdicts are stored verbatim. :func:`consume_approval` re-verifies
  every stored signature against the approvers' *current* keys and status,
  checks kind, payload hash and requester exactly, and flips the status from
  ``approved`` to ``consumed`` atomically, so an approval is used at most once.
* Every decision and every refusal is journaled (refusals by :func:`request`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.crypto.canonical import canonical_json
from forgekeep.crypto.signed import SignerKey
from forgekeep.db.access import Approval, ApprovalSignature
from forgekeep.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.ledger.journal import Outcome
from forgekeep.service.access.verdicts import (
    APPROVAL_TYPE,
    APPROVE,
    CLOCK_SKEW,
    REJECT,
    SHOW_HINT,
    VERDICT_FIELDS,
    VERDICTS,
    Signing,
    VerdictInfo,
    as_bytes,
    binding,
    check_verdict,
    format_time,
    refuse,
    signatures,
    valid_approvers,
    verdict_payload,
)
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request

#: The fewest approvals each known kind accepts; other kinds need at least one.
MIN_APPROVALS: Final[Mapping[str, int]] = {
    "policy-apply": 1,
    "break-glass": 2,
    "key-destroy": 2,
    "erase": 2,
    "hold-release": 1,
}
STATUSES: Final = ("pending", "approved", "rejected", "consumed", "expired")
_KIND: Final = re.compile(r"[a-z][a-z0-9-]{0,31}")
#: The public API, including the verdict names re-exported from ``_approval_verdicts``.
__all__ = [
    "APPROVAL_TYPE",
    "APPROVE",
    "CLOCK_SKEW",
    "MIN_APPROVALS",
    "REJECT",
    "STATUSES",
    "VERDICTS",
    "VERDICT_FIELDS",
    "ApprovalDetail",
    "ApprovalInfo",
    "VerdictInfo",
    "approval_info",
    "approve",
    "approve_signed",
    "binding",
    "consume_approval",
    "find_approval",
    "format_time",
    "list_approvals",
    "own_approval",
    "payload_sha256",
    "reject",
    "reject_signed",
    "request_approval",
    "show_approval",
    "verdict_payload",
]


@dataclass(frozen=True, slots=True)
class ApprovalInfo:
    id: str
    kind: str
    target: str
    requester: str
    required: int
    approvals: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    payload_sha256: str


@dataclass(frozen=True, slots=True)
class ApprovalDetail:
    approval: ApprovalInfo
    verdicts: tuple[VerdictInfo, ...]
    payload: Mapping[str, Any]
    #: What an approver signs (as type ``approval``), with ``verdict``,
    #: ``approver`` and ``signed_at`` still to fill in.
    to_sign: Mapping[str, str]


def payload_sha256(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``payload``."""
    return hashlib.sha256(canonical_json(dict(payload))).hexdigest()


def _status(row: Approval, now: dt.datetime) -> str:
    if row.status == "pending" and now >= row.expires_at:
        return "expired"
    return row.status


def approval_info(session: Session, row: Approval, now: dt.datetime) -> ApprovalInfo:
    """The listable summary of one approval (its effective status at ``now``)."""
    approvals = sum(1 for s in signatures(session, row.id) if s.verdict == APPROVE)
    return ApprovalInfo(
        row.id, row.kind, row.target, row.requester, row.required, approvals,
        _status(row, now), row.created_at, row.expires_at, row.payload_sha256,
    )  # fmt: skip


def find_approval(
    session: Session, ctx: ServiceContext, approval_id: str, *, lock: bool = False
) -> Approval:
    """An approval of this tenant; ``lock`` holds its row until commit (where the database can)."""
    query = select(Approval).where(Approval.id == str(approval_id))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.tenant_id != ctx.tenant_id:
        raise NotFoundError(f"no approval {approval_id!r}", hint="run `forgekeep approvals ls`")
    return row


# -- requesting (inside another use case) ------------------------------------


def _check_request(kind: str, target: str, required: int, ttl: dt.timedelta) -> None:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise UsageError("an approval kind is [a-z][a-z0-9-]{0,31}")
    if not isinstance(target, str) or not 1 <= len(target) <= limits.MAX_NAME_BYTES:
        raise UsageError(f"an approval target is 1-{limits.MAX_NAME_BYTES} characters")
    least = MIN_APPROVALS.get(kind, 1)
    if isinstance(required, bool) or not isinstance(required, int):
        raise UsageError("the number of required approvals is an integer")
    if not least <= required <= limits.MAX_APPROVERS:
        raise UsageError(f"a {kind} approval needs {least}-{limits.MAX_APPROVERS} approvers")
    longest = dt.timedelta(hours=limits.MAX_APPROVAL_TTL_HOURS)
    if not dt.timedelta(0) < ttl <= longest:
        raise LimitExceededError(
            f"an approval lives more than 0 and at most {limits.MAX_APPROVAL_TTL_HOURS} hours"
        )


def request_approval(
    session: Session,
    ctx: ServiceContext,
    *,
    kind: str,
    target: str,
    payload: Mapping[str, Any],
    required: int,
    ttl: dt.timedelta,
) -> Approval:
    """Record a pending approval requested by the acting principal; the caller commits."""
    _check_request(kind, target, required, ttl)
    document = canonical_json(dict(payload))
    if len(document) > limits.MAX_APPROVAL_PAYLOAD_BYTES:
        raise LimitExceededError(
            f"an approval payload is at most {limits.MAX_APPROVAL_PAYLOAD_BYTES} bytes"
        )
    now = ctx.clock.now()
    row = Approval(
        id=f"ap-{secrets.token_hex(8)}",
        tenant_id=ctx.tenant_id,
        kind=kind,
        target=target,
        payload=dict(payload),
        payload_sha256=hashlib.sha256(document).hexdigest(),
        requester=ctx.principal_id,
        required=required,
        status="pending",
        created_at=now,
        expires_at=now + ttl,
        decided_at=None,
        consumed_at=None,
    )
    session.add(row)
    session.flush()
    return row


# -- deciding -----------------------------------------------------------------


def _record_verdict(
    session: Session, ctx: ServiceContext, row: Approval, document: bytes, expected: str
) -> ApprovalSignature:
    """Verify one signed verdict on ``row`` and store it; raises on any refusal."""
    now = ctx.clock.now()
    status = _status(row, now)
    if status != "pending":
        raise ConflictError(f"approval {row.id} is {status}, not pending", hint=SHOW_HINT)
    verdict = check_verdict(session, ctx, row, document, expected, now)
    stored = ApprovalSignature(
        approval_id=row.id,
        approver=verdict.approver,
        verdict=verdict.verdict,
        key_id=verdict.key_id,
        document=bytes(document),
        signed_at=verdict.signed_at,
    )
    session.add(stored)
    session.flush()
    approvals = sum(1 for s in signatures(session, row.id) if s.verdict == APPROVE)
    if verdict.verdict == REJECT or approvals >= row.required:
        row.status = "rejected" if verdict.verdict == REJECT else "approved"
        row.decided_at = now
    return stored


def _decide(ctx: ServiceContext, approval_id: str, sign_with: Signing) -> ApprovalInfo:
    with (
        request(ctx, Action.APPROVAL_DECIDE, str(approval_id)) as req,
        ctx.sessions() as session,
    ):
        row = find_approval(session, ctx, approval_id, lock=True)  # verdicts counted in turn
        document = sign_with.document(session, ctx, row)
        stored = _record_verdict(session, ctx, row, document, sign_with.verdict)
        info = approval_info(session, row, ctx.clock.now())
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                kind=row.kind,
                verdict=stored.verdict,
                approver=stored.approver,
                key=stored.key_id,
                approvals=info.approvals,
                required=row.required,
                status=info.status,
            ),
        )
        return info


def approve(ctx: ServiceContext, approval_id: str, signer: SignerKey) -> ApprovalInfo:
    """Approve as the principal whose registered key ``signer`` is."""
    return _decide(ctx, approval_id, Signing(APPROVE, signer=signer))


def reject(ctx: ServiceContext, approval_id: str, signer: SignerKey) -> ApprovalInfo:
    """Reject as the principal whose registered key ``signer`` is; one rejection is final."""
    return _decide(ctx, approval_id, Signing(REJECT, signer=signer))


def approve_signed(ctx: ServiceContext, approval_id: str, document: bytes) -> ApprovalInfo:
    """Submit an approval signed elsewhere (an ``approval`` signed object, verified here)."""
    return _decide(ctx, approval_id, Signing(APPROVE, signed=as_bytes(document)))


def reject_signed(ctx: ServiceContext, approval_id: str, document: bytes) -> ApprovalInfo:
    """Submit a rejection signed elsewhere (an ``approval`` signed object, verified here)."""
    return _decide(ctx, approval_id, Signing(REJECT, signed=as_bytes(document)))


# -- consuming (inside the approved action's use case) -----------------------


def consume_approval(
    session: Session,
    ctx: ServiceContext,
    approval_id: str,
    *,
    kind: str,
    payload_sha256: str,
    requester: str,
) -> Approval:
    """Use an approved approval once; the caller commits (ApprovalRequiredError otherwise)."""
    row = session.get(Approval, approval_id) if isinstance(approval_id, str) else None
    if row is None or row.tenant_id != ctx.tenant_id:
        raise refuse(str(approval_id), "there is no such approval")
    now = ctx.clock.now()
    if row.kind != kind or row.payload_sha256 != payload_sha256:
        raise refuse(row.id, "it approves a different action or payload")
    if row.requester != requester:
        raise refuse(row.id, "it was requested by another principal")
    if now >= row.expires_at:
        raise refuse(row.id, f"it expired at {format_time(row.expires_at)}")
    if row.status != "approved":
        raise refuse(row.id, f"it is {row.status}")
    if payload_sha256 != hashlib.sha256(canonical_json(row.payload)).hexdigest():
        raise refuse(row.id, "its stored payload does not match its hash")
    if len(valid_approvers(session, ctx, row)) < row.required:
        raise refuse(row.id, f"fewer than {row.required} approvals still verify")
    claimed = session.execute(
        update(Approval)
        .where(Approval.id == row.id, Approval.status == "approved")
        .values(status="consumed", consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise refuse(row.id, "it was used already")
    session.refresh(row)
    return row


def own_approval(
    session: Session, ctx: ServiceContext, approval_id: str, *, kind: str, what: str, hint: str
) -> tuple[Approval, dict[str, Any]]:
    """The caller's own approval of ``kind`` and a copy of its payload, before
    :func:`consume_approval`: only the requester runs what others approved."""
    approval = find_approval(session, ctx, approval_id)
    if approval.kind != kind:
        raise ApprovalRequiredError(f"approval {approval.id} is not {what} approval")
    if approval.requester != ctx.principal_id:
        raise AccessDeniedError(f"only the principal who requested {what} can run it", hint=hint)
    return approval, dict(approval.payload)


# -- reading ------------------------------------------------------------------


def list_approvals(ctx: ServiceContext, *, status: str | None = None) -> list[ApprovalInfo]:
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"use one of {', '.join(STATUSES)}")
    with request(ctx, Action.APPROVAL_LIST, "*") as req, ctx.sessions() as session:
        now = ctx.clock.now()
        rows = session.scalars(
            select(Approval)
            .where(Approval.tenant_id == ctx.tenant_id)
            .order_by(Approval.created_at, Approval.id)
        ).all()
        items = [approval_info(session, r, now) for r in rows]
        if status is not None:
            items = [i for i in items if i.status == status]
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(items)))
        return items


def show_approval(ctx: ServiceContext, approval_id: str) -> ApprovalDetail:
    with (
        request(ctx, Action.APPROVAL_SHOW, str(approval_id)) as req,
        ctx.sessions() as session,
    ):
        row = find_approval(session, ctx, approval_id)
        verdicts = tuple(
            VerdictInfo(s.approver, s.verdict, s.key_id, s.signed_at)
            for s in signatures(session, row.id)
        )
        info = approval_info(session, row, ctx.clock.now())
        to_sign = binding(row, ctx.tenant_id)
        commit_with_event(session, ctx, req.event(Outcome.OK, kind=row.kind, status=info.status))
        return ApprovalDetail(info, verdicts, dict(row.payload), to_sign)
