"""IP licences: who outside the owner may use which assets.

A *licence* lets a licensee organisation do some actions (read, download,
modify, manufacture, share, sublicense) on some assets, or on every asset of
some projects, inside a territory, for a purpose, during a time window. The
authorization engine reads licences through :func:`licence_candidates`. Export
authorisations live in :mod:`forgekeep.service.access.export_auths`; scopes, windows,
ids and revocation are shared through :mod:`forgekeep.service.access.grants`.

Security rules:

* Fail closed: an unknown action, organisation, asset or project, an empty
  scope, a malformed or empty territory rule, a naive or inverted time window,
  or a window already over is refused, and the refusal is journaled by
  :func:`request`. Nothing is defaulted to "everything".
* Scopes are stored as asset and project *ids*, never names, so renaming or
  re-creating a name never widens a licence; deleted assets cannot be licensed.
* Lists given by callers are bounded by :data:`MAX_LICENCE_SCOPE_ITEMS` before
  any look-up; candidate queries return at most :data:`MAX_CANDIDATES` rows.
* Nothing is deleted: revocation stamps ``revoked_at``/``revoked_by``, and
  revoking twice is a conflict, so the history stays auditable.
* Journal details name ids, organisation ids, actions, rules, purposes and
  time windows; never personal data.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from forgekeep.db.access import Licence
from forgekeep.db.repos.catalog import find_organisation
from forgekeep.db.repos.grants import find_grant, list_grants
from forgekeep.errors import UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.residency import ResidencyRule
from forgekeep.service.access.grants import (
    bounded,
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

LICENCE_ACTIONS = ("read", "download", "modify", "manufacture", "share", "sublicense")
_PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ACTIONS_HINT = f"actions are {', '.join(LICENCE_ACTIONS)}"


@dataclass(frozen=True, slots=True)
class LicenceInfo:
    id: str
    licensee_org_id: str
    assets: tuple[str, ...]
    projects: tuple[str, ...]
    actions: tuple[str, ...]
    territory: str
    purpose: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    granted_by: str
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    status: str


def _licence_info(row: Licence, now: dt.datetime) -> LicenceInfo:
    return LicenceInfo(**info_values(LicenceInfo, row, row.valid_from, now))


# -- validation ---------------------------------------------------------------


def territory_codes(rule_text: str) -> frozenset[str]:
    """The ISO 3166-1 codes a territory or destination rule (``EEA+CH``) allows."""
    return ResidencyRule.parse(rule_text).countries


def _actions(actions: Sequence[str]) -> list[str]:
    values = bounded(actions, "actions")
    if not values:
        raise UsageError("a licence needs at least one action", hint=_ACTIONS_HINT)
    for action in values:
        if action not in LICENCE_ACTIONS:
            raise UsageError(f"unknown licence action {action!r}", hint=_ACTIONS_HINT)
    return values


# -- licences -----------------------------------------------------------------


def grant_licence(  # noqa: PLR0913 (keyword-only: the licence's fields)
    ctx: ServiceContext,
    *,
    licensee: str,
    assets: Sequence[str] = (),
    projects: Sequence[str] = (),
    actions: Sequence[str],
    territory: str,
    purpose: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    licence_id: str | None = None,
) -> LicenceInfo:
    """Grant ``licensee`` the ``actions`` on some assets/projects, in a territory and window."""
    target = licence_id if licence_id is not None else f"L-{secrets.token_hex(8)}"
    with request(ctx, Action.LICENCE_GRANT, target) as req, ctx.sessions() as session:
        check_id(target)
        action_list = _actions(actions)
        rule = check_rule(territory, "territory")
        if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
            raise UsageError(
                f"purpose {purpose!r} is invalid", hint="an identifier such as tooling or repair"
            )
        start, end = window(valid_from, "valid_from"), window(valid_until, "valid_until")
        check_until(ctx, end, start)
        org = find_organisation(session, ctx.tenant_id, licensee)
        asset_ids, project_ids = scope(session, ctx, assets, projects)
        id_free(session, Licence, target)
        now = ctx.clock.now()
        row = Licence(
            id=target,
            tenant_id=ctx.tenant_id,
            licensee_org_id=org.id,
            assets=asset_ids,
            projects=project_ids,
            actions=action_list,
            territory=rule,
            purpose=purpose,
            valid_from=start,
            valid_until=end,
            granted_by=ctx.principal_id,
            granted_at=now,
        )
        session.add(row)
        commit_with_event(session, ctx, req.event(Outcome.OK, **journal_detail(row)))
        return _licence_info(row, now)


def revoke_licence(ctx: ServiceContext, licence_id: str) -> LicenceInfo:
    """Revoke a licence: it stays on record, stamped with who revoked it and when."""
    with request(ctx, Action.LICENCE_REVOKE, licence_id) as req, ctx.sessions() as session:
        row = revoke_row(session, ctx, Licence, licence_id, "licence")
        commit_with_event(session, ctx, req.event(Outcome.OK, licensee=row.licensee_org_id))
        return _licence_info(row, ctx.clock.now())


def list_licences(ctx: ServiceContext, *, include_revoked: bool = False) -> list[LicenceInfo]:
    with request(ctx, Action.LICENCE_LIST, "*") as req, ctx.sessions() as session:
        rows = list_grants(session, ctx.tenant_id, Licence, revoked=include_revoked)
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [_licence_info(r, ctx.clock.now()) for r in rows]


def show_licence(ctx: ServiceContext, licence_id: str) -> LicenceInfo:
    with request(ctx, Action.LICENCE_SHOW, licence_id) as req, ctx.sessions() as session:
        row = find_grant(session, ctx.tenant_id, Licence, licence_id, "licence")
        commit_with_event(session, ctx, req.event(Outcome.OK))
        return _licence_info(row, ctx.clock.now())


# -- for the authorization engine ---------------------------------------------
