"""Principals: organisations, people, machines, suspension and signing keys.

Signed vetting records (clearance and its expiry) are imported by
:mod:`forgekeep.service.principals.vetting`.

Security rules:

* People are pseudonymous (DESIGN §2): a person is named only by a random
  pseudonym; the display name, citizenships and location are sealed under the
  person's own subject key (``identity.seal_attributes``) and never stored,
  journaled or listed in clear. Only :func:`show_principal` opens them.
* Journal details name pseudonyms, organisation ids, roles and counts, never
  personal attributes.
* An admin cannot suspend itself, so a workspace cannot be locked out by accident.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.signed import encode_vkey, parse_vkey
from forgekeep.db.models import KeyRing, Organisation, Principal
from forgekeep.db.repos.catalog import find_organisation, find_principal
from forgekeep.errors import ConflictError, NotFoundError, UsageError
from forgekeep.identity import new_pseudonym, open_attributes, seal_attributes
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, load_actor, request
from forgekeep.service.principals.checks import (
    bounded,
    country,
    validate_display_name,
    validate_fingerprints,
    validate_org_name,
    validate_roles,
    validate_trainings,
)

STATUSES = ("active", "suspended")


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: str
    name: str
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class PrincipalInfo:
    """What may be listed about a principal: no personal attributes."""

    id: str
    kind: str
    org_id: str | None
    roles: tuple[str, ...]
    status: str
    clearance: int
    vetting_expires: dt.datetime | None
    trainings: tuple[str, ...]
    fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrincipalDetail:
    """One principal with its sealed personal attributes opened (people only)."""

    principal: PrincipalInfo
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WhoAmI:
    principal: str
    tenant: str
    roles: tuple[str, ...]
    status: str
    clearance: int
    vetting_expires: dt.datetime | None
    org: str | None = None
    auth: str = "workspace"
    scopes: tuple[str, ...] | None = None  # an API token's scopes; None for a full session
    token_id: str | None = None


def _info(row: Principal) -> PrincipalInfo:
    return PrincipalInfo(
        id=row.id,
        kind=row.kind,
        org_id=row.org_id,
        roles=tuple(row.roles),
        status=row.status,
        clearance=row.clearance,
        vetting_expires=row.vetting_expires,
        trainings=tuple(row.trainings or ()),
        fingerprints=tuple(row.cert_fingerprints or ()),
    )


# -- look-ups -----------------------------------------------------------------


def _subject_ring(session: Session, ctx: ServiceContext) -> str:
    ring = session.scalar(
        select(KeyRing.id)
        .where(KeyRing.tenant_id == ctx.tenant_id, KeyRing.purpose == "subjects")
        .order_by(KeyRing.id)
    )
    if ring is None:
        raise NotFoundError("the tenant has no subjects key ring")
    return ring


# -- use cases ----------------------------------------------------------------


def add_organisation(ctx: ServiceContext, name: str, jurisdiction: str) -> OrganisationInfo:
    with request(ctx, Action.PRINCIPAL_ADD, name) as req, ctx.sessions() as session:
        validate_org_name(name)
        code = country(jurisdiction)
        exists = session.scalar(
            select(Organisation.id).where(
                Organisation.tenant_id == ctx.tenant_id, Organisation.name == name
            )
        )
        if exists is not None:
            raise ConflictError(f"organisation {name!r} already exists")
        row = Organisation(
            id=f"o-{secrets.token_hex(8)}",
            tenant_id=ctx.tenant_id,
            name=name,
            jurisdiction=code,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        commit_with_event(
            session, ctx, req.event(Outcome.OK, kind="organisation", org=row.id, jurisdiction=code)
        )
        return OrganisationInfo(row.id, row.name, row.jurisdiction)


def add_person(
    ctx: ServiceContext,
    org: str,
    display_name: str,
    citizenships: Sequence[str],
    location: str,
    roles: Sequence[str],
    trainings: Sequence[str] = (),
) -> PrincipalInfo:
    """A new person: a pseudonym, with name, citizenships and location sealed."""
    pseudonym = new_pseudonym()
    with request(ctx, Action.PRINCIPAL_ADD, pseudonym) as req, ctx.sessions() as session:
        validate_display_name(display_name)
        countries = bounded((country(c) for c in citizenships), "citizenships")
        if not countries:
            raise UsageError("a person needs at least one citizenship (ISO 3166-1 code)")
        place = country(location)
        role_list = validate_roles(roles)
        training_list = validate_trainings(trainings)
        organisation = find_organisation(session, ctx.tenant_id, org)
        ring = _subject_ring(session, ctx)
        attributes = {
            "display_name": display_name,
            "citizenships": ",".join(countries),
            "location": place,
        }
        wrapped, sealed = seal_attributes(
            ctx.key_manager, ring, ctx.tenant_id, pseudonym, attributes
        )
        row = Principal(
            id=pseudonym,
            tenant_id=ctx.tenant_id,
            kind="person",
            roles=role_list,
            status="active",
            subject_ring=ring,
            attrs_wrapped_key=wrapped,
            attrs_sealed=sealed,
            created_at=ctx.clock.now(),
            org_id=organisation.id,
            clearance=0,
            trainings=training_list,
            vetting_expires=None,
            cert_fingerprints=[],
        )
        session.add(row)
        commit_with_event(
            session,
            ctx,
            req.event(Outcome.OK, kind="person", org=organisation.id, roles=",".join(role_list)),
        )
        return _info(row)


def add_machine(
    ctx: ServiceContext, org: str, roles: Sequence[str], fingerprints: Sequence[str]
) -> PrincipalInfo:
    """A new machine principal, identified by its certificates' SHA-256 fingerprints."""
    pseudonym = new_pseudonym()
    with request(ctx, Action.PRINCIPAL_ADD, pseudonym) as req, ctx.sessions() as session:
        role_list = validate_roles(roles)
        prints = validate_fingerprints(fingerprints)
        organisation = find_organisation(session, ctx.tenant_id, org)
        taken = {
            fp
            for row_prints in session.scalars(
                select(Principal.cert_fingerprints).where(Principal.tenant_id == ctx.tenant_id)
            )
            for fp in (row_prints or ())
        }
        if taken.intersection(prints):
            raise ConflictError("a certificate fingerprint is already bound to a principal")
        row = Principal(
            id=pseudonym,
            tenant_id=ctx.tenant_id,
            kind="machine",
            roles=role_list,
            status="active",
            subject_ring=_subject_ring(session, ctx),
            attrs_wrapped_key=None,
            attrs_sealed=None,
            created_at=ctx.clock.now(),
            org_id=organisation.id,
            clearance=0,
            trainings=[],
            vetting_expires=None,
            cert_fingerprints=prints,
        )
        session.add(row)
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                kind="machine",
                org=organisation.id,
                roles=",".join(role_list),
                fingerprints=len(prints),
            ),
        )
        return _info(row)


