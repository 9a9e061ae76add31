"""The context every request runs in, and the types the request core shares with the domains.

The request core (:mod:`forgekeep.service.core`) and every use case import these; this module
imports no use case and no decision engine. Access decisions reach the core through the small
:class:`Authorizer` protocol, which :mod:`forgekeep.service.wiring` fills with the Cedar engine
of :mod:`forgekeep.service.access.control`.

Security rules:

* A :class:`ServiceContext` is built only by ``service.wiring``: one tenant, one acting
  principal, one proof of who it is (:class:`Authentication`).
* An :class:`Actor` holds personal attributes (citizenships, location) in memory only, opened
  for the acting principal's own decision; it is never journaled or returned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import Clock
from forgekeep.config import Settings
from forgekeep.db import models
from forgekeep.errors import ForgekeepError
from forgekeep.keys.protocol import KeyManager
from forgekeep.ledger.journal import Journal, Scalar
from forgekeep.ledger.sequencer import Sequencer
from forgekeep.policy import entities as ent
from forgekeep.service.authz import Decision
from forgekeep.storage.protocol import BlobStore


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting principal with what decisions need (personal attributes in memory only)."""

    id: str
    kind: str
    status: str
    roles: tuple[str, ...]
    org_id: str | None
    org_jurisdiction: str | None
    clearance: int
    vetting_expires: dt.datetime | None
    trainings: tuple[str, ...]
    citizenships: frozenset[str]
    location: str | None

    @property
    def source_jurisdiction(self) -> str:
        return (self.location if self.kind == "person" else self.org_jurisdiction) or "ZZ"

    def entity(self) -> ent.Person | ent.Machine | None:
        """The Cedar entity, or None when an attribute the schema needs is missing."""
        if self.org_id is None:
            return None
        if self.kind == "machine":
            return ent.Machine(
                self.id, self.org_id, frozenset(self.roles), self.status, self.clearance
            )
        if not self.citizenships or self.location is None:
            return None
        return ent.Person(
            self.id,
            org=self.org_id,
            citizenships=self.citizenships,
            us_person="US" in self.citizenships,
            location=self.location,
            clearance=self.clearance,
            vetting_expires=self.vetting_expires,
            trainings=frozenset(self.trainings),
            roles=frozenset(self.roles),
            status=self.status,
        )

    @property
    def cedar_uid(self) -> str:
        return ent.uid("Machine" if self.kind == "machine" else "Person", self.id)


@dataclass(frozen=True, slots=True)
class RequestFacts:
    now: dt.datetime
    purpose: str
    auth_strength: str


@dataclass(frozen=True, slots=True)
class AssetTarget:
    """An asset as a decision sees it (``version_classification`` when one version is read)."""

    asset: models.Asset
    project: models.Project
    classification: str = "internal"


class Authorizer(Protocol):
    """Decides requests; the request core asks it and records what it says."""

    def refresh(self, session: Session, tenant_id: str) -> None:
        """Pick up a newly applied policy set."""

    def load_actor(
        self, session: Session, km: KeyManager, tenant_id: str, principal_id: str
    ) -> Actor | None:
        """The acting principal, or None when it is not a principal of this tenant."""

    def decide_tenant(
        self, actor: Actor | None, tenant_id: str, cedar_action: str, facts: RequestFacts
    ) -> Decision:
        """A tenant-wide action."""

    def decide_project(
        self,
        session: Session,
        actor: Actor | None,
        project: models.Project,
        cedar_action: str,
        facts: RequestFacts,
    ) -> Decision:
        """An action on one project."""

    def decide_asset(
        self,
        session: Session,
        actor: Actor | None,
        target: AssetTarget,
        cedar_action: str,
        facts: RequestFacts,
    ) -> Decision:
        """An action on one asset (version), weighing the actor's grants."""

    def refusal_detail(
        self, session: Session, km: KeyManager, ids: RefusalIds, exc: ForgekeepError
    ) -> dict[str, Scalar]:
        """The journaled detail of a refusal; reasons that reveal sealed attributes sealed."""


@dataclass(frozen=True, slots=True)
class RefusalIds:
    """Whose request was refused, and which."""

    tenant_id: str
    actor_id: str
    request_id: str


@dataclass(frozen=True, slots=True)
class SiteHandle:
    name: str
    jurisdiction: str
    store: BlobStore


@dataclass(frozen=True, slots=True)
class Authentication:
    """How the acting principal proved who it is.

    ``scopes`` is ``None`` for a full session (the workspace's own principal,
    or a login); an API token limits the request to its scopes' actions.
    """

    method: str  # "workspace", "token", "oidc" or "mtls"
    strength: str  # Cedar context auth_strength: "local", "token", "oidc", "mtls"
    scopes: frozenset[str] | None = None
    token_id: str | None = None


WORKSPACE_AUTH = Authentication("workspace", "local")


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
    access: Authorizer
    key_manager: KeyManager
    sites: Mapping[str, SiteHandle]
    run_dir: Path
    auth: Authentication = WORKSPACE_AUTH
    closers: list[contextlib.AbstractContextManager[object]] = field(default_factory=list)
    # Set while a long-running host runs group commit (Vault.group_commit).
    sequencer: Sequencer | None = None

    @property
    def default_site(self) -> SiteHandle:
        return next(iter(self.sites.values()))
