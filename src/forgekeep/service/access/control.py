"""Cedar decisions for service requests: entities built from the database.

Security rules:

* Default deny: a request is allowed only by a clean Cedar ``Allow`` over the
  baseline and the tenant's applied policies; an unknown principal, an actor
  whose attributes are incomplete, and any evaluation error are denials.
* The acting person's personal attributes (citizenships, location) are sealed
  under their own subject key. They are opened in memory, for the acting
  principal only, to make the decision; they are never journaled or returned.
* The source jurisdiction is where the actor is recorded to be (a person's
  sealed location; a machine's organisation), never a claim in the request.
* Licences, export authorisations and break-glass grants are candidates only
  when they are unrevoked and held by the actor (or the actor's organisation);
  the policies still check their assets, window, territory and purpose.
* Parsed entity handles are cached by content, so a repeated request re-uses
  its handle instead of re-parsing (``AccessControl.entity_parses`` counts;
  the cache is :class:`forgekeep.policy.entity_cache.EntityCache`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db import models
from forgekeep.db.access import PolicyVersion
from forgekeep.errors import ForgekeepError
from forgekeep.identity import open_attributes
from forgekeep.keys.protocol import KeyManager
from forgekeep.ledger.journal import Scalar
from forgekeep.policy import entities as ent
from forgekeep.policy.engine import INVALID_ENTITIES, PolicyEngine, baseline_text
from forgekeep.policy.engine import Request as CedarRequest
from forgekeep.policy.entity_cache import EntityCache
from forgekeep.service.access.entities import (
    asset_entity,
    candidates,
    project_entity,
)
from forgekeep.service.access.sealed_reasons import refusal_detail
from forgekeep.service.authz import Decision
from forgekeep.service.context import Actor, AssetTarget, RefusalIds, RequestFacts

UNKNOWN_PRINCIPAL: Final = "principal-unknown"
DEFAULT_DENY_POLICY: Final = "(default-deny: no policy permits)"
INCOMPLETE_PRINCIPAL: Final = "principal-attributes-incomplete"


def _sealed_attributes(km: KeyManager, tenant_id: str, row: models.Principal) -> dict[str, str]:
    if row.attrs_sealed is None or row.attrs_wrapped_key is None:
        return {}
    return dict(
        open_attributes(
            km, row.subject_ring, tenant_id, row.id, row.attrs_wrapped_key, row.attrs_sealed
        )
    )


@functools.lru_cache(maxsize=8)
def policy_engine(customer_policies: str) -> PolicyEngine:
    """The engine for the baseline plus a tenant's applied policies, parsed once per text."""
    return PolicyEngine(baseline_text() + "\n" + customer_policies)


def applied_policy(session: Session, tenant_id: str) -> tuple[tuple[int, str], str]:
    """((version id, sha256), text) of the tenant's newest applied policy set, if any."""
    row = session.execute(
        select(PolicyVersion.id, PolicyVersion.sha256, PolicyVersion.text)
        .where(PolicyVersion.tenant_id == tenant_id)
        .order_by(PolicyVersion.id.desc())
        .limit(1)
    ).first()
    return ((0, ""), "") if row is None else ((row[0], row[1]), row[2])


