"""Residency rules: parsing, what they allow, the canonical form, and errors."""

from __future__ import annotations

import pytest

from forgekeep.errors import InvalidNameError, LimitExceededError, UsageError
from forgekeep.residency import (
    MAX_RESIDENCY_RULE_BYTES,
    Jurisdiction,
    ResidencyRule,
    bloc_members,
)


@pytest.mark.parametrize(
    ("text", "canonical", "countries"),
    [
        ("DE", "DE", {"DE"}),
        ("de", "DE", {"DE"}),
        ("EU", "EU", bloc_members("EU")),
        ("eea+ch", "EEA+CH", bloc_members("EEA") | {"CH"}),
        ("EU-HU", "EU-HU", bloc_members("EU") - {"HU"}),
        ("EU-HU+HU", "EU-HU+HU", bloc_members("EU")),
        ("EU+HU-HU", "EU+HU-HU", bloc_members("EU") - {"HU"}),
        ("CH+EU", "CH+EU", bloc_members("EU") | {"CH"}),
        ("DE+FR+DE", "DE+FR+DE", {"DE", "FR"}),
        ("EU-ITAR_126_1", "EU-ITAR_126_1", bloc_members("EU") - {"CY"}),
        ("nato-eu", "NATO-EU", {"AL", "CA", "GB", "IS", "ME", "MK", "NO", "TR", "US"}),
    ],
)
def test_parse(text: str, canonical: str, countries: set[str]) -> None:
    rule = ResidencyRule.parse(text)
    assert str(rule) == canonical
    assert rule.countries == countries
    assert ResidencyRule.parse(str(rule)) == rule


def test_allows() -> None:
    rule = ResidencyRule.parse("EU-HU")
    assert rule.allows("DE")
    assert rule.allows("de")
    assert rule.allows(Jurisdiction("FR"))
    assert not rule.allows("HU")
    assert not rule.allows("CH")
    assert not rule.allows("US")


@pytest.mark.parametrize("code", ["XK", "EU", "", "DEU", None])
def test_allows_raises_on_what_is_not_a_country(code: object) -> None:
    rule = ResidencyRule.parse("EEA+CH")
    with pytest.raises(InvalidNameError):
        rule.allows(code)  # type: ignore[arg-type]


def test_case_does_not_change_equality_but_order_does() -> None:
    assert ResidencyRule.parse("eu-hu") == ResidencyRule.parse("EU-HU")
    assert hash(ResidencyRule.parse("eu-hu")) == hash(ResidencyRule.parse("EU-HU"))
    a, b = ResidencyRule.parse("EU+CH"), ResidencyRule.parse("CH+EU")
    assert a != b
    assert a.countries == b.countries


def test_terms_and_repr() -> None:
    rule = ResidencyRule.parse("eea+CH-li")
    assert rule.terms == (("+", "EEA"), ("+", "CH"), ("-", "LI"))
    assert "countries" not in repr(rule)


def test_constructor_checks_like_parse() -> None:
    assert ResidencyRule((("+", "de"), ("+", "fr"))) == ResidencyRule.parse("DE+FR")


@pytest.mark.parametrize(
    "terms",
    [
        (),
        (("-", "DE"),),
        (("+", "DE"), ("*", "FR")),
        (("+", 5),),
        (("+", "D E"),),
        (("+", "DE\n"),),
    ],
)
def test_constructor_refuses_malformed_terms(terms: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(UsageError):
        ResidencyRule(terms)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "+",
        "DE+",
        "+DE",
        "-DE",
        "DE++FR",
        "DE+-FR",
        "DE FR",
        "DE, FR",
        " DE",
        "DE ",
        "DE\n",
        "DE\r\n",
        "DE\x00",
        "DE|FR",
        "(DE)",
        "\u017fe",
        "ＤＥ",
        "_EU",
        "1EU",
    ],
)
def test_malformed_rules(text: str) -> None:
    with pytest.raises(UsageError, match="malformed residency rule"):
        ResidencyRule.parse(text)


@pytest.mark.parametrize(("text", "term"), [("XK", "XK"), ("de+asean", "ASEAN"), ("EU-uk", "UK")])
def test_an_unknown_term_is_named(text: str, term: str) -> None:
    with pytest.raises(UsageError, match=f"unknown residency term '{term}'") as caught:
        ResidencyRule.parse(text)
    assert "ITAR_126_1" in caught.value.hint


@pytest.mark.parametrize("text", ["DE-DE", "DE-EU", "EFTA-EEA-CH", "FIVE_EYES-NATO-AU-NZ"])
def test_a_rule_that_allows_nothing_is_an_error(text: str) -> None:
    with pytest.raises(UsageError, match="allows no country"):
        ResidencyRule.parse(text)


@pytest.mark.parametrize("value", [None, b"DE", 7, ["DE"]])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(UsageError, match="is text"):
        ResidencyRule.parse(value)  # type: ignore[arg-type]


def test_length_limit() -> None:
    longest = "NATO" + "+DE" * 84
    assert len(longest) == MAX_RESIDENCY_RULE_BYTES == 256
    assert str(ResidencyRule.parse(longest)) == longest
    with pytest.raises(LimitExceededError):
        ResidencyRule.parse(longest + "E")
    with pytest.raises(LimitExceededError):
        ResidencyRule.parse("D" * 10_000)


def test_the_limit_is_not_a_usage_error() -> None:
    # The CLI maps the two differently; a too-long rule names the limit.
    assert not issubclass(LimitExceededError, UsageError)
