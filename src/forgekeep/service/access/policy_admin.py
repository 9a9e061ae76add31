"""Applying a customer Cedar policy set: validate, request approval, apply once approved.

Security rules:

* A policy set is applied only through an approval of kind ``policy-apply``
  whose payload is ``{"sha256", "text"}`` of exactly that text; someone other
  than the requester must approve it (:mod:`forgekeep.service.access.approvals`).
* The text is bounded (``limits.MAX_POLICY_FILE_BYTES``) and validated against
  the schema together with the shipped baseline (unique ``@id``, a ``@reason``
  on every forbid) both when it is requested and again when it is applied.
* Only the requester applies it, once; the approval is consumed in the same
  transaction that records the new :class:`PolicyVersion`, and the journal event
  names the approval and the policy hash.
* The newest applied row is the active customer policy set; the baseline always
  applies as well and cannot be replaced through this path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.db.access import PolicyVersion
from forgekeep.errors import ApprovalRequiredError, FormatError, LimitExceededError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.policy import baseline_text
from forgekeep.policy.engine import parsed_schema
from forgekeep.policy.lint import check_files
from forgekeep.service.access.approvals import (
    ApprovalInfo,
    approval_info,
    consume_approval,
    find_approval,
    payload_sha256,
    request_approval,
)
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request

KIND: Final = "policy-apply"
REQUIRED: Final = 1
APPROVAL_TTL: Final = dt.timedelta(days=7)
TARGET: Final = "policy"
_SOURCE: Final = "(customer policy)"


@dataclass(frozen=True, slots=True)
class PolicyVersionInfo:
    version: int
    sha256: str
    approval_id: str
    applied_by: str
    applied_at: dt.datetime
    text: str


@dataclass(frozen=True, slots=True)
class PolicyView:
    """What ``forgekeep policy show`` prints: the baseline and the active customer set."""

    baseline: str
    active: PolicyVersionInfo | None


def _info(row: PolicyVersion) -> PolicyVersionInfo:
    return PolicyVersionInfo(
        row.id, row.sha256, row.approval_id, row.applied_by, row.applied_at, row.text
    )


def check_policy_text(text: str) -> str:
    """``text`` when it is a bounded, valid policy set next to the baseline; raises otherwise."""
    if not isinstance(text, str):
        raise UsageError("a policy set is text")
    if len(text.encode("utf-8", "surrogatepass")) > limits.MAX_POLICY_FILE_BYTES:
        raise LimitExceededError(f"a policy set is at most {limits.MAX_POLICY_FILE_BYTES} bytes")
    sources = [("(baseline)", baseline_text()), (_SOURCE, text)]
    problems, count = check_files(sources, parsed_schema())
    if problems:
        first = problems[0]
        where = f"{first.line}:{first.column}: " if first.line is not None else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FormatError(
            f"policy set is invalid: {where}{first.policy}: {first.message}{more}",
            hint="run `forgekeep policy validate --with-baseline FILE` to see every problem",
        )
    if count == 0 and text.strip():
        raise FormatError("policy set holds no policy", hint="see docs/policy.md")
    return text


def _text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_policy_apply(ctx: ServiceContext, text: str) -> ApprovalInfo:
    """Validate ``text`` and open a ``policy-apply`` approval for it (1 approver needed)."""
    with request(ctx, Action.POLICY_APPLY, TARGET) as req, ctx.sessions() as session:
        check_policy_text(text)
        digest = _text_sha256(text)
        row = request_approval(
            session,
            ctx,
            kind=KIND,
            target=TARGET,
            payload={"sha256": digest, "text": text},
            required=REQUIRED,
            ttl=APPROVAL_TTL,
        )
        info = approval_info(session, row, ctx.clock.now())
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK, step="request", approval=row.id, sha256=digest, required=REQUIRED
            ),
        )
        return info


def apply_policy(ctx: ServiceContext, approval_id: str) -> PolicyVersionInfo:
    """Apply the policy set an approved ``policy-apply`` approval holds (requester only)."""
    with request(ctx, Action.POLICY_APPLY, TARGET) as req, ctx.sessions() as session:
        row = find_approval(session, ctx, approval_id)
        payload = row.payload
        text, digest = payload.get("text"), payload.get("sha256")
        if row.kind != KIND or set(payload) != {"sha256", "text"} or not isinstance(text, str):
            raise ApprovalRequiredError(f"approval {row.id} is not a policy-apply approval")
        if digest != _text_sha256(text):
            raise ApprovalRequiredError(f"approval {row.id} holds a policy whose hash differs")
        check_policy_text(text)
        consume_approval(
            session,
            ctx,
            row.id,
            kind=KIND,
            payload_sha256=payload_sha256(payload),
            requester=ctx.principal_id,
        )
        version = PolicyVersion(
            tenant_id=ctx.tenant_id,
            text=text,
            sha256=digest,
            approval_id=row.id,
            applied_by=ctx.principal_id,
            applied_at=ctx.clock.now(),
        )
        session.add(version)
        session.flush()
        commit_with_event(
            session,
            ctx,
            req.event(Outcome.OK, step="apply", approval=row.id, sha256=digest, version=version.id),
        )
        return _info(version)


def active_policy(session: Session, tenant_id: str) -> PolicyVersion | None:
    """The newest applied customer policy set of the tenant, or None."""
    return session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.tenant_id == tenant_id)
        .order_by(PolicyVersion.id.desc())
        .limit(1)
    )


def show_policy(ctx: ServiceContext) -> PolicyView:
    """The shipped baseline and the active customer policy set (if any)."""
    with request(ctx, Action.POLICY_SHOW, TARGET) as req, ctx.sessions() as session:
        row = active_policy(session, ctx.tenant_id)
        active = None if row is None else _info(row)
        commit_with_event(
            session,
            ctx,
            req.event(Outcome.OK, version=None if active is None else active.version),
        )
        return PolicyView(baseline_text(), active)
