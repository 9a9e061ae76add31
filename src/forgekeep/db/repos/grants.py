"""The grant repository: licences, export authorisations and break-glass grants.

One module owns the queries that find grants, for the use cases that manage them and for the
access decision that weighs them.

Security rules:

* Every query is scoped to one tenant; another tenant's grant is reported as missing.
* A candidate is an *unrevoked* grant held by the asking organisation (or principal, for
  break-glass) inside its time window, naming the asset or its project. Whether it allows the
  action, territory and purpose is the policy engine's decision, not the repository's.
* Candidate queries return at most :data:`MAX_CANDIDATES` rows, so one request's decision
  weighs a bounded set.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.access import BreakGlass, ExportAuthorisation, Licence
from forgekeep.errors import NotFoundError

#: Most licences or authorisations the authorization engine weighs for one request.
MAX_CANDIDATES = 16
Grant = TypeVar("Grant", Licence, ExportAuthorisation)


def find_grant(
    session: Session, tenant_id: str, model: type[Grant], row_id: str, what: str
) -> Grant:
    """One licence or export authorisation of the tenant, by id."""
    row = session.get(model, row_id) if isinstance(row_id, str) else None
    if row is None or row.tenant_id != tenant_id:
        command = "licences" if model is Licence else "export-auth"
        raise NotFoundError(f"no {what} {row_id!r}", hint=f"run `forgekeep {command} ls --all`")
    return row


def list_grants(
    session: Session, tenant_id: str, model: type[Grant], *, revoked: bool
) -> list[Grant]:
    """The tenant's grants of one kind by id; revoked ones only when asked for."""
    query = select(model).where(model.tenant_id == tenant_id)
    if not revoked:
        query = query.where(model.revoked_at.is_(None))
    return list(session.scalars(query.order_by(model.id)).all())


def _candidate_rows(
    session: Session, model: type[Grant], owner: Any, ids: tuple[str, str, str, str]
) -> Iterable[Grant]:
    """Unrevoked rows of one tenant and holder, by id, naming the asset or its project."""
    tenant_id, org_id, asset_id, project_id = ids
    query = select(model).where(
        model.tenant_id == tenant_id, owner == org_id, model.revoked_at.is_(None)
    )
    for row in session.scalars(query.order_by(model.id)):
        if asset_id in (row.assets or ()) or project_id in (row.projects or ()):
            yield row


def licence_candidates(
    session: Session, tenant_id: str, org_id: str, asset_id: str, project_id: str, now: dt.datetime
) -> list[Licence]:
    """Licences held by ``org_id`` that cover the asset (directly or via its project) now.

    Revoked, expired and not-yet-valid licences are left out; ordered by id, at most
    :data:`MAX_CANDIDATES`.
    """
    ids = (tenant_id, org_id, asset_id, project_id)
    rows = _candidate_rows(session, Licence, Licence.licensee_org_id, ids)
    live = (r for r in rows if r.valid_from <= now < r.valid_until)
    return list(itertools.islice(live, MAX_CANDIDATES))


def export_auth_candidates(
    session: Session, tenant_id: str, org_id: str, asset_id: str, project_id: str, now: dt.datetime
) -> list[ExportAuthorisation]:
    """Unrevoked, unexpired export authorisations held by ``org_id`` covering the asset."""
    ids = (tenant_id, org_id, asset_id, project_id)
    rows = _candidate_rows(session, ExportAuthorisation, ExportAuthorisation.holder_org_id, ids)
    live = (r for r in rows if now < r.valid_until)
    return list(itertools.islice(live, MAX_CANDIDATES))


def active_break_glass(
    session: Session, tenant_id: str, principal_id: str, asset_id: str, now: dt.datetime
) -> BreakGlass | None:
    """The break-glass grant that lets ``principal_id`` reach ``asset_id`` at ``now``, if any."""
    rows = session.scalars(
        select(BreakGlass)
        .where(
            BreakGlass.tenant_id == tenant_id,
            BreakGlass.principal_id == principal_id,
            BreakGlass.revoked_at.is_(None),
            BreakGlass.starts_at <= now,
            BreakGlass.expires_at > now,
        )
        .order_by(BreakGlass.expires_at.desc())
    ).all()
    return next((row for row in rows if asset_id in (row.assets or ())), None)
