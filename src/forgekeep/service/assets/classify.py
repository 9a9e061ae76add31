"""Export-control classification of assets (ITAR USML category, EAR ECCN, EAR99).

Security rules:

* Classifying is itself an authorized action (``classify`` on the asset: the
  owner organisation's writers and admins), journaled with before and after.
* Only well-formed markings are stored: ``ITAR:<USML category I-XXI>``,
  ``EAR:<ECCN>`` (e.g. ``9E003``), ``EAR99``, or ``none`` to clear. The Cedar
  guards read them: an ITAR asset needs a US person in the US or an export
  authorisation covering the source and every citizenship; an EAR asset with an
  ECCN needs a US person in the US or an EAR licence or licence exception.
* Removing a marking can open access, so it is journaled like any other change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select

from forgekeep.db.models import AssetVersion, Project
from forgekeep.db.repos.catalog import resolve_asset
from forgekeep.errors import IntegrityError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import CLASSIFICATION_LEVELS, Action
from forgekeep.service.context import AssetTarget, ServiceContext
from forgekeep.service.core import commit_with_event, request

USML_CATEGORIES: Final = frozenset(
    "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX XXI".split()  # noqa: SIM905 (readable)
)
_ECCN = re.compile(r"[0-9][A-E][0-9]{3}(\.[a-z0-9.]{1,12})?")
_HINT = "use ITAR:<USML category, e.g. XI>, EAR:<ECCN, e.g. 9E003>, EAR99, or none"


@dataclass(frozen=True, slots=True)
class ExportMarking:
    regime: str | None  # "ITAR", "EAR" or None
    klass: str | None  # USML category or ECCN ("EAR99" for EAR99)

    def __str__(self) -> str:
        if self.regime is None:
            return "none"
        return "EAR99" if self.klass == "EAR99" else f"{self.regime}:{self.klass}"


def parse_marking(text: str) -> ExportMarking:
    """``ITAR:XI``, ``EAR:9E003``, ``EAR99`` or ``none``; anything else is refused."""
    value = text.strip()
    if value.lower() == "none":
        return ExportMarking(None, None)
    if value.upper() == "EAR99":
        return ExportMarking("EAR", "EAR99")
    regime, _, klass = value.partition(":")
    if regime.upper() == "ITAR" and klass.upper() in USML_CATEGORIES:
        return ExportMarking("ITAR", klass.upper())
    if regime.upper() == "EAR" and _ECCN.fullmatch(klass.upper()[:5] + klass[5:]):
        return ExportMarking("EAR", klass.upper()[:5] + klass[5:])
    raise UsageError(f"export marking {text[:40]!r} is not recognised", hint=_HINT)


@dataclass(frozen=True, slots=True)
class ClassifyResult:
    asset_id: str
    before: str
    after: str
    request_id: str


def classify_asset(
    ctx: ServiceContext, ref: str, *, export: str, project: str | None = None
) -> ClassifyResult:
    """Set the export-control marking of ``ref``."""
    with request(ctx, Action.ASSET_CLASSIFY, ref) as req, ctx.sessions() as session:
        marking = parse_marking(export)
        asset = resolve_asset(session, ctx.tenant_id, ref, project)
        owner_project = session.get(Project, asset.project_id)
        if owner_project is None:
            raise IntegrityError(f"asset {asset.id} has no project")
        levels = session.scalars(
            select(AssetVersion.classification).where(AssetVersion.asset_id == asset.id)
        ).all()
        highest = max(levels, key=lambda c: CLASSIFICATION_LEVELS.get(c, 3), default="internal")
        req.authorize_asset(session, AssetTarget(asset, owner_project, highest))
        before = str(ExportMarking(asset.export_regime, asset.export_class))
        asset.export_regime, asset.export_class = marking.regime, marking.klass
        commit_with_event(
            session,
            ctx,
            req.event(Outcome.OK, asset=asset.id, before=before, after=str(marking)),
        )
        return ClassifyResult(asset.id, before, str(marking), req.id)
