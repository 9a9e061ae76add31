"""Cedar entities built from database rows, and the candidates a decision tries.

Security rules:

* An asset's owner is its project's owner organisation (default: the tenant's
  home organisation); its classification level is the one the decision is
  made at, and an unknown classification counts as the highest (``secret``).
* Licences, export authorisations and break-glass grants are candidates only
  when they are unrevoked, current and held by the actor (or the actor's
  organisation); the policies still check their assets, window, territory and
  purpose. At most a bounded number of each is tried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from forgekeep.db import models
from forgekeep.db.access import ExportAuthorisation, Licence
from forgekeep.db.repos.grants import active_break_glass, export_auth_candidates, licence_candidates
from forgekeep.policy import entities as ent
from forgekeep.residency import ResidencyRule
from forgekeep.service.authz import CLASSIFICATION_LEVELS
from forgekeep.service.context import Actor, AssetTarget


def _home_org(session: Session, tenant_id: str) -> str | None:
    tenant = session.get(models.Tenant, tenant_id)
    return tenant.home_org_id if tenant else None


def project_entity(session: Session, project: models.Project) -> ent.Project:
    owner = project.owner_org_id or _home_org(session, project.tenant_id) or "unowned"
    return ent.Project(project.id, owner)


def asset_entity(target: AssetTarget, owner: str) -> ent.Asset:
    asset = target.asset
    itar = asset.export_regime == "ITAR"
    return ent.Asset(
        asset.id,
        owner=owner,
        project=target.project.id,
        classification=CLASSIFICATION_LEVELS.get(target.classification, 3),
        itar=itar,
        usml_category=asset.export_class if itar else None,
        ear_eccn=(asset.export_class or "EAR99") if asset.export_regime == "EAR" else None,
    )


@dataclass(frozen=True, slots=True)
class Candidates:
    licences: tuple[ent.Licence, ...]
    exports: tuple[ent.ExportAuth, ...]
    glass: tuple[ent.BreakGlass, ...]

    def combinations(self) -> Iterable[tuple[str | None, str | None, str | None]]:
        """(licence, export auth, break-glass) to try: plain first, then each candidate."""
        exports: list[str | None] = [None, *(e.id for e in self.exports)]
        for export in exports:
            yield None, export, None
            for licence in self.licences:
                yield licence.id, export, None
            for glass in self.glass:
                yield None, export, glass.id


def candidates(session: Session, actor: Actor, target: AssetTarget, now: dt.datetime) -> Candidates:
    asset, project, tenant = target.asset.id, target.project.id, target.asset.tenant_id
    licences: list[ent.Licence] = []
    exports: list[ent.ExportAuth] = []
    if actor.org_id is not None:
        held = (session, tenant, actor.org_id, asset, project, now)
        licences = [_licence(row) for row in licence_candidates(*held)]
        exports = [_export(row) for row in export_auth_candidates(*held)]
    grant = active_break_glass(session, tenant, actor.id, asset, now)
    glass = (
        []
        if grant is None
        else [
            ent.BreakGlass(grant.id, grant.principal_id, frozenset(grant.assets), grant.expires_at)
        ]
    )
    return Candidates(tuple(licences), tuple(exports), tuple(glass))


def _licence(row: Licence) -> ent.Licence:
    return ent.Licence(
        row.id,
        licensee=row.licensee_org_id,
        assets=frozenset(row.assets),
        actions=frozenset(row.actions),
        territory=ResidencyRule.parse(row.territory).countries,
        purpose=row.purpose,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        projects=frozenset(row.projects),
    )


def _export(row: ExportAuthorisation) -> ent.ExportAuth:
    return ent.ExportAuth(
        row.id,
        holder=row.holder_org_id,
        kind=row.kind,
        assets=frozenset(row.assets),
        destinations=ResidencyRule.parse(row.destinations).countries,
        valid_until=row.valid_until,
        covers_126_18=row.covers_126_18,
        projects=frozenset(row.projects),
    )