def list_principals(ctx: ServiceContext) -> list[PrincipalInfo]:
    with request(ctx, Action.PRINCIPAL_LIST, "*") as req, ctx.sessions() as session:
        rows = session.scalars(
            select(Principal)
            .where(Principal.tenant_id == ctx.tenant_id)
            .order_by(Principal.created_at, Principal.id)
        ).all()
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [_info(r) for r in rows]


def list_organisations(ctx: ServiceContext) -> list[OrganisationInfo]:
    with request(ctx, Action.PRINCIPAL_LIST, "organisations") as req, ctx.sessions() as session:
        rows = session.scalars(
            select(Organisation)
            .where(Organisation.tenant_id == ctx.tenant_id)
            .order_by(Organisation.name)
        ).all()
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return [OrganisationInfo(r.id, r.name, r.jurisdiction) for r in rows]


def show_principal(ctx: ServiceContext, principal_id: str) -> PrincipalDetail:
    """One principal, with its sealed attributes opened by the key manager."""
    with request(ctx, Action.PRINCIPAL_SHOW, principal_id) as req, ctx.sessions() as session:
        row = find_principal(session, ctx.tenant_id, principal_id)
        attributes: dict[str, str] = {}
        if row.attrs_sealed is not None and row.attrs_wrapped_key is not None:
            attributes = open_attributes(
                ctx.key_manager,
                row.subject_ring,
                ctx.tenant_id,
                row.id,
                row.attrs_wrapped_key,
                row.attrs_sealed,
            )
        commit_with_event(session, ctx, req.event(Outcome.OK, opened=bool(attributes)))
        return PrincipalDetail(_info(row), attributes)


