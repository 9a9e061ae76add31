"""The one request path every operation takes.

authenticate → authorize → record the decision → place → key operation →
blob I/O → record the outcome → answer.

Security rules:

* There is no anonymous mode: every request names an acting principal, which
  must exist in the tenant and be active.
* Every refusal (denial or error) is journaled with its request id and error
  code, in a transaction of its own; if even that fails, the caller gets a
  :class:`JournalError` chained to the original error.
* Every request id is printed with a refusal so it can be explained later.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import Clock
from forgekeep.config import Settings
from forgekeep.db.models import Principal
from forgekeep.errors import (
    AccessDeniedError,
    DatabaseError,
    ForgekeepError,
    JournalError,
)
from forgekeep.keys.protocol import KeyManager
from forgekeep.ledger.journal import Journal, JournalEvent, Outcome, Scalar
from forgekeep.service.authz import Action, Authorizer, Decision, Subject
from forgekeep.storage.protocol import BlobStore


@dataclass(frozen=True, slots=True)
class SiteHandle:
    name: str
    jurisdiction: str
    store: BlobStore


@dataclass(slots=True)
class ServiceContext:
    """Everything a use case needs; built only by ``service.wiring``."""

    home: Path
    settings: Settings
    tenant_id: str
    principal_id: str
    clock: Clock
    sessions: sessionmaker[Session]
    journal: Journal
    authorizer: Authorizer
    key_manager: KeyManager
    sites: Mapping[str, SiteHandle]
    run_dir: Path
    closers: list[contextlib.AbstractContextManager[object]] = field(default_factory=list)

    @property
    def default_site(self) -> SiteHandle:
        return next(iter(self.sites.values()))


def new_request_id() -> str:
    return "req-" + secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    action: Action
    target: str
    subject: Subject
    decision: Decision

    def event(self, outcome: Outcome, **detail: Scalar) -> JournalEvent:
        return JournalEvent(
            action=str(self.action),
            outcome=outcome,
            actor=self.subject.id,
            target=self.target,
            request_id=self.id,
            detail={"policy": self.decision.policy, **detail},
        )


def load_subject(session: Session, ctx: ServiceContext) -> Subject:
    """Authenticate: the acting principal must exist in this tenant."""
    row = session.get(Principal, ctx.principal_id)
    if row is None or row.tenant_id != ctx.tenant_id:
        return Subject(id=ctx.principal_id, roles=(), status="unknown")
    return Subject(id=row.id, roles=tuple(row.roles), status=row.status)


def _journal_refusal(
    ctx: ServiceContext, action: Action, target: str, request_id: str, exc: ForgekeepError
) -> None:
    outcome = Outcome.DENIED if isinstance(exc, AccessDeniedError) else Outcome.ERROR
    event = JournalEvent(
        action=str(action),
        outcome=outcome,
        actor=ctx.principal_id,
        target=target,
        request_id=request_id,
        detail={"code": exc.code},
    )
    try:
        with ctx.sessions.begin() as session:
            ctx.journal.append(session, event)
    except (ForgekeepError, SQLAlchemyError) as journal_exc:
        raise JournalError(
            f"{exc.code} could not be journaled; request {request_id} refused"
        ) from journal_exc


def _authorize(ctx: ServiceContext, request_id: str, action: Action, target: str) -> Request:
    with ctx.sessions() as session:
        subject = load_subject(session, ctx)
    decision = ctx.authorizer.decide(subject, action, target)
    if not decision.allowed:
        raise AccessDeniedError(f"{action} refused ({decision.reason})", request_id=request_id)
    return Request(request_id, action, target, subject, decision)


@contextlib.contextmanager
def request(ctx: ServiceContext, action: Action, target: str) -> Iterator[Request]:
    """Authenticate and authorize one request; journal it if it is refused."""
    request_id = new_request_id()
    try:
        yield _authorize(ctx, request_id, action, target)
    except ForgekeepError as exc:
        if exc.request_id is None:
            exc.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, exc)
        raise
    except SQLAlchemyError as exc:
        error = DatabaseError(f"metadata database error: {type(exc).__name__}")
        error.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, error)
        raise error from exc
    except Exception as exc:
        # A bug, not a decision: still refused, journaled and traceable by request id.
        unexpected = ForgekeepError(f"internal error: {type(exc).__name__}: {exc}")
        unexpected.request_id = request_id
        _journal_refusal(ctx, action, target, request_id, unexpected)
        raise unexpected from exc


def commit_with_event(session: Session, ctx: ServiceContext, event: JournalEvent) -> None:
    """Append ``event`` and commit the session's changes together, or neither."""
    ctx.journal.append(session, event)
    session.commit()
