"""Erasure of a person (``forgekeep principals erase``) and legal holds.

A person's display name, citizenships and location are sealed under an
attribute key wrapped by the person's *own* domain key in the tenant's
``subjects`` ring (``DomainKeyRef(ring, pseudonym)``, see
:mod:`forgekeep.identity.principals`). Erasure destroys that domain key in the
key manager and clears the sealed columns, so every earlier copy of the
database (dumps, backups, exports) holds only ciphertext that no key opens any
more. Records and journal events name the person by pseudonym only and are
left untouched, so every transparency-log proof still verifies.

Security rules:

* An erasure needs an approval of kind ``erase`` signed by two distinct
  approvers other than the requester; only the requester executes it, once.
* Nobody erases themselves, a machine, an unknown or already erased principal,
  or the tenant's last active admin; all checks run at request and again at
  execution.
* Erasure is refused (:class:`LegalHoldError`) while a legal hold applies: an
  explicit hold (``principals hold``, :mod:`forgekeep.service.ledger.holds`) that has
  not ended, or any journal event by the person touching an ITAR- or
  EAR-controlled asset in the last ``RETENTION_YEARS`` years (export-control
  record keeping). Holds are checked under a lock on the principal's row in the
  very transaction that records the erasure, so a hold placed concurrently is
  never missed.
* The key is destroyed before the database commits: if the commit fails the
  erasure can be retried (destruction is idempotent here), and a row never
  says "erased" while its key lives.
* Journal events carry the pseudonym, approval id and lengths only, never the
  reason text or personal attributes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.models import Principal
from forgekeep.errors import ApprovalRequiredError, ConflictError, UsageError
from forgekeep.keys.protocol import DomainKeyRef, KeyState
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
from forgekeep.service.ledger.holds import (
    ERASED,
    check_legal_hold,
    check_reason,
    locked_principal,
)

KIND: Final = "erase"
REQUIRED: Final = 2
APPROVAL_TTL: Final = dt.timedelta(days=7)
_FIELDS: Final = frozenset({"principal", "reason"})


@dataclass(frozen=True, slots=True)
class ErasureInfo:
    principal: str
    approval_id: str
    destroyed_at: dt.datetime
    backend: str


# -- erasure -------------------------------------------------------------------


def _check_erasable(session: Session, ctx: ServiceContext, principal_id: str) -> Principal:
    row = locked_principal(session, ctx, principal_id)
    if row.id == ctx.principal_id:
        raise UsageError("you cannot erase yourself", hint="ask another admin to request it")
    if row.status == ERASED:
        raise ConflictError(f"{row.id} was erased already")
    if row.kind != "person":
        raise UsageError(f"{row.id} is a {row.kind}; only people are erased (suspend it)")
    if "admin" in row.roles and row.status == "active":
        others = session.scalars(
            select(Principal.roles).where(
                Principal.tenant_id == ctx.tenant_id,
                Principal.status == "active",
                Principal.id != row.id,
            )
        )
        if not any("admin" in (roles or ()) for roles in others):
            raise ConflictError(f"{row.id} is the last active admin and cannot be erased")
    check_legal_hold(session, ctx, row.id)
    return row


def request_erasure(ctx: ServiceContext, principal_id: str, *, reason: str) -> ApprovalInfo:
    """Ask to erase a person's personal data; needs 2 approvers other than you."""
    target = str(principal_id)
    with request(ctx, Action.PRINCIPAL_ERASE, target) as req, ctx.sessions() as session:
        text = check_reason(reason)
        row = _check_erasable(session, ctx, target)
        approval = request_approval(
            session,
            ctx,
            kind=KIND,
            target=row.id,
            payload={"principal": row.id, "reason": text},
            required=REQUIRED,
            ttl=APPROVAL_TTL,
        )
        info = approval_info(session, approval, ctx.clock.now())
        event = req.event(Outcome.OK, step="request", approval=approval.id, reason_chars=len(text))
        commit_with_event(session, ctx, event)
        return info


def _approved_subject(payload: dict[str, Any], approval_id: str) -> str:
    principal = payload.get("principal")
    if set(payload) != _FIELDS or not isinstance(principal, str):
        raise ApprovalRequiredError(f"approval {approval_id} is not an erasure")
    check_reason(payload["reason"])
    return principal


def erase(ctx: ServiceContext, approval_id: str) -> ErasureInfo:
    """Run an approved erasure (requester only, once): destroy the subject key."""
    with request(ctx, Action.PRINCIPAL_ERASE, str(approval_id)) as req, ctx.sessions() as session:
        approval, payload = own_approval(
            session,
            ctx,
            approval_id,
            kind=KIND,
            what="an erasure",
            hint="the requester runs `forgekeep principals erase --approval ID`",
        )
        row = _check_erasable(session, ctx, _approved_subject(payload, approval.id))
        consume_approval(
            session,
            ctx,
            approval.id,
            kind=KIND,
            payload_sha256=payload_sha256(payload),
            requester=ctx.principal_id,
        )
        ref = DomainKeyRef(ring=row.subject_ring, domain=row.id)
        row.attrs_wrapped_key = None
        row.attrs_sealed = None
        row.status = ERASED
        session.flush()  # the row update reaches the database before the key goes
        if ctx.key_manager.describe(ref.ring, ref.domain).state is KeyState.DESTROYED:
            destroyed_at, backend = ctx.clock.now(), "already-destroyed"
        else:
            record = ctx.key_manager.destroy(ref)
            destroyed_at, backend = record.destroyed_at, record.backend
        event = req.event(
            Outcome.OK,
            step="erase",
            approval=approval.id,
            principal=row.id,
            destroyed=destroyed_at.isoformat(),
        )
        commit_with_event(session, ctx, event)
        return ErasureInfo(row.id, approval.id, destroyed_at, backend)
