"""API tokens: create, list, revoke, and authenticate a presented token.

Security rules:

* The token text is returned once by :func:`create_token` and never stored:
  the database keeps only the SHA-256 of its secret, and nothing here lists,
  logs or journals the secret or its hash.
* Every token expires (at most ``MAX_TOKEN_TTL_DAYS``), can be revoked, and is
  refused once its principal is no longer active.
* Scopes only narrow. A request made with a token is still decided by the
  policies over the token's principal. A token-authenticated caller cannot
  create a token with a scope it does not hold itself.
* Creating a token for another principal is decided by the policy engine: the
  request's target is the token's principal.
* Every failed authentication (malformed, unknown, forged, expired, revoked,
  inactive principal) is journaled as ``auth.token`` / denied, in its own
  transaction, before the caller sees the :class:`AuthenticationError`. The
  actor is ``anonymous`` until the secret is proven, then the token's principal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import Clock
from forgekeep.db.access import ApiToken
from forgekeep.db.models import Principal
from forgekeep.db.repos.catalog import find_principal
from forgekeep.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    ForgekeepError,
    InvalidNameError,
    JournalError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.identity.tokens import (
    is_token_id,
    new_token,
    parse_token,
    scope_actions,
    secret_hash,
    secret_matches,
    validate_scopes,
)
from forgekeep.ledger.journal import Journal, JournalEvent, Outcome, SqlJournal
from forgekeep.limits import MAX_ACTIVE_TOKENS, MAX_TOKEN_LABEL_CHARS, MAX_TOKEN_TTL_DAYS
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, new_request_id, request

AUTH_ACTION = "auth.token"
ANONYMOUS = "anonymous"
ALL_PRINCIPALS = "*"
#: The further Cedar action for another principal's tokens (admins acting as operators).
MANAGE_OTHERS = "token.manage"
MAX_TTL = dt.timedelta(days=MAX_TOKEN_TTL_DAYS)
_LABEL = re.compile(rf"[A-Za-z0-9][A-Za-z0-9 ._:@-]{{0,{MAX_TOKEN_LABEL_CHARS - 1}}}")
_DUMMY_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token: never its secret or the secret's hash."""

    id: str
    principal: str
    label: str
    scopes: tuple[str, ...]
    status: str  # "active", "expired" or "revoked"
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A token that authenticated: who it acts as and what its scopes allow."""

    principal_id: str
    scopes: frozenset[str]
    token_id: str


def _status(row: ApiToken, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "active"


def _info(row: ApiToken, now: dt.datetime) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        principal=row.principal_id,
        label=row.label,
        scopes=tuple(sorted(row.scopes)),
        status=_status(row, now),
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def validate_label(label: str) -> str:
    if not isinstance(label, str) or not _LABEL.fullmatch(label) or label != label.rstrip():
        raise InvalidNameError(
            f"a token label is 1-{MAX_TOKEN_LABEL_CHARS} letters, digits, spaces, "
            "'.', '_', ':', '@' or '-', starting with a letter or digit",
            hint="e.g. --label ci-nightly",
        )
    return label


def validate_ttl(ttl: dt.timedelta) -> dt.timedelta:
    if ttl <= dt.timedelta(0):
        raise UsageError("a token's lifetime must be positive", hint="e.g. --ttl 30d")
    if ttl > MAX_TTL:
        raise LimitExceededError(
            f"a token lives at most {MAX_TOKEN_TTL_DAYS} days",
            hint=f"use --ttl {MAX_TOKEN_TTL_DAYS}d or less, and create a new token before it ends",
        )
    return ttl


def _actions(scopes: frozenset[str]) -> frozenset[str]:
    every = [str(action) for action in Action]
    return frozenset().union(*(scope_actions(scope, every) for scope in scopes))


def _check_narrowing(ctx: ServiceContext, scopes: frozenset[str]) -> None:
    """A token-authenticated caller may only hand on actions its own scopes allow."""
    held = ctx.auth.scopes
    if held is not None and not _actions(scopes) <= _actions(held):
        raise AccessDeniedError(
            "a token cannot create a token with wider scopes than its own",
            hint=f"ask for scopes within {', '.join(sorted(held)) or 'none'}",
        )


def _active_count(session: Session, principal_id: str, now: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.principal_id == principal_id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
    )
    return int(count or 0)


def create_token(
    ctx: ServiceContext,
    *,
    principal: str | None = None,
    label: str,
    scopes: Sequence[str],
    ttl: dt.timedelta,
) -> tuple[TokenInfo, str]:
    """A new token for ``principal`` (default: the caller); the text is returned only here."""
    owner = principal or ctx.principal_id
    with request(ctx, Action.TOKEN_CREATE, owner) as req, ctx.sessions() as session:
        validate_label(label)
        scope_set = validate_scopes(scopes)
        validate_ttl(ttl)
        _check_narrowing(ctx, scope_set)
        if owner != ctx.principal_id:
            req.authorize_tenant(cedar_action=MANAGE_OTHERS)  # a token for someone else
        row_owner = find_principal(session, ctx.tenant_id, owner)
        if row_owner.status != "active":
            raise ConflictError(f"principal {owner} is {row_owner.status}; it cannot get a token")
        now = ctx.clock.now()
        if _active_count(session, owner, now) >= MAX_ACTIVE_TOKENS:
            raise LimitExceededError(
                f"principal {owner} already holds {MAX_ACTIVE_TOKENS} active tokens",
                hint="revoke unused ones with `forgekeep tokens revoke ID`",
            )
        token_id, text = new_token()
        _, secret = parse_token(text)
        row = ApiToken(
            id=token_id,
            tenant_id=ctx.tenant_id,
            principal_id=owner,
            label=label,
            secret_sha256=secret_hash(secret),
            scopes=sorted(scope_set),
            created_by=ctx.principal_id,
            created_at=now,
            expires_at=now + ttl,
            revoked_at=None,
            last_used_at=None,
        )
        session.add(row)
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                token=token_id,
                label=label,
                scopes=",".join(sorted(scope_set)),
                expires=row.expires_at.isoformat(),
            ),
        )
        return _info(row, now), text


def list_tokens(ctx: ServiceContext, *, principal: str | None = None) -> list[TokenInfo]:
    """Tokens of ``principal`` (default: the caller; ``"*"``: the whole tenant)."""
    owner = principal or ctx.principal_id
    with request(ctx, Action.TOKEN_LIST, owner) as req, ctx.sessions() as session:
        query = select(ApiToken).where(ApiToken.tenant_id == ctx.tenant_id)
        if owner != ctx.principal_id:
            req.authorize_tenant(cedar_action=MANAGE_OTHERS)  # someone else's tokens
        if owner != ALL_PRINCIPALS:
            find_principal(session, ctx.tenant_id, owner)
            query = query.where(ApiToken.principal_id == owner)
        rows = session.scalars(query.order_by(ApiToken.created_at, ApiToken.id)).all()
        now = ctx.clock.now()
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [_info(r, now) for r in rows]


def revoke_token(ctx: ServiceContext, token_id: str) -> TokenInfo:
    """Revoke a token: every later use is refused. Revoking twice is a conflict."""
    with request(ctx, Action.TOKEN_REVOKE, token_id) as req, ctx.sessions() as session:
        row = session.get(ApiToken, token_id) if is_token_id(token_id) else None
        if row is None or row.tenant_id != ctx.tenant_id:
            raise NotFoundError(
                f"no token {token_id[:40]!r}", hint="run `forgekeep tokens ls` for the ids"
            )
        if row.principal_id != ctx.principal_id:
            req.authorize_tenant(cedar_action=MANAGE_OTHERS)  # someone else's token
        if row.revoked_at is not None:
            raise ConflictError(f"token {token_id} was already revoked")
        now = ctx.clock.now()
        row.revoked_at = now
        commit_with_event(
            session, ctx, req.event(Outcome.OK, principal=row.principal_id, label=row.label)
        )
        return _info(row, now)


# -- authentication -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refused:
    actor: str
    reason: str
    message: str


def _verify(
    session: Session, tenant_id: str, token_id: str, secret: str, now: dt.datetime
) -> ApiToken | _Refused:
    row = session.get(ApiToken, token_id)
    known = row is not None and row.tenant_id == tenant_id
    # Hash and compare even for an unknown id, so both refusals cost the same.
    matches = secret_matches(row.secret_sha256 if row is not None else _DUMMY_HASH, secret)
    if row is None or not known:
        return _Refused(ANONYMOUS, "unknown-token", "the API token was refused")
    if not matches:
        return _Refused(ANONYMOUS, "forged-secret", "the API token was refused")
    if row.revoked_at is not None:
        return _Refused(row.principal_id, "revoked", f"API token {token_id} was revoked")
    if row.expires_at <= now:
        return _Refused(
            row.principal_id,
            "expired",
            f"API token {token_id} expired at {row.expires_at.isoformat()}",
        )
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.tenant_id != tenant_id or principal.status != "active":
        return _Refused(
            row.principal_id, "principal-not-active", "the API token's principal is not active"
        )
    return row


def _journal_failure(
    sessions: sessionmaker[Session],
    journal: Journal,
    exc: AuthenticationError,
    *,
    actor: str,
    target: str,
    reason: str,
) -> None:
    request_id = exc.request_id or new_request_id()
    event = JournalEvent(
        action=AUTH_ACTION,
        outcome=Outcome.DENIED,
        actor=actor,
        target=target,
        request_id=request_id,
        detail={"code": exc.code, "reason": reason},
    )
    try:
        with sessions.begin() as session:
            journal.append(session, event)
    except (ForgekeepError, SQLAlchemyError) as journal_exc:
        raise JournalError(
            f"{exc.code} could not be journaled; request {request_id} refused"
        ) from journal_exc


def authenticate_token(
    sessions: sessionmaker[Session],
    tenant_id: str,
    text: str,
    clock: Clock,
    *,
    journal: Journal | None = None,
) -> TokenGrant:
    """Check a presented token; every refusal is journaled, then raised.

    Raises :class:`AuthenticationError` when the token is malformed, unknown,
    forged, revoked or expired, or its principal is not active. On success the
    token's ``last_used_at`` is stamped.
    """
    journal = journal or SqlJournal(tenant_id, clock)
    request_id = new_request_id()
    try:
        token_id, secret = parse_token(text)
    except AuthenticationError as exc:
        exc.request_id = request_id
        _journal_failure(sessions, journal, exc, actor=ANONYMOUS, target="-", reason="malformed")
        raise
    with sessions() as session:
        now = clock.now()
        verdict = _verify(session, tenant_id, token_id, secret, now)
        if isinstance(verdict, ApiToken):
            verdict.last_used_at = now
            grant = TokenGrant(verdict.principal_id, frozenset(verdict.scopes), verdict.id)
            session.commit()
            return grant
    error = AuthenticationError(verdict.message, request_id=request_id)
    _journal_failure(
        sessions, journal, error, actor=verdict.actor, target=token_id, reason=verdict.reason
    )
    raise error
