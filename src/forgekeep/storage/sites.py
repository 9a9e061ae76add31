"""Sites: a blob store plus the jurisdiction it sits in and who operates it.

Security rules: a site is valid at construction or not at all. Its name is a
short lower-case slug (safe in paths, URIs and log lines); its jurisdiction is
an ISO 3166-1 alpha-2 code (shape only for now: the code list and blocs come
with the residency rules); its store URI names a known scheme and carries no
credentials. A site descriptor is signed by the security architect elsewhere;
this module only says what a well-formed one holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from forgekeep.errors import ConfigError, InvalidNameError
from forgekeep.limits import MAX_NAME_BYTES
from forgekeep.storage.registry import check_store_uri

_SITE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ALPHA_2: Final = re.compile(r"[A-Z]{2}")


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _SITE_NAME.fullmatch(name):
        raise InvalidNameError(
            f"invalid site name {name!r}",
            hint="site names are 1-63 of a-z 0-9 and '-', starting with a letter or digit",
        )


def _check_jurisdiction(code: object) -> None:
    if not isinstance(code, str) or not _ALPHA_2.fullmatch(code):
        raise ConfigError(
            f"invalid jurisdiction {code!r}",
            hint="use an ISO 3166-1 alpha-2 code in upper case, e.g. DE or FR",
        )


def _check_operator(operator: object) -> None:
    valid = (
        isinstance(operator, str)
        and operator.strip() == operator
        and 0 < len(operator.encode()) <= MAX_NAME_BYTES
        and operator.isprintable()
    )
    if not valid:
        raise ConfigError(
            "invalid site operator",
            hint=f"name the operator in 1-{MAX_NAME_BYTES} bytes of printable text",
        )


@dataclass(frozen=True, slots=True)
class Site:
    """A blob store (by URI) placed in one jurisdiction and run by one operator."""

    name: str
    jurisdiction: str
    operator: str
    store_uri: str

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_jurisdiction(self.jurisdiction)
        _check_operator(self.operator)
        check_store_uri(self.store_uri)