class AccessControl:
    """The policy engine plus the entity plumbing of one workspace."""

    def __init__(
        self,
        engine: PolicyEngine,
        operator_jurisdictions: frozenset[str],
        policy_version: tuple[int, str] = (0, ""),
    ) -> None:
        self.engine = engine
        self.operator_jurisdictions = operator_jurisdictions
        self.policy_version = policy_version
        self._cache = EntityCache()
        self._attributes: dict[tuple[str, bytes], dict[str, str]] = {}

    @property
    def entity_parses(self) -> int:
        return self._cache.parses

    def refresh(self, session: Session, tenant_id: str) -> None:
        """Follow ``policy apply`` made since this workspace was opened (one indexed query)."""
        newest = session.execute(
            select(PolicyVersion.id, PolicyVersion.sha256)
            .where(PolicyVersion.tenant_id == tenant_id)
            .order_by(PolicyVersion.id.desc())
            .limit(1)
        ).first()
        current = (0, "") if newest is None else (newest[0], newest[1])
        if current != self.policy_version:  # ids can be reused after a deletion: hash too
            _, text = applied_policy(session, tenant_id)
            self.engine, self.policy_version = policy_engine(text), current
            self._cache.clear()

    # -- actors ---------------------------------------------------------------

    def load_actor(
        self, session: Session, km: KeyManager, tenant_id: str, principal_id: str
    ) -> Actor | None:
        row = session.get(models.Principal, principal_id)
        if row is None or row.tenant_id != tenant_id:
            return None
        org = session.get(models.Organisation, row.org_id) if row.org_id else None
        key = (row.id, row.attrs_sealed or b"")
        if key not in self._attributes:
            self._attributes[key] = _sealed_attributes(km, tenant_id, row)
        attributes = self._attributes[key]
        citizenships = attributes.get("citizenships", "")
        return Actor(
            id=row.id,
            kind=row.kind,
            status=row.status,
            roles=tuple(row.roles),
            org_id=row.org_id,
            org_jurisdiction=org.jurisdiction if org else None,
            clearance=row.clearance,
            vetting_expires=row.vetting_expires,
            trainings=tuple(row.trainings or ()),
            citizenships=frozenset(c for c in citizenships.split(",") if c),
            location=attributes.get("location"),
        )

    def refusal_detail(
        self, session: Session, km: KeyManager, ids: RefusalIds, exc: ForgekeepError
    ) -> dict[str, Scalar]:
        return refusal_detail(session, km, ids.tenant_id, ids.actor_id, ids.request_id, exc)

    # -- decisions ------------------------------------------------------------

    def decide_tenant(
        self, actor: Actor | None, tenant_id: str, cedar_action: str, facts: RequestFacts
    ) -> Decision:
        if actor is None:
            return Decision(False, (), (UNKNOWN_PRINCIPAL,))
        tenant = ent.Tenant(tenant_id, self.operator_jurisdictions)
        return self._evaluate(actor, cedar_action, tenant.to_cedar(), [tenant], (), facts)

    def decide_project(
        self,
        session: Session,
        actor: Actor | None,
        project: models.Project,
        cedar_action: str,
        facts: RequestFacts,
    ) -> Decision:
        if actor is None:
            return Decision(False, (), (UNKNOWN_PRINCIPAL,))
        entity = project_entity(session, project)
        return self._evaluate(actor, cedar_action, entity.to_cedar(), [entity], (), facts)

    def decide_asset(
        self,
        session: Session,
        actor: Actor | None,
        target: AssetTarget,
        cedar_action: str,
        facts: RequestFacts,
    ) -> Decision:
        """Try the actor's candidate licences and export authorisations; first allow wins."""
        if actor is None:
            return Decision(False, (), (UNKNOWN_PRINCIPAL,))
        project = project_entity(session, target.project)
        asset = asset_entity(target, project.owner)
        extras = candidates(session, actor, target, facts.now)
        base: list[Any] = [project, asset, *extras.licences, *extras.exports, *extras.glass]
        ancestors = (ent.uid("Project", project.id),)
        decision = Decision(False, (), (INVALID_ENTITIES,))
        for licence, export, glass in extras.combinations():
            attempt = self._evaluate(
                actor,
                cedar_action,
                asset.to_cedar(),
                base,
                ancestors,
                facts,
                licence=licence,
                export_auth=export,
                break_glass=glass,
            )
            decision = attempt
            if attempt.allowed:
                break
        return decision

    def _evaluate(  # noqa: PLR0913 (one decision's full description)
        self,
        actor: Actor,
        cedar_action: str,
        resource: Mapping[str, Any],
        others: Sequence[Any],
        ancestors: Sequence[str],
        facts: RequestFacts,
        *,
        licence: str | None = None,
        export_auth: str | None = None,
        break_glass: str | None = None,
    ) -> Decision:
        entity = actor.entity()
        if entity is None:
            return Decision(False, (), (INCOMPLETE_PRINCIPAL,))
        context = ent.RequestContext(
            facts.now,
            actor.source_jurisdiction,
            facts.purpose,
            facts.auth_strength,
            licence=licence,
            export_auth=export_auth,
            break_glass=break_glass,
        )
        orgs = {o for o in (actor.org_id, *(getattr(x, "owner", None) for x in others)) if o}
        documents = [entity.to_cedar(), *(x.to_cedar() for x in others)]
        documents += [ent.Organisation(o).to_cedar() for o in sorted(orgs)]
        uid_text = resource["uid"]
        request = CedarRequest(
            actor.cedar_uid,
            cedar_action,
            ent.uid(uid_text["type"].rsplit("::", 1)[1], uid_text["id"]),
            context.to_cedar(),
        )
        result = self.engine.decide(
            request, self._cache.parsed(self.engine, documents), resource_ancestors=list(ancestors)
        )
        # A default deny is decided by no policy; name it so every decision names one.
        policies = result.policies or (() if result.allowed else (DEFAULT_DENY_POLICY,))
        return Decision(
            result.allowed,
            policies,
            result.reasons,
            licence if result.allowed else None,
            export_auth if result.allowed else None,
            break_glass if result.allowed else None,
        )
