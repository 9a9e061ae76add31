"""The one request path every operation takes.

authenticate → authorize → record the decision → place → key operation →
blob I/O → record the outcome → answer.

Security rules:

* There is no anonymous mode: every request names an acting principal, which
  must exist in the tenant and be active.
* Every request is decided by Cedar (``service._access``) before it acts: tenant
  actions on entry, project and asset actions once the use case has found the
  resource. A request that reaches its end without an allowing decision is
  refused, and an API token narrows a request to its scopes first.
* Every refusal (denial or error) is journaled with its request id and error
  code, in a transaction of its own; if even that fails, the caller gets a
  :class:`JournalError` chained to the original error.
* Every request id is printed with a refusal so it can be explained later.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from forgekeep.db.failures import database_error
from forgekeep.db.models import Project
from forgekeep.errors import (
    AccessDeniedError,
    DatabaseUnavailableError,
    ForgekeepError,
    JournalError,
)
from forgekeep.identity.tokens import allows
from forgekeep.ledger.journal import JournalEvent, Outcome, Scalar
from forgekeep.service.authz import SPECS, Action, Decision, Scope
from forgekeep.service.context import (
    Actor,
    AssetTarget,
    RefusalIds,
    RequestFacts,
    ServiceContext,
    SiteHandle,
)

_log = structlog.get_logger("forgekeep.access")


def place(ctx: ServiceContext, project: Project) -> SiteHandle:
    """The place step: the site that stores a new version of an asset in ``project``.

    Today that is the workspace's first (default) site for every project;
    choosing among sites by the project's residency comes with the server.
    """
    del project  # not consulted yet
    return ctx.default_site


ACK_TIMEOUT: Final = 30.0
"""Seconds a request waits for the sequencer to make its events durable, then fails."""


def new_request_id() -> str:
    return "req-" + secrets.token_hex(8)


@dataclass(slots=True)
class Request:
    """One request being served: who acts, what is asked, and the decision(s) made."""

    id: str
    action: Action
    target: str
    ctx: ServiceContext
    actor: Actor | None
    facts: RequestFacts
    decision: Decision | None = None

    @property
    def actor_id(self) -> str:
        return self.ctx.principal_id

    def _record(self, decision: Decision) -> Decision:
        if not decision.allowed:
            raise AccessDeniedError(
                f"{self.action} refused ({decision.reason})",
                request_id=self.id,
                reasons=decision.reasons,
                policies=decision.policies,
            )
        self.decision = decision
        if decision.break_glass is not None:
            _log.warning(
                "break-glass access",
                request=self.id,
                action=str(self.action),
                actor=self.actor_id,
                grant=decision.break_glass,
            )
        return decision

    def authorize_tenant(self, *, cedar_action: str | None = None) -> Decision:
        """Decide on the tenant; ``cedar_action`` asks for a further, stricter action."""
        action = cedar_action or SPECS[self.action].cedar
        return self._record(
            self.ctx.access.decide_tenant(self.actor, self.ctx.tenant_id, action, self.facts)
        )

    def authorize_project(
        self, session: Session, project: Project, *, cedar_action: str | None = None
    ) -> Decision:
        action = cedar_action or SPECS[self.action].cedar
        return self._record(
            self.ctx.access.decide_project(session, self.actor, project, action, self.facts)
        )

    def authorize_asset(
        self, session: Session, target: AssetTarget, *, cedar_action: str | None = None
    ) -> Decision:
        action = cedar_action or SPECS[self.action].cedar
        return self._record(
            self.ctx.access.decide_asset(session, self.actor, target, action, self.facts)
        )

    def visible(self, session: Session, targets: Sequence[AssetTarget]) -> list[AssetTarget]:
        """A listing: assets in projects the actor may ``list`` that it may ``inspect``.

        Every item is decided, but the listing is one request with one event.
        """
        access, facts = self.ctx.access, self.facts
        listable: dict[str, bool] = {}
        shown = []
        for target in targets:
            project = target.project
            if project.id not in listable:
                decision = access.decide_project(session, self.actor, project, "list", facts)
                listable[project.id] = decision.allowed
            if (
                listable[project.id]
                and access.decide_asset(session, self.actor, target, "inspect", facts).allowed
            ):
                shown.append(target)
        return shown

    def event(self, outcome: Outcome, **detail: Scalar) -> JournalEvent:
        if self.decision is None:
            raise ForgekeepError(f"internal error: {self.action} has no authorization decision")
        extra: dict[str, Scalar] = {"policy": ",".join(self.decision.policies)}
        for name in ("licence", "export_auth", "break_glass"):
            value = getattr(self.decision, name)
            if value is not None:
                extra[name] = value
        return JournalEvent(
            action=str(self.action),
            outcome=outcome,
            actor=self.actor_id,
            target=self.target,
            request_id=self.id,
            detail={**extra, **detail},
        )


def load_actor(session: Session, ctx: ServiceContext) -> Actor | None:
    """Authenticate: the acting principal must exist in this tenant."""
    return ctx.access.load_actor(session, ctx.key_manager, ctx.tenant_id, ctx.principal_id)


def _refusal_detail(ctx: ServiceContext, request_id: str, exc: ForgekeepError) -> dict[str, Scalar]:
    """The refusal's code and reasons; reasons that reveal personal attributes sealed."""
    if not isinstance(exc, AccessDeniedError) or not exc.reasons:
        return {"code": exc.code}
    with ctx.sessions() as session:
        ids = RefusalIds(ctx.tenant_id, ctx.principal_id, request_id)
        return ctx.access.refusal_detail(session, ctx.key_manager, ids, exc)


