"""Export authorisations: the government authorisations an organisation holds.

An *export authorisation* records a government authorisation (ITAR TAA or DSP-5,
an EAR licence or licence exception) held by an organisation for some assets
and destination countries. The authorization engine reads them through
:func:`export_auth_candidates`. Scopes, windows, ids and revocation are shared
with licences (:mod:`forgekeep.service.access.grants`, whose rules apply here too).

Security rules:

* Fail closed: an unknown kind, a malformed reference, or any refusal of the
  shared checks (organisation, scope, destination rule, window) is refused, and
  the refusal is journaled by :func:`request`.
* §126.18 coverage (ITAR dual/third-country nationals) can only be claimed by
  an ITAR authorisation.
* Nothing is deleted: revocation stamps the row and revoking twice is a conflict.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from forgekeep.db.access import ExportAuthorisation
from forgekeep.db.repos.catalog import find_organisation
from forgekeep.db.repos.grants import list_grants
from forgekeep.errors import UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.service.access.grants import (
    check_id,
    check_rule,
    check_until,
    id_free,
    info_values,
    journal_detail,
    revoke_row,
    scope,
    window,
)
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request

ITAR_KINDS = ("ITAR-TAA", "ITAR-DSP-5")
EXPORT_KINDS = (*ITAR_KINDS, "EAR-licence", "EAR-exception")
MAX_REFERENCE_CHARS = 128


@dataclass(frozen=True, slots=True)
class ExportAuthInfo:
    id: str
    holder_org_id: str
    kind: str
    reference: str
    assets: tuple[str, ...]
    projects: tuple[str, ...]
    destinations: str
    covers_126_18: bool
    valid_until: dt.datetime
    added_by: str
    added_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    status: str


def _export_info(row: ExportAuthorisation, now: dt.datetime) -> ExportAuthInfo:
    return ExportAuthInfo(**info_values(ExportAuthInfo, row, row.added_at, now))


def _reference(reference: str) -> str:
    if (
        not isinstance(reference, str)
        or not 1 <= len(reference) <= MAX_REFERENCE_CHARS
        or not reference.isprintable()
        or reference.strip() != reference
    ):
        raise UsageError(
            f"a reference is 1-{MAX_REFERENCE_CHARS} printable characters without outer spaces",
            hint="e.g. TAA-2026-0042",
        )
    return reference


def _kind(kind: str, *, covers_126_18: bool) -> str:
    if kind not in EXPORT_KINDS:
        raise UsageError(
            f"unknown export authorisation kind {kind!r}",
            hint=f"kinds are {', '.join(EXPORT_KINDS)}",
        )
    if covers_126_18 and kind not in ITAR_KINDS:
        raise UsageError(
            "only an ITAR authorisation can cover 22 CFR 126.18 (dual and third-country nationals)",
            hint="drop --covers-126-18, or use kind ITAR-TAA or ITAR-DSP-5",
        )
    return kind


def add_export_auth(  # noqa: PLR0913 (keyword-only: the authorisation's fields)
    ctx: ServiceContext,
    *,
    holder: str,
    kind: str,
    reference: str,
    assets: Sequence[str] = (),
    projects: Sequence[str] = (),
    destinations: str,
    valid_until: dt.datetime,
    covers_126_18: bool = False,
    auth_id: str | None = None,
) -> ExportAuthInfo:
    """Record an export authorisation ``holder`` holds for some assets and destinations."""
    target = auth_id if auth_id is not None else f"EA-{secrets.token_hex(8)}"
    with request(ctx, Action.EXPORT_AUTH_ADD, target) as req, ctx.sessions() as session:
        check_id(target)
        _kind(kind, covers_126_18=covers_126_18 is True)
        _reference(reference)
        rule = check_rule(destinations, "destinations")
        end = window(valid_until, "valid_until")
        check_until(ctx, end, None)
        org = find_organisation(session, ctx.tenant_id, holder)
        asset_ids, project_ids = scope(session, ctx, assets, projects)
        id_free(session, ExportAuthorisation, target)
        now = ctx.clock.now()
        row = ExportAuthorisation(
            id=target,
            tenant_id=ctx.tenant_id,
            holder_org_id=org.id,
            kind=kind,
            reference=reference,
            assets=asset_ids,
            projects=project_ids,
            destinations=rule,
            covers_126_18=covers_126_18 is True,
            valid_until=end,
            added_by=ctx.principal_id,
            added_at=now,
        )
        session.add(row)
        commit_with_event(session, ctx, req.event(Outcome.OK, **journal_detail(row)))
        return _export_info(row, now)


def revoke_export_auth(ctx: ServiceContext, auth_id: str) -> ExportAuthInfo:
    """Revoke an export authorisation; it stays on record, stamped."""
    with request(ctx, Action.EXPORT_AUTH_REVOKE, auth_id) as req, ctx.sessions() as session:
        row = revoke_row(session, ctx, ExportAuthorisation, auth_id, "export authorisation")
        commit_with_event(session, ctx, req.event(Outcome.OK, holder=row.holder_org_id))
        return _export_info(row, ctx.clock.now())


def list_export_auths(
    ctx: ServiceContext, *, include_revoked: bool = False
) -> list[ExportAuthInfo]:
    with request(ctx, Action.EXPORT_AUTH_LIST, "*") as req, ctx.sessions() as session:
        rows = list_grants(session, ctx.tenant_id, ExportAuthorisation, revoked=include_revoked)
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [_export_info(r, ctx.clock.now()) for r in rows]


# -- for the authorization engine ---------------------------------------------
