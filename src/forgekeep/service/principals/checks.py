"""Checks on principal input: names, countries, roles, trainings, fingerprints.

Security rule: every value that reaches a principal record or a Cedar entity is
checked here first — bounded lists, closed role names, ISO 3166-1 countries,
and no control or invisible characters in display names (they hide spoofs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

from forgekeep.errors import InvalidNameError, UsageError
from forgekeep.residency import Jurisdiction
from forgekeep.service.authz import ROLES

MAX_DISPLAY_NAME: Final = 255
MAX_LIST_ITEMS: Final = 32
_ORG = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_TRAINING = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,62}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Cf"})


def validate_org_name(name: str) -> str:
    if not isinstance(name, str) or not _ORG.fullmatch(name):
        raise InvalidNameError(
            f"organisation name {name!r} is invalid",
            hint="use lower-case letters, digits, '.', '_' and '-' (max 63)",
        )
    return name


def validate_display_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise InvalidNameError(f"a display name is 1-{MAX_DISPLAY_NAME} characters")
    if name.strip() != name or any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in name):
        raise InvalidNameError(
            "a display name has no control or invisible characters and no outer spaces"
        )
    return name


def country(code: str) -> str:
    if not isinstance(code, str):
        raise InvalidNameError("a country is an ISO 3166-1 alpha-2 code")
    return Jurisdiction(code).code


def bounded(items: Iterable[str], what: str) -> list[str]:
    values = sorted(set(items))
    if len(values) > MAX_LIST_ITEMS:
        raise UsageError(f"at most {MAX_LIST_ITEMS} {what}")
    return values


def validate_roles(roles: Iterable[str]) -> list[str]:
    values = bounded(roles, "roles")
    if not values:
        raise UsageError("a principal needs at least one role", hint=_roles_hint())
    for role in values:
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", hint=_roles_hint())
    return values


def _roles_hint() -> str:
    return f"roles are {', '.join(ROLES)}"


def validate_trainings(trainings: Iterable[str]) -> list[str]:
    values = bounded(trainings, "trainings")
    for training in values:
        if not isinstance(training, str) or not _TRAINING.fullmatch(training):
            raise InvalidNameError(
                f"training {training!r} is invalid",
                hint="use letters, digits, '.', '_', ':' and '-' (max 63)",
            )
    return values


def validate_fingerprints(fingerprints: Iterable[str]) -> list[str]:
    values = bounded(fingerprints, "certificate fingerprints")
    if not values:
        raise UsageError("a machine needs at least one certificate fingerprint")
    for fingerprint in values:
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise UsageError(
                "a certificate fingerprint is a SHA-256 in 64 lower-case hex digits",
                hint="e.g. `openssl x509 -noout -fingerprint -sha256` without colons, lower-cased",
            )
    return values