def _set_status(ctx: ServiceContext, principal_id: str, status: str) -> PrincipalInfo:
    with request(ctx, Action.PRINCIPAL_SUSPEND, principal_id) as req, ctx.sessions() as session:
        row = find_principal(session, ctx.tenant_id, principal_id)
        if row.status == "erased":
            raise ConflictError(f"{row.id} was erased; an erased principal stays erased")
        if status != "active" and row.id == ctx.principal_id:
            raise UsageError(
                "you cannot suspend yourself", hint="ask another admin to suspend this principal"
            )
        before = row.status
        row.status = status
        commit_with_event(session, ctx, req.event(Outcome.OK, before=before, after=status))
        return _info(row)


def suspend(ctx: ServiceContext, principal_id: str) -> PrincipalInfo:
    """Suspend a principal: every later request it makes is denied."""
    return _set_status(ctx, principal_id, "suspended")


def resume(ctx: ServiceContext, principal_id: str) -> PrincipalInfo:
    """Make a suspended principal active again (journaled as a principal.suspend change)."""
    return _set_status(ctx, principal_id, "active")


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    principal: str
    key_id: str


def set_signing_key(ctx: ServiceContext, principal_id: str, vkey_text: str) -> SigningKeyInfo:
    """Register (or replace) the verifier key a principal signs approvals with.

    A key belongs to one principal only. Replacing a key makes the principal's
    earlier signed verdicts stop verifying, so approvals they signed cannot be used.
    """
    with request(ctx, Action.PRINCIPAL_SET_KEY, principal_id) as req, ctx.sessions() as session:
        row = find_principal(session, ctx.tenant_id, principal_id)
        key = parse_vkey(vkey_text.strip() if isinstance(vkey_text, str) else vkey_text)
        vkey = encode_vkey(key)
        holder = session.scalar(
            select(Principal.id).where(
                Principal.tenant_id == ctx.tenant_id,
                Principal.signing_vkey == vkey,
                Principal.id != row.id,
            )
        )
        if holder is not None:
            raise ConflictError(
                f"key {key.key_id} is already registered to another principal",
                hint="each approver signs with a key of their own (`forgekeep keygen`)",
            )
        before = parse_vkey(row.signing_vkey).key_id if row.signing_vkey else None
        row.signing_vkey = vkey
        commit_with_event(session, ctx, req.event(Outcome.OK, key=key.key_id, replaced=before))
        return SigningKeyInfo(row.id, key.key_id)


def whoami(ctx: ServiceContext) -> WhoAmI:
    """The acting principal as this workspace knows it (no personal attributes).

    Authentication only, not journaled: it reads the caller's own row, so a
    suspended or unknown principal can still see why it is refused.
    """
    with ctx.sessions() as session:
        actor = load_actor(session, ctx)
        return WhoAmI(
            principal=ctx.principal_id,
            tenant=ctx.tenant_id,
            roles=() if actor is None else actor.roles,
            status="unknown" if actor is None else actor.status,
            clearance=0 if actor is None else actor.clearance,
            vetting_expires=None if actor is None else actor.vetting_expires,
            org=None if actor is None else actor.org_id,
            auth=ctx.auth.method,
            scopes=None if ctx.auth.scopes is None else tuple(sorted(ctx.auth.scopes)),
            token_id=ctx.auth.token_id,
        )
