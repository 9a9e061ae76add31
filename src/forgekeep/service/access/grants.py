"""What licences and export authorisations share: scopes, windows, ids, revocation, look-ups.

Shared by :mod:`forgekeep.service.access.licences` and
:mod:`forgekeep.service.access.export_auths`.

Security rules:

* Fail closed: an unknown organisation, asset or project, an empty scope, a
  malformed or empty territory or destination rule, a naive or inverted time
  window, or a window already over is refused. Nothing is defaulted to
  "everything".
* Scopes are stored as asset and project *ids*, never names, so renaming or
  re-creating a name never widens a grant; deleted assets cannot be named.
* Lists given by callers are bounded by :data:`MAX_LICENCE_SCOPE_ITEMS` before
  any look-up; candidate queries return at most :data:`MAX_CANDIDATES` rows.
* Nothing is deleted: revocation stamps ``revoked_at``/``revoked_by``, and
  revoking twice is a conflict, so the history stays auditable.
* Journal details (:func:`journal_detail`) name ids, organisation ids, actions, rules,
  purposes, references and time windows; never personal data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.db.access import ExportAuthorisation, Licence
from forgekeep.db.models import Asset
from forgekeep.db.repos.catalog import find_project
from forgekeep.db.repos.grants import find_grant
from forgekeep.errors import ConflictError, LimitExceededError, NotFoundError, UsageError
from forgekeep.ledger.journal import Scalar
from forgekeep.limits import MAX_LICENCE_SCOPE_ITEMS
from forgekeep.residency import ResidencyRule
from forgekeep.service.context import ServiceContext

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_RULE_COLUMN_CHARS = 255
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
Row = TypeVar("Row", Licence, ExportAuthorisation)
_ORG_FIELDS = ("licensee_org_id", "holder_org_id", "kind", "reference", "covers_126_18")
_SCOPE_FIELDS = ("assets", "projects", "actions", "territory", "destinations", "purpose")
_JOURNALED = (*_ORG_FIELDS, *_SCOPE_FIELDS, "valid_from", "valid_until")
_DATE_HINT = "give an ISO 8601 time with a timezone, e.g. 2027-01-31T00:00:00Z, or a date"


def _status(
    revoked_at: dt.datetime | None, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> str:
    if revoked_at is not None:
        return "revoked"
    if now >= end:
        return "expired"
    return "pending" if now < start else "active"


def info_values(
    cls: type[DataclassInstance],
    row: Licence | ExportAuthorisation,
    start: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """A row's columns as the fields of its info class ``cls``, with the status at ``now``;
    JSON lists become tuples."""
    values: dict[str, Any] = {
        f.name: tuple(v) if isinstance(v := getattr(row, f.name), list) else v
        for f in fields(cls)
        if f.name != "status"
    }
    return {**values, "status": _status(row.revoked_at, start, row.valid_until, now)}


def check_rule(text: str, what: str) -> str:
    canonical = str(ResidencyRule.parse(text))
    if len(canonical) > _RULE_COLUMN_CHARS:
        raise LimitExceededError(f"{what} rule is longer than {_RULE_COLUMN_CHARS} characters")
    return canonical


def check_id(row_id: str) -> str:
    if not isinstance(row_id, str) or not _ID.fullmatch(row_id):
        raise UsageError(
            f"id {row_id!r} is invalid",
            hint="use letters, digits, '.', '_' and '-' (max 64), starting with a letter or digit",
        )
    return row_id


def bounded(items: Sequence[str], what: str) -> list[str]:
    if isinstance(items, str):
        raise UsageError(f"{what} is a list, not one string")
    if len(items) > MAX_LICENCE_SCOPE_ITEMS:
        raise LimitExceededError(f"at most {MAX_LICENCE_SCOPE_ITEMS} {what}")
    if not all(isinstance(item, str) for item in items):
        raise UsageError(f"every one of the {what} is text")
    return sorted(set(items))


def window(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise UsageError(f"{what} needs a timezone", hint=_DATE_HINT)
    return value.astimezone(dt.UTC)


def check_until(ctx: ServiceContext, until: dt.datetime, start: dt.datetime | None) -> None:
    if start is not None and until <= start:
        raise UsageError("the end of the validity window must come after its start")
    if until <= ctx.clock.now():
        raise UsageError(f"the validity window ended at {until.isoformat()}; nothing to grant")


def _find_asset(session: Session, ctx: ServiceContext, ref: str) -> Asset:
    """A live asset by ``project/name`` or by id (``a-…``)."""
    project, sep, name = ref.partition("/")
    if sep:
        project_id = find_project(session, ctx.tenant_id, project).id
        row = session.scalar(
            select(Asset).where(
                Asset.project_id == project_id, Asset.name == name, Asset.deleted_at.is_(None)
            )
        )
    else:
        row = session.get(Asset, ref)
        if row is not None and (row.tenant_id != ctx.tenant_id or row.deleted_at is not None):
            row = None
    if row is None:
        raise NotFoundError(
            f"no asset {ref!r}", hint="name assets as PROJECT/NAME; run `forgekeep ls`"
        )
    return row


def scope(
    session: Session, ctx: ServiceContext, assets: Sequence[str], projects: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Asset refs and project names → sorted asset and project ids."""
    asset_refs = bounded(assets, "assets")
    project_names = bounded(projects, "projects")
    if not asset_refs and not project_names:
        raise UsageError(
            "name at least one asset or project", hint="add --asset P/NAME or --project P"
        )
    asset_ids = sorted({_find_asset(session, ctx, ref).id for ref in asset_refs})
    project_ids = sorted({find_project(session, ctx.tenant_id, name).id for name in project_names})
    return asset_ids, project_ids


def id_free(session: Session, model: type[Row], row_id: str) -> None:
    if session.get(model, check_id(row_id)) is not None:
        raise ConflictError(f"id {row_id!r} is already in use", hint="choose another --id")


def journal_detail(row: Row) -> dict[str, Scalar]:
    """The journal detail of a new row: ids, rules, windows; lists comma-joined."""
    detail: dict[str, Scalar] = {}
    for name in _JOURNALED:
        value = getattr(row, name, None)
        if isinstance(value, list):
            detail[name] = ",".join(value)
        elif isinstance(value, dt.datetime):
            detail[name] = value.isoformat()
        elif value is not None:
            detail[name] = value
    return detail


def revoke_row(
    session: Session, ctx: ServiceContext, model: type[Row], row_id: str, what: str
) -> Row:
    row = find_grant(session, ctx.tenant_id, model, row_id, what)
    if row.revoked_at is not None:
        raise ConflictError(f"{what} {row_id} was already revoked", hint="nothing to do")
    row.revoked_at, row.revoked_by = ctx.clock.now(), ctx.principal_id
    return row
