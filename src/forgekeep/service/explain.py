"""``access explain``: why a request was decided the way it was.

Security rules:

* Explaining is itself an authorized, journaled action (``access.explain``).
  Vetted admins and auditors may explain any request and ask "what if"; every
  other member — an unvetted person too, so a refusal can always be understood —
  may explain only requests it made itself.
* An explanation shows the action, the outcome, the error code, and the
  ``@id`` and ``@reason`` codes of the deciding policies as journaled. It never
  shows personal attributes: reasons are codes such as
  ``citizenship-outside-export-authorisation``, not the citizenships.
* Codes that reveal personal attributes are sealed in the entry under the
  subject's key (:mod:`forgekeep.service._sealed_reasons`). They are opened for
  the subject itself, or for an explainer the policies allow
  ``access.explain-sealed`` (vetted admins and auditors acting from an operator
  jurisdiction); anyone else is refused, and the refusal is journaled. A
  what-if verdict about a person is sealed under that person's key too.
* A what-if decision (``--principal --action --asset``) is evaluated exactly as
  a real request would be, but enforces nothing and touches no key or blob.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.models import AssetVersion, Event, Project
from forgekeep.errors import AccessDeniedError, IntegrityError, NotFoundError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.service._access_entities import AssetTarget
from forgekeep.service._core import Request, ServiceContext, commit_with_event, request
from forgekeep.service._sealed_reasons import EXPLAIN_SEALED, open_fields, seal_fields
from forgekeep.service.authz import CLASSIFICATION_LEVELS, Action
from forgekeep.service.reading import resolve_asset

#: Cedar actions that can be asked about an asset.
ASSET_VERBS: Final = (
    "read",
    "download",
    "modify",
    "manufacture",
    "share",
    "sublicense",
    "inspect",
    "delete",
    "classify",
)
_OVERSEERS: Final = frozenset({"admin", "auditor"})
MAX_EXPLAINED_EVENTS: Final = 64


@dataclass(frozen=True, slots=True)
class ExplainedEvent:
    at: dt.datetime
    action: str
    outcome: str
    actor: str
    target: str
    code: str | None
    policies: tuple[str, ...]
    reasons: tuple[str, ...]
    sealed: str | None = None  # "opened", "unreadable" (subject erased), or None


@dataclass(frozen=True, slots=True)
class Explanation:
    request_id: str
    events: tuple[ExplainedEvent, ...]


@dataclass(frozen=True, slots=True)
class WhatIf:
    principal: str
    action: str
    asset: str
    allowed: bool
    policies: tuple[str, ...]
    reasons: tuple[str, ...]
    licence: str | None
    export_auth: str | None
    request_id: str


def _split(value: object) -> tuple[str, ...]:
    return tuple(v for v in str(value).split(",") if v) if value else ()


def _explained(row: Event) -> ExplainedEvent:
    detail = json.loads(row.detail)
    return ExplainedEvent(
        at=row.at,
        action=row.action,
        outcome=row.outcome,
        actor=row.actor,
        target=row.target,
        code=detail.get("code"),
        policies=_split(detail.get("policy")),
        reasons=_split(detail.get("reasons")),
    )


def _revealed(req: Request, session: Session, row: Event) -> ExplainedEvent:
    """The event, its sealed codes opened for the subject or an authorised explainer."""
    event, detail = _explained(row), json.loads(row.detail)
    if "sealed_for" not in detail:
        return event
    ctx = req.ctx
    if detail["sealed_for"] != ctx.principal_id:
        req.authorize_tenant(cedar_action=EXPLAIN_SEALED)  # refused and journaled otherwise
    opened = open_fields(session, ctx.key_manager, ctx.tenant_id, detail, row.request_id)
    if opened is None:
        return dataclasses.replace(event, sealed="unreadable")
    return dataclasses.replace(
        event,
        reasons=_split(opened.get("reasons")),
        policies=_split(opened.get("policy")),
        sealed="opened",
    )


def _oversees(req: Request) -> bool:
    """Admins and auditors with current vetting see every request; others their own."""
    actor = req.actor
    if actor is None or not _OVERSEERS.intersection(actor.roles):
        return False
    vetted = actor.vetting_expires
    return actor.kind != "person" or (vetted is not None and vetted > req.facts.now)


def explain_request(ctx: ServiceContext, request_id: str) -> Explanation:
    """The journaled decision(s) and outcome of one request."""
    with request(ctx, Action.ACCESS_EXPLAIN, request_id) as req, ctx.sessions() as session:
        query = select(Event).where(
            Event.tenant_id == ctx.tenant_id, Event.request_id == request_id
        )
        if not _oversees(req):
            query = query.where(Event.actor == ctx.principal_id)  # only your own requests
        rows = session.scalars(query.order_by(Event.seq).limit(MAX_EXPLAINED_EVENTS)).all()
        if not rows:
            raise NotFoundError(
                f"no request {request_id!r} that you may see",
                hint="copy the request id from the refusal message",
            )
        events = tuple(_revealed(req, session, r) for r in rows)
        opened = sum(1 for e in events if e.sealed == "opened")
        commit_with_event(
            session, ctx, req.event(Outcome.OK, explained=request_id, opened_sealed=opened)
        )
        return Explanation(request_id, events)


def explain_what_if(
    ctx: ServiceContext,
    *,
    principal: str,
    action: str,
    asset: str,
    project: str | None = None,
    purpose: str = "unspecified",
) -> WhatIf:
    """How the policies would decide ``principal`` doing ``action`` on ``asset`` now."""
    if action not in ASSET_VERBS:
        raise UsageError(f"unknown action {action!r}", hint=f"use one of {', '.join(ASSET_VERBS)}")
    with request(ctx, Action.ACCESS_EXPLAIN, principal, purpose=purpose) as req:
        if not _oversees(req):
            raise AccessDeniedError(
                "access.explain refused (what-if-needs-admin-or-auditor)",
                hint="explain your own request with --request R",
                reasons=("what-if-needs-admin-or-auditor",),
                policies=("service/explain",),
            )
        with ctx.sessions() as session:
            subject = ctx.access.load_actor(session, ctx.key_manager, ctx.tenant_id, principal)
            if subject is None:
                raise NotFoundError(f"no principal {principal!r}")
            row = resolve_asset(session, ctx, asset, project)
            owner = session.get(Project, row.project_id)
            if owner is None:
                raise IntegrityError(f"asset {row.id} has no project")
            levels = session.scalars(
                select(AssetVersion.classification).where(AssetVersion.asset_id == row.id)
            ).all()
            level = max(levels, key=lambda c: CLASSIFICATION_LEVELS.get(c, 3), default="internal")
            target = AssetTarget(row, owner, level)
            decision = ctx.access.decide_asset(session, subject, target, action, req.facts)
            commit_with_event(
                session,
                ctx,
                req.event(
                    Outcome.OK,
                    what_if=action,
                    subject=principal,
                    asset=row.id,
                    **seal_fields(
                        session,
                        ctx.key_manager,
                        ctx.tenant_id,
                        subject.id,
                        req.id,
                        {
                            "would_allow": str(decision.allowed).lower(),
                            "would_reasons": decision.reason,
                        },
                    ),
                ),
            )
        return WhatIf(
            principal,
            action,
            row.id,
            decision.allowed,
            decision.policies,
            decision.reasons,
            decision.licence,
            decision.export_auth,
            req.id,
        )
