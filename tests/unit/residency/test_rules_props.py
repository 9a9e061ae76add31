"""Property tests for residency rules.

* Any rule built from valid terms, in any case, either parses to exactly the
  countries a reference evaluation gives, or (when that set is empty) is
  refused; ``parse(str(rule)) == rule`` and the canonical form is the
  upper-cased input.
* ``allows`` agrees with ``countries`` for every assigned code.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forgekeep.errors import UsageError
from forgekeep.residency import ResidencyRule, bloc_members, known_blocs
from forgekeep.residency._data import load_dataset

COUNTRIES = sorted(load_dataset().countries)
TERMS = COUNTRIES + known_blocs()


def _members(term: str) -> frozenset[str]:
    return frozenset({term}) if term in COUNTRIES else bloc_members(term)


Case = Callable[[str], str]
CasedTerm = tuple[str, Case]

cased_term = st.tuples(st.sampled_from(TERMS), st.sampled_from([str.upper, str.lower, str.title]))
rules = st.tuples(cased_term, st.lists(st.tuples(st.sampled_from("+-"), cased_term), max_size=12))


@given(rules)
def test_round_trip_and_reference_semantics(
    rule: tuple[CasedTerm, list[tuple[str, CasedTerm]]],
) -> None:
    (first, first_case), rest = rule
    text = first_case(first) + "".join(op + case(term) for op, (term, case) in rest)
    expected = set(_members(first))
    for op, (term, _case) in rest:
        expected = expected | _members(term) if op == "+" else expected - _members(term)
    if not expected:
        with pytest.raises(UsageError, match="allows no country"):
            ResidencyRule.parse(text)
        return
    parsed = ResidencyRule.parse(text)
    assert parsed.countries == expected
    assert str(parsed) == text.upper()
    again = ResidencyRule.parse(str(parsed))
    assert again == parsed
    assert hash(again) == hash(parsed)


@given(st.sampled_from(TERMS), st.sampled_from(COUNTRIES))
def test_allows_agrees_with_countries(term: str, code: str) -> None:
    rule = ResidencyRule.parse(term)
    assert rule.allows(code) == (code in rule.countries)
    assert rule.allows(code.lower()) == rule.allows(code)
