"""Residency rules: which jurisdictions may hold a project's data.

A rule is terms joined by ``+`` (add) and ``-`` (take away), read left to
right, with no spaces: ``DE``, ``EU``, ``EEA+CH``, ``EU-HU``,
``NATO-ITAR_126_1``. A term is an ISO 3166-1 alpha-2 code or a bloc name, in
either case; the canonical form keeps the user's order and upper-cases every
term, so ``str(ResidencyRule.parse(text))`` parses back to an equal rule.

Security rule: residency decisions fail closed. An unknown code or bloc is a
:class:`UsageError` naming the term, never "allowed"; a rule that leaves no
country (``DE-EU``) is an error, not a rule that silently denies everything;
:meth:`ResidencyRule.allows` raises on a code that is not an assigned country
rather than answering. Rules are matched whole with ``re.fullmatch`` on
ASCII-only patterns (no trailing-newline or Unicode case-folding tricks), after
a length check against :data:`MAX_RESIDENCY_RULE_BYTES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from forgekeep.errors import LimitExceededError, UsageError
from forgekeep.limits import MAX_RESIDENCY_RULE_BYTES
from forgekeep.residency._data import load_dataset
from forgekeep.residency.jurisdiction import Jurisdiction

#: Longest residency rule accepted, bytes (the rule grammar is ASCII only).

_TERM: Final = r"[A-Za-z][A-Za-z0-9_]*"
_TERM_RE: Final = re.compile(_TERM)
_RULE: Final = re.compile(rf"{_TERM}(?:[+-]{_TERM})*")
_OPS: Final = ("+", "-")
_HINT: Final = "a rule is codes or blocs joined by '+' or '-', e.g. DE, EEA+CH or EU-HU"


def _term_members(term: str) -> frozenset[str]:
    data = load_dataset()
    if term in data.countries:
        return frozenset({term})
    members = data.blocs.get(term)
    if members is None:
        raise UsageError(
            f"unknown residency term {term!r}",
            hint=f"use an ISO 3166-1 alpha-2 code or a bloc: {', '.join(sorted(data.blocs))}",
        )
    return members


def _normalise(terms: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    if not terms or terms[0][0] != "+":
        raise UsageError("a residency rule starts with a term to add", hint=_HINT)
    for op, term in terms:
        if op not in _OPS or not isinstance(term, str) or not _TERM_RE.fullmatch(term):
            raise UsageError("malformed residency rule term", hint=_HINT)
    return tuple((op, term.upper()) for op, term in terms)


def _evaluate(terms: tuple[tuple[str, str], ...]) -> frozenset[str]:
    countries: frozenset[str] = frozenset()
    for op, term in terms:
        members = _term_members(term)
        countries = countries | members if op == "+" else countries - members
    return countries


@dataclass(frozen=True, slots=True)
class ResidencyRule:
    """A checked residency rule: its terms in order, and the countries they allow.

    ``terms`` pairs each term with the operator before it (the first is always
    ``"+"``). Build rules with :meth:`parse`; the constructor checks terms the
    same way and upper-cases them.
    """

    terms: tuple[tuple[str, str], ...]
    countries: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", _normalise(self.terms))
        countries = _evaluate(self.terms)
        if not countries:
            raise UsageError(f"residency rule {self} allows no country", hint=_HINT)
        object.__setattr__(self, "countries", countries)

    @classmethod
    def parse(cls, text: str) -> ResidencyRule:
        """Parse *text*, e.g. ``EEA+CH`` or ``EU-HU``."""
        if not isinstance(text, str):
            raise UsageError("a residency rule is text", hint=_HINT)
        if len(text) > MAX_RESIDENCY_RULE_BYTES:
            raise LimitExceededError(
                f"residency rule is longer than {MAX_RESIDENCY_RULE_BYTES} bytes"
            )
        if not _RULE.fullmatch(text):
            raise UsageError("malformed residency rule", hint=_HINT)
        parts = re.split(r"([+-])", text)
        return cls(tuple(zip(["+", *parts[1::2]], parts[0::2], strict=True)))

    def allows(self, code: Jurisdiction | str) -> bool:
        """Whether data may sit in *code*; a code that is not a country raises."""
        if not isinstance(code, Jurisdiction):
            code = Jurisdiction(code)
        return code.code in self.countries

    def __str__(self) -> str:
        first, *rest = self.terms
        return first[1] + "".join(op + term for op, term in rest)
