"""Projects: the unit of residency, replication, key ring and shred domain.

Security rules: creating a project creates its domain key inside the key
manager (the key never leaves it); changing a project is journaled with the
old and new values. Residency and replica counts are stored now and enforced
by the residency issue.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.models import DomainKey, KeyRing, Project, Tenant
from forgekeep.db.repos.catalog import find_organisation, find_project
from forgekeep.errors import ConflictError, NotFoundError, UsageError
from forgekeep.keys.protocol import DomainKeyRef
from forgekeep.ledger.journal import Outcome
from forgekeep.service.assets.names import validate_project_name
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request

SHRED_DOMAINS = ("project", "asset")
_RESIDENCY = re.compile(r"[A-Z]{2,5}(\+[A-Z]{2,5})*")
MAX_REPLICAS = 16


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: str
    name: str
    residency: str
    replicas: int
    key_ring: str
    shred_domain: str
    domain_key: str
    owner: str | None = None


def _info(row: Project) -> ProjectInfo:
    return ProjectInfo(
        row.id,
        row.name,
        row.residency,
        row.replicas,
        row.key_ring_id,
        row.shred_domain,
        row.domain_key_id,
        row.owner_org_id,
    )


def _check_settings(residency: str | None, replicas: int | None, shred: str | None) -> None:
    if residency is not None and not _RESIDENCY.fullmatch(residency):
        raise UsageError("residency is ISO 3166 codes or blocs joined by '+', e.g. DE or EEA+CH")
    if replicas is not None and not 1 <= replicas <= MAX_REPLICAS:
        raise UsageError(f"replicas must be between 1 and {MAX_REPLICAS}")
    if shred is not None and shred not in SHRED_DOMAINS:
        raise UsageError("shred domain must be 'project' or 'asset'")


def new_domain_key(session: Session, ctx: ServiceContext, ring: str, scope: str) -> str:
    """Create a domain key in the key manager and record it; returns its id."""
    domain_id = f"dk-{secrets.token_hex(10)}"
    ctx.key_manager.create_domain_key(DomainKeyRef(ring=ring, domain=domain_id))
    session.add(
        DomainKey(
            id=domain_id, ring_id=ring, scope=scope, state="active", created_at=ctx.clock.now()
        )
    )
    return domain_id


def create_project(
    ctx: ServiceContext,
    name: str,
    *,
    residency: str,
    replicas: int = 1,
    key_ring: str | None = None,
    shred_domain: str = "project",
    owner: str | None = None,
) -> ProjectInfo:
    """A new project owned by ``owner`` (an organisation; default: the tenant's own)."""
    with request(ctx, Action.PROJECT_CREATE, name) as req, ctx.sessions() as session:
        validate_project_name(name)
        owner_org = _owner(session, ctx, owner)
        _check_settings(residency, replicas, shred_domain)
        if (
            session.scalar(
                select(Project.id).where(Project.tenant_id == ctx.tenant_id, Project.name == name)
            )
            is not None
        ):
            raise ConflictError(f"project {name!r} already exists")
        ring = key_ring or _default_ring(session, ctx)
        if (
            session.scalar(
                select(KeyRing.id).where(
                    KeyRing.id == ring,
                    KeyRing.tenant_id == ctx.tenant_id,
                    KeyRing.purpose == "assets",
                )
            )
            is None
        ):
            raise NotFoundError(f"no asset key ring {ring!r} in this tenant")
        now = ctx.clock.now()
        row = Project(
            id=f"pr-{secrets.token_hex(8)}",
            tenant_id=ctx.tenant_id,
            name=name,
            residency=residency,
            replicas=replicas,
            key_ring_id=ring,
            domain_key_id=new_domain_key(session, ctx, ring, "project"),
            shred_domain=shred_domain,
            created_at=now,
            updated_at=now,
            owner_org_id=owner_org,
        )
        session.add(row)
        commit_with_event(session, ctx, req.event(Outcome.OK, project=row.id, ring=ring))
        return _info(row)


def _owner(session: Session, ctx: ServiceContext, owner: str | None) -> str | None:
    if owner is not None:
        return find_organisation(session, ctx.tenant_id, owner).id
    tenant = session.get(Tenant, ctx.tenant_id)
    return tenant.home_org_id if tenant else None


def _default_ring(session: Session, ctx: ServiceContext) -> str:
    ring = session.scalar(
        select(KeyRing.id).where(KeyRing.tenant_id == ctx.tenant_id, KeyRing.purpose == "assets")
    )
    if ring is None:
        raise NotFoundError("the tenant has no asset key ring")
    return ring


def list_projects(ctx: ServiceContext) -> list[ProjectInfo]:
    with request(ctx, Action.PROJECT_LIST, "*") as req, ctx.sessions() as session:
        rows = session.scalars(
            select(Project).where(Project.tenant_id == ctx.tenant_id).order_by(Project.name)
        ).all()
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [_info(r) for r in rows]


def show_project(ctx: ServiceContext, name: str) -> ProjectInfo:
    with request(ctx, Action.PROJECT_SHOW, name) as req, ctx.sessions() as session:
        row = find_project(session, ctx.tenant_id, name)
        req.authorize_project(session, row)
        commit_with_event(session, ctx, req.event(Outcome.OK))
        return _info(row)


def set_project(
    ctx: ServiceContext,
    name: str,
    *,
    residency: str | None = None,
    replicas: int | None = None,
    shred_domain: str | None = None,
) -> ProjectInfo:
    with request(ctx, Action.PROJECT_SET, name) as req, ctx.sessions() as session:
        _check_settings(residency, replicas, shred_domain)
        row = find_project(session, ctx.tenant_id, name)
        req.authorize_project(session, row)
        before = f"{row.residency}/{row.replicas}/{row.shred_domain}"
        row.residency = residency or row.residency
        row.replicas = replicas or row.replicas
        row.shred_domain = shred_domain or row.shred_domain
        row.updated_at = ctx.clock.now()
        after = f"{row.residency}/{row.replicas}/{row.shred_domain}"
        commit_with_event(session, ctx, req.event(Outcome.OK, before=before, after=after))
        return _info(row)
