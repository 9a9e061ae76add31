"""Cedar entities and request contexts built from Forgekeep's domain records.

Security rule: entity ids are checked to be plain identifiers before they are
placed into Cedar entity references, so no id can smuggle quotes or a type
change into a request; times are passed as whole seconds since the epoch from
the injected clock, never read here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from forgekeep.errors import InvalidNameError, UsageError
from forgekeep.policy.engine import NAMESPACE

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
Json = dict[str, Any]


def _checked(entity_id: str) -> str:
    if not _ID.fullmatch(entity_id):
        raise InvalidNameError(f"invalid entity id {entity_id[:40]!r}")
    return entity_id


def uid(kind: str, entity_id: str) -> str:
    """The Cedar entity reference string, e.g. ``Forgekeep::Person::"p-1"``."""
    return f'{NAMESPACE}::{kind}::"{_checked(entity_id)}"'


def ref(kind: str, entity_id: str) -> Json:
    return {"__entity": {"type": f"{NAMESPACE}::{kind}", "id": _checked(entity_id)}}


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _entity(kind: str, entity_id: str, attrs: Json, parents: Iterable[Json] = ()) -> Json:
    return {
        "uid": ref(kind, entity_id)["__entity"],
        "attrs": attrs,
        "parents": [p["__entity"] for p in parents],
    }


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str

    def to_cedar(self) -> Json:
        return _entity("Organisation", self.id, {})


@dataclass(frozen=True, slots=True)
class Tenant:
    """The resource of tenant-wide actions; operators must act from these jurisdictions."""

    id: str
    operator_jurisdictions: frozenset[str] = frozenset()

    def to_cedar(self) -> Json:
        attrs = {"operator_jurisdictions": sorted(self.operator_jurisdictions)}
        return _entity("Tenant", self.id, attrs)


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    org: str
    citizenships: frozenset[str]
    us_person: bool
    location: str
    clearance: int = 0
    vetting_expires: dt.datetime | None = None
    trainings: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    status: str = "active"

    def __post_init__(self) -> None:
        if not self.citizenships:
            raise UsageError(f"person {self.id} needs at least one citizenship on record")

    def to_cedar(self) -> Json:
        attrs: Json = {
            "org": ref("Organisation", self.org),
            "citizenships": sorted(self.citizenships),
            "us_person": self.us_person,
            "location": self.location,
            "clearance": self.clearance,
            "trainings": sorted(self.trainings),
            "roles": sorted(self.roles),
            "status": self.status,
        }
        if self.vetting_expires is not None:
            attrs["vetting_expires"] = epoch(self.vetting_expires)
        return _entity("Person", self.id, attrs, [ref("Organisation", self.org)])


@dataclass(frozen=True, slots=True)
class Machine:
    id: str
    org: str
    roles: frozenset[str] = frozenset()
    status: str = "active"
    clearance: int = 0

    def to_cedar(self) -> Json:
        attrs = {
            "org": ref("Organisation", self.org),
            "clearance": self.clearance,
            "roles": sorted(self.roles),
            "status": self.status,
        }
        return _entity("Machine", self.id, attrs, [ref("Organisation", self.org)])


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    owner: str

    def to_cedar(self) -> Json:
        return _entity("Project", self.id, {"owner": ref("Organisation", self.owner)})


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    owner: str
    project: str
    classification: int = 1
    itar: bool = False
    usml_category: str | None = None
    ear_eccn: str | None = None

    def to_cedar(self) -> Json:
        attrs: Json = {
            "owner": ref("Organisation", self.owner),
            "classification": self.classification,
            "itar": self.itar,
        }
        if self.usml_category is not None:
            attrs["usml_category"] = self.usml_category
        if self.ear_eccn is not None:
            attrs["ear_eccn"] = self.ear_eccn
        return _entity("Asset", self.id, attrs, [ref("Project", self.project)])


@dataclass(frozen=True, slots=True)
class Licence:
    id: str
    licensee: str
    assets: frozenset[str]
    actions: frozenset[str]
    territory: frozenset[str]
    purpose: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    projects: frozenset[str] = frozenset()

    def to_cedar(self) -> Json:
        return _entity(
            "Licence",
            self.id,
            {
                "licensee": ref("Organisation", self.licensee),
                "assets": [ref("Asset", a) for a in sorted(self.assets)],
                "projects": [ref("Project", p) for p in sorted(self.projects)],
                "actions": sorted(self.actions),
                "territory": sorted(self.territory),
                "purpose": self.purpose,
                "valid_from": epoch(self.valid_from),
                "valid_until": epoch(self.valid_until),
            },
        )


@dataclass(frozen=True, slots=True)
class ExportAuth:
    id: str
    holder: str
    kind: str  # "ITAR-TAA", "ITAR-DSP-5", "EAR-licence", "EAR-exception"
    assets: frozenset[str]
    destinations: frozenset[str]
    valid_until: dt.datetime
    covers_126_18: bool = False
    projects: frozenset[str] = frozenset()

    def to_cedar(self) -> Json:
        return _entity(
            "ExportAuth",
            self.id,
            {
                "holder": ref("Organisation", self.holder),
                "kind": self.kind,
                "assets": [ref("Asset", a) for a in sorted(self.assets)],
                "projects": [ref("Project", p) for p in sorted(self.projects)],
                "destinations": sorted(self.destinations),
                "valid_until": epoch(self.valid_until),
                "covers_126_18": self.covers_126_18,
            },
        )


@dataclass(frozen=True, slots=True)
class BreakGlass:
    """A time-boxed emergency grant of one person to some assets."""

    id: str
    holder: str
    assets: frozenset[str]
    expires: dt.datetime

    def to_cedar(self) -> Json:
        attrs = {
            "holder": ref("Person", self.holder),
            "assets": [ref("Asset", a) for a in sorted(self.assets)],
            "expires": epoch(self.expires),
        }
        return _entity("BreakGlass", self.id, attrs)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the service knows about the request (time, place, purpose, strength)."""

    now: dt.datetime
    source_jurisdiction: str
    purpose: str
    auth_strength: str
    licence: str | None = None
    export_auth: str | None = None
    break_glass: str | None = None
    extra: Json = field(default_factory=dict)

    def to_cedar(self) -> Json:
        context: Json = {
            "now": epoch(self.now),
            "source_jurisdiction": self.source_jurisdiction,
            "purpose": self.purpose,
            "auth_strength": self.auth_strength,
        }
        if self.licence is not None:
            context["licence"] = ref("Licence", self.licence)
        if self.export_auth is not None:
            context["export_auth"] = ref("ExportAuth", self.export_auth)
        if self.break_glass is not None:
            context["break_glass"] = ref("BreakGlass", self.break_glass)
        clash = set(self.extra) & {*context, "licence", "export_auth", "break_glass"}
        if clash:
            raise UsageError(f"extra context may not override {sorted(clash)}")
        return context | self.extra