def _journal_refusal(
    ctx: ServiceContext, action: Action, target: str, request_id: str, exc: ForgekeepError
) -> None:
    outcome = Outcome.DENIED if isinstance(exc, AccessDeniedError) else Outcome.ERROR
    try:
        event = JournalEvent(
            action=str(action),
            outcome=outcome,
            actor=ctx.principal_id,
            target=target,
            request_id=request_id,
            detail=_refusal_detail(ctx, request_id, exc),
        )
        record_standalone(ctx, [event])
    except (ForgekeepError, SQLAlchemyError) as journal_exc:
        if isinstance(exc, DatabaseUnavailableError):
            # The database is gone: its own error says why nothing could be journaled.
            raise exc from journal_exc
        raise JournalError(
            f"{exc.code} ({exc.message}) could not be journaled; request {request_id} refused"
        ) from journal_exc


def _begin(
    ctx: ServiceContext, request_id: str, action: Action, target: str, purpose: str
) -> Request:
    with ctx.sessions() as session:
        ctx.access.refresh(session, ctx.tenant_id)
        actor = load_actor(session, ctx)
    facts = RequestFacts(ctx.clock.now(), purpose, ctx.auth.strength)
    req = Request(request_id, action, target, ctx, actor, facts)
    if actor is None:
        raise AccessDeniedError(
            f"{action} refused (principal-unknown)",
            request_id=request_id,
            reasons=("principal-unknown",),
            policies=("authentication",),
        )
    if not allows(ctx.auth.scopes, str(action)):
        raise AccessDeniedError(
            f"{action} refused (token-scope)",
            request_id=request_id,
            reasons=("token-scope",),
            policies=("token/scope",),
        )
    if SPECS[action].scope is Scope.TENANT:
        req.authorize_tenant()
    return req


def _require_decision(req: Request) -> None:
    if req.decision is None:
        raise ForgekeepError(f"internal error: {req.action} ended without a decision")


@contextlib.contextmanager
def request(
    ctx: ServiceContext, action: Action, target: str, *, purpose: str = "unspecified"
) -> Iterator[Request]:
    """Authenticate and authorize one request; journal it if it is refused.

    Tenant-wide actions are decided here; project and asset actions are decided
    by the use case (``authorize_project``/``authorize_asset``/``visible``) once
    it has found the resource. A request that ends without an allowing decision
    is refused, so a use case cannot forget to ask.
    """
    request_id = new_request_id()
    try:
        req = _begin(ctx, request_id, action, target, purpose)
        yield req
        _require_decision(req)
    except ForgekeepError as exc:
        if exc.request_id is None:
            exc.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, exc)
        raise
    except SQLAlchemyError as exc:
        error = database_error(exc, "metadata database error")
        error.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, error)
        raise error from exc
    except Exception as exc:
        # A bug, not a decision: still refused, journaled and traceable by request id.
        unexpected = ForgekeepError(f"internal error: {type(exc).__name__}: {exc}")
        unexpected.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, unexpected)
        raise unexpected from exc


def record_standalone(ctx: ServiceContext, events: Sequence[JournalEvent]) -> None:
    """Journal events that need no write of their own: a read's decision, a refusal.

    Durable when this returns. With a sequencer running (a long-running host),
    they join its group commit; otherwise they take one transaction.
    """
    if ctx.sequencer is not None:
        ctx.sequencer.append(events, timeout=ACK_TIMEOUT)
        return
    with ctx.sessions.begin() as session:
        for event in events:
            ctx.journal.append(session, event)


def commit_with_event(session: Session, ctx: ServiceContext, event: JournalEvent) -> None:
    """Append ``event`` and commit the session's changes together, or neither."""
    ctx.journal.append(session, event)
    session.commit()
