"""``access explain``: why a request was decided the way it was.

Security rules:

* Explaining is itself an authorized, journaled action (``access.explain``).
  Vetted admins and auditors may explain any request and ask "what if"; every
  other member — an unvetted person too, so a refusal can always be understood —
  may explain only requests it made itself.
* An explanation shows the action, the outcome, the error code, and the
  ``@id`` and ``@reason`` codes of the deciding policies as journaled, read
  from the canonical log entries (each checked against the tree's leaf hash),
  never from the derived columns an UPDATE could change. It never
  shows personal attributes: reasons are codes such as
  ``citizenship-outside-export-authorisation``, not the citizenships.
* Codes that reveal personal attributes are sealed in the entry under the
  subject's key (:mod:`forgekeep.service.access.sealed_reasons`). They are opened for
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

from forgekeep.db.ledger import BytesContain
from forgekeep.db.models import AssetVersion, Event, Project
from forgekeep.db.repos.catalog import resolve_asset
from forgekeep.errors import AccessDeniedError, IntegrityError, NotFoundError, UsageError
from forgekeep.ledger.entry import LogEntry, needle, verified_entries
from forgekeep.ledger.journal import Outcome
from forgekeep.service.access.sealed_reasons import EXPLAIN_SEALED, open_fields, seal_fields
from forgekeep.service.authz import CLASSIFICATION_LEVELS, Action
from forgekeep.service.context import AssetTarget, ServiceContext
from forgekeep.service.core import Request, commit_with_event, request

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
    index: int | None = None  # its log index; None before the log began


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


def _explained(index: int | None, entry: LogEntry) -> ExplainedEvent:
    detail = entry.detail
    code = detail.get("code")
    return ExplainedEvent(
        at=entry.at,
        action=entry.action,
        outcome=entry.outcome,
        actor=entry.actor,
        target=entry.target,
        code=None if code is None else str(code),
        policies=_split(detail.get("policy")),
        reasons=_split(detail.get("reasons")),
        index=index,
    )


def _legacy(row: Event) -> LogEntry:
    """An event journaled before the log began (migration 0004): no entry to verify."""
    return LogEntry(
        row.tenant_id, row.at, row.request_id, row.actor, row.action, row.outcome,
        row.target, json.loads(row.detail),
    )  # fmt: skip


def _events(
    session: Session, tenant_id: str, request_id: str
) -> list[tuple[ExplainedEvent, LogEntry]]:
    """The request's events, read from the verified entries (the columns only narrow:
    an edited ``request_id`` or ``actor`` column neither hides nor adds an event)."""
    in_log = (
        select(Event.log_index, Event.entry)
        .where(Event.tenant_id == tenant_id)
        .where(BytesContain(Event.entry, needle("request", request_id)))
        .order_by(Event.log_index)
        .limit(MAX_EXPLAINED_EVENTS)
    )
    rows = [(int(i), bytes(d)) for i, d in session.execute(in_log) if i is not None and d]
    entries = verified_entries(session, tenant_id, rows)
    found = [
        (_explained(index, entry), entry)
        for (index, _), entry in zip(rows, entries, strict=True)
        if entry.request_id == request_id
    ]
    legacy = select(Event).where(
        Event.tenant_id == tenant_id, Event.request_id == request_id, Event.log_index.is_(None)
    )
    for row in session.scalars(legacy.order_by(Event.seq)):
        old = _legacy(row)
        found.append((_explained(None, old), old))
    return found


def _revealed(
    req: Request, session: Session, event: ExplainedEvent, entry: LogEntry
) -> ExplainedEvent:
    """The event, its sealed codes opened for the subject or an authorised explainer.

    The sealed codes are read from the verified entry, never from a column.
    """
    detail = entry.detail
    if "sealed_for" not in detail:
        return event
    ctx = req.ctx
    if detail["sealed_for"] != ctx.principal_id:
        req.authorize_tenant(cedar_action=EXPLAIN_SEALED)  # refused and journaled otherwise
    opened = open_fields(session, ctx.key_manager, ctx.tenant_id, dict(detail), entry.request_id)
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
        events = _events(session, ctx.tenant_id, request_id)
        if not _oversees(req):
            events = [(e, entry) for e, entry in events if e.actor == ctx.principal_id]
        if not events:
            raise NotFoundError(
                f"no request {request_id!r} that you may see",
                hint="copy the request id from the refusal message",
            )
        shown = tuple(_revealed(req, session, e, entry) for e, entry in events)
        opened = sum(1 for e in shown if e.sealed == "opened")
        commit_with_event(
            session, ctx, req.event(Outcome.OK, explained=request_id, opened_sealed=opened)
        )
        return Explanation(request_id, shown[:MAX_EXPLAINED_EVENTS])


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
            row = resolve_asset(session, ctx.tenant_id, asset, project)
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
