"""Jurisdictions (ISO 3166-1 alpha-2 countries) and the blocs that group them.

Security rule: residency decisions fail closed. A code that is not an
officially assigned ISO 3166-1 alpha-2 code (user-assigned codes such as ``XK``
or ``ZZ``, reserved codes such as ``UK`` or ``EU``) is an error, never a
country; an unknown bloc is an error, never an empty or a full set. Input is
matched against ASCII-only patterns *before* it is upper-cased, so Unicode case
folding cannot turn a look-alike into a valid code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from forgekeep.errors import InvalidNameError, UsageError
from forgekeep.residency._data import load_dataset

_CODE_INPUT: Final = re.compile(r"[A-Za-z]{2}")
_BLOC_INPUT: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CODE_HINT: Final = (
    "use an officially assigned ISO 3166-1 alpha-2 code, e.g. DE; "
    "user-assigned codes such as XK are not accepted"
)


def _country_code(code: object) -> str:
    if not isinstance(code, str) or not _CODE_INPUT.fullmatch(code):
        raise InvalidNameError("jurisdiction is not a two-letter code", hint=_CODE_HINT)
    upper = code.upper()
    if upper not in load_dataset().countries:
        raise InvalidNameError(f"{upper!r} is not an assigned ISO 3166-1 code", hint=_CODE_HINT)
    return upper


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """An officially assigned ISO 3166-1 alpha-2 code, held in upper case.

    Accepts either case (``"de"`` becomes ``"DE"``); anything else raises
    :class:`InvalidNameError`.
    """

    code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _country_code(self.code))

    @property
    def name(self) -> str:
        """The English short name, e.g. ``Germany`` for ``DE``."""
        return load_dataset().countries[self.code]

    def __str__(self) -> str:
        return self.code


def is_country(code: object) -> bool:
    """Whether *code* (either case) is an officially assigned ISO 3166-1 alpha-2 code."""
    return (
        isinstance(code, str)
        and _CODE_INPUT.fullmatch(code) is not None
        and code.upper() in load_dataset().countries
    )


def known_blocs() -> list[str]:
    """The names of the known blocs, sorted."""
    return sorted(load_dataset().blocs)


def bloc_members(name: str) -> frozenset[str]:
    """The member codes of bloc *name* (either case); an unknown bloc is a UsageError."""
    if not isinstance(name, str) or not _BLOC_INPUT.fullmatch(name):
        raise UsageError("a bloc name is a letter then letters, digits or '_'")
    members = load_dataset().blocs.get(name.upper())
    if members is None:
        raise UsageError(
            f"unknown bloc {name.upper()!r}", hint=f"known blocs: {', '.join(known_blocs())}"
        )
    return members
