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
  explicit hold (``principals hold``) that has not ended, or any journal event
  by the person touching an ITAR- or EAR-controlled asset in the last
  ``RETENTION_YEARS`` years (export-control record keeping). An unreadable
  hold file refuses erasure: holds fail closed.
* The key is destroyed before the database commits: if the commit fails the
  erasure can be retried (destruction is idempotent here), and a row never
  says "erased" while its key lives.
* Journal events carry the pseudonym, approval id and lengths only, never the
  reason text or personal attributes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep._durable import write_atomic
from forgekeep.db.models import Asset, Event, Principal
from forgekeep.errors import (
    ApprovalRequiredError,
    ConfigError,
    ConflictError,
    LegalHoldError,
    NotFoundError,
    UsageError,
)
from forgekeep.keys.protocol import DomainKeyRef, KeyState
from forgekeep.ledger.journal import Outcome
from forgekeep.service._core import ServiceContext, commit_with_event, request
from forgekeep.service.approvals import (
    ApprovalInfo,
    approval_info,
    consume_approval,
    own_approval,
    payload_sha256,
    request_approval,
)
from forgekeep.service.authz import Action
from forgekeep.service.principals import find_principal

KIND: Final = "erase"
REQUIRED: Final = 2
APPROVAL_TTL: Final = dt.timedelta(days=7)
ERASED: Final = "erased"
#: ITAR (22 CFR 122.5) and EAR (15 CFR 762.6) records are kept five years.
RETENTION_YEARS: Final = 5
CONTROLLED_REGIMES: Final = ("ITAR", "EAR")
HOLDS_FILE: Final = "legal-holds.json"
MAX_REASON: Final = 255
_FIELDS: Final = frozenset({"principal", "reason"})


@dataclass(frozen=True, slots=True)
class ErasureInfo:
    principal: str
    approval_id: str
    destroyed_at: dt.datetime
    backend: str


@dataclass(frozen=True, slots=True)
class LegalHoldInfo:
    principal: str
    until: dt.datetime | None  # None once released
    released: bool


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= len(reason) <= MAX_REASON:
        raise UsageError(f"a reason is 1-{MAX_REASON} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Cf"} for ch in reason):
        raise UsageError("a reason has no control or invisible characters")
    return reason


def _years_before(when: dt.datetime, years: int) -> dt.datetime:
    try:
        return when.replace(year=when.year - years)
    except ValueError:  # 29 February
        return when.replace(year=when.year - years, day=28)


# -- legal holds (a small JSON file in the workspace, fail closed) -------------


def _holds_path(ctx: ServiceContext) -> Path:
    return ctx.home / HOLDS_FILE


def _read_holds(ctx: ServiceContext) -> dict[str, dict[str, str]]:
    path = _holds_path(ctx)
    try:
        loaded = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{HOLDS_FILE} cannot be read, so legal holds are unknown",
            hint=f"restore {path} from a backup; no erasure runs until then",
        ) from exc
    holds = loaded.get("holds") if isinstance(loaded, dict) else None
    if not isinstance(holds, dict) or not all(isinstance(v, dict) for v in holds.values()):
        raise ConfigError(f"{HOLDS_FILE} is malformed, so legal holds are unknown")
    return holds


@contextlib.contextmanager
def _holds_locked(ctx: ServiceContext) -> Iterator[dict[str, dict[str, str]]]:
    """The holds, locked against other writers; changes are written atomically on exit."""
    with (ctx.home / f".{HOLDS_FILE}.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        holds = _read_holds(ctx)
        yield holds
        document = {"version": 1, "holds": holds}
        write_atomic(_holds_path(ctx), json.dumps(document, sort_keys=True, indent=1).encode())


def _explicit_hold(ctx: ServiceContext, pseudonym: str, now: dt.datetime) -> dt.datetime | None:
    entry = _read_holds(ctx).get(pseudonym)
    if entry is None or entry.get("tenant") != ctx.tenant_id:
        return None
    try:
        until = dt.datetime.fromisoformat(entry["until"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{HOLDS_FILE} has a malformed hold for {pseudonym}") from exc
    return until if now < until else None


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
    """Raise :class:`LegalHoldError` if the person's records must still be kept."""
    now = ctx.clock.now()
    until = _explicit_hold(ctx, pseudonym, now)
    if until is not None:
        raise LegalHoldError(f"{pseudonym} is under a legal hold until {until.isoformat()}")
    asset = _controlled_activity(session, ctx, pseudonym, _years_before(now, RETENTION_YEARS))
    if asset is not None:
        raise LegalHoldError(
            f"{pseudonym} acted on export-controlled asset {asset} within the last "
            f"{RETENTION_YEARS} years; ITAR and EAR records are kept that long"
        )


def set_legal_hold(
    ctx: ServiceContext, principal_id: str, *, until: dt.datetime, reason: str
) -> LegalHoldInfo:
    """Hold a principal's records until ``until`` (replaces an earlier hold)."""
    with request(ctx, Action.PRINCIPAL_HOLD, str(principal_id)) as req, ctx.sessions() as session:
        text = _reason(reason)
        row = find_principal(session, ctx, principal_id)
        if row.status == ERASED:
            raise ConflictError(f"{row.id} was erased already")
        if not isinstance(until, dt.datetime) or until.utcoffset() is None:
            raise UsageError("a hold ends at a time with a timezone")
        now = ctx.clock.now()
        if until <= now:
            raise UsageError("a hold ends in the future")
        with _holds_locked(ctx) as holds:  # written before the event: a hold fails closed
            holds[row.id] = {
                "tenant": ctx.tenant_id,
                "until": until.astimezone(dt.UTC).isoformat(),
                "reason": text,
                "set_by": ctx.principal_id,
                "set_at": now.isoformat(),
            }
        event = req.event(Outcome.OK, step="hold", until=until.isoformat(), reason_chars=len(text))
        commit_with_event(session, ctx, event)
        return LegalHoldInfo(row.id, until, released=False)


def release_legal_hold(ctx: ServiceContext, principal_id: str) -> LegalHoldInfo:
    """Lift a principal's explicit legal hold (journaled before the file changes)."""
    with request(ctx, Action.PRINCIPAL_HOLD, str(principal_id)) as req, ctx.sessions() as session:
        row = find_principal(session, ctx, principal_id)
        entry = _read_holds(ctx).get(row.id)
        if entry is None or entry.get("tenant") != ctx.tenant_id:
            raise NotFoundError(f"{row.id} has no legal hold")
        commit_with_event(session, ctx, req.event(Outcome.OK, step="release"))
        with _holds_locked(ctx) as holds:
            holds.pop(row.id, None)
        return LegalHoldInfo(row.id, None, released=True)


# -- erasure -------------------------------------------------------------------


def _check_erasable(session: Session, ctx: ServiceContext, principal_id: str) -> Principal:
    row = find_principal(session, ctx, principal_id)
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
        text = _reason(reason)
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
    _reason(payload["reason"])
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
