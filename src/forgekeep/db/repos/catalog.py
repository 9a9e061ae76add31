"""Look-ups by name or id that every domain shares: projects, assets, organisations, principals.

Security rule: every look-up is scoped to one tenant; a row of another tenant is reported as
missing, exactly like a row that does not exist, so ids leak nothing across tenants.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.models import Asset, Organisation, Principal, Project
from forgekeep.errors import ConflictError, NotFoundError


def find_project(session: Session, tenant_id: str, name: str) -> Project:
    """The tenant's project called ``name``."""
    row = session.scalar(
        select(Project).where(Project.tenant_id == tenant_id, Project.name == name)
    )
    if row is None:
        raise NotFoundError(f"no project {name!r}", hint="run `forgekeep projects ls`")
    return row


def resolve_asset(session: Session, tenant_id: str, ref: str, project: str | None = None) -> Asset:
    """An asset by id, or by name (optionally within one project)."""
    query = (
        select(Asset)
        .join(Project, Asset.project_id == Project.id)
        .where(Asset.tenant_id == tenant_id)
    )
    if project is not None:
        query = query.where(Project.name == project)
    by_id = session.scalar(query.where(Asset.id == ref))
    if by_id is not None:
        return by_id
    matches = session.scalars(query.where(Asset.name == ref, Asset.deleted_at.is_(None))).all()
    if not matches:
        raise NotFoundError(f"no asset {ref!r}")
    if len(matches) > 1:
        raise ConflictError(
            f"{ref!r} names assets in {len(matches)} projects",
            hint="add --project P, or use the asset id from `forgekeep ls`",
        )
    return matches[0]


def find_organisation(session: Session, tenant_id: str, ref: str) -> Organisation:
    """An organisation of this tenant by id (``o-…``) or name."""
    row = session.scalar(
        select(Organisation).where(
            Organisation.tenant_id == tenant_id,
            (Organisation.id == ref) | (Organisation.name == ref),
        )
    )
    if row is None:
        raise NotFoundError(f"no organisation {ref!r}", hint="run `forgekeep principals ls`")
    return row


def find_principal(session: Session, tenant_id: str, principal_id: str) -> Principal:
    """A principal of this tenant by id."""
    row = session.get(Principal, principal_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no principal {principal_id!r}", hint="run `forgekeep principals ls`")
    return row
