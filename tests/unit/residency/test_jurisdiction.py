"""Jurisdictions and blocs: valid codes only, upper case, fail closed."""

from __future__ import annotations

import dataclasses

import pytest

from forgekeep.errors import InvalidNameError, UsageError
from forgekeep.residency import Jurisdiction, bloc_members, is_country

NOT_COUNTRIES = [
    "XK",  # Kosovo: user-assigned, not official
    "ZZ",
    "AA",
    "QM",
    "UK",  # reserved
    "EU",  # reserved, and a bloc
    "DEU",
    "D",
    "",
    "DE\n",
    " DE",
    "D1",
    "\u017fe",  # LATIN SMALL LETTER LONG S upper-cases to "S"
    "\u212aE",  # KELVIN SIGN lower-cases to "k"
    "ＤＥ",  # full-width letters
]


@pytest.mark.parametrize("code", ["DE", "US", "CH", "NO", "GB", "CN", "RU", "TW"])
def test_assigned_codes_are_countries(code: str) -> None:
    assert is_country(code)
    assert Jurisdiction(code).code == code
    assert str(Jurisdiction(code)) == code


def test_either_case_is_accepted_and_held_upper() -> None:
    assert is_country("de")
    assert Jurisdiction("de") == Jurisdiction("De") == Jurisdiction("DE")
    assert hash(Jurisdiction("de")) == hash(Jurisdiction("DE"))
    assert Jurisdiction("ch").code == "CH"


def test_name() -> None:
    assert Jurisdiction("de").name == "Germany"
    assert Jurisdiction("CH").name == "Switzerland"


def test_is_frozen() -> None:
    j = Jurisdiction("DE")
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.code = "FR"  # type: ignore[misc]


@pytest.mark.parametrize("code", NOT_COUNTRIES)
def test_anything_else_is_refused(code: str) -> None:
    assert not is_country(code)
    with pytest.raises(InvalidNameError) as caught:
        Jurisdiction(code)
    assert "ISO 3166-1" in caught.value.hint


@pytest.mark.parametrize("code", [None, 49, b"DE", ["DE"]])
def test_non_text_is_refused(code: object) -> None:
    assert not is_country(code)
    with pytest.raises(InvalidNameError):
        Jurisdiction(code)  # type: ignore[arg-type]


def test_an_unassigned_code_is_named_in_the_error() -> None:
    with pytest.raises(InvalidNameError, match="'XK' is not an assigned"):
        Jurisdiction("xk")


def test_bloc_names_in_either_case() -> None:
    assert bloc_members("eu") == bloc_members("EU")
    assert bloc_members("Five_Eyes") == {"US", "GB", "CA", "AU", "NZ"}
    assert isinstance(bloc_members("EU"), frozenset)


def test_an_unknown_bloc_is_an_error_naming_it() -> None:
    with pytest.raises(UsageError, match="unknown bloc 'ASEAN'") as caught:
        bloc_members("asean")
    assert "EEA" in caught.value.hint


@pytest.mark.parametrize("name", ["", "E U", "EU\n", "_EU", "1EU", "\u017fE", None, 7])
def test_a_malformed_bloc_name_is_an_error(name: object) -> None:
    with pytest.raises(UsageError):
        bloc_members(name)  # type: ignore[arg-type]


def test_a_country_is_not_a_bloc() -> None:
    with pytest.raises(UsageError, match="unknown bloc 'DE'"):
        bloc_members("DE")
