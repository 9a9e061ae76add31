"""The packaged data file: ISO 3166-1 codes, blocs, version, and its checks."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from forgekeep.errors import ConfigError
from forgekeep.residency import _data, bloc_members, data_version, known_blocs

EU = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
}


def test_all_249_officially_assigned_codes() -> None:
    countries = _data.load_dataset().countries
    assert len(countries) == 249
    assert all(_data.CODE.fullmatch(code) for code in countries)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("DE", "Germany"),
        ("US", "United States of America"),
        ("CH", "Switzerland"),
        ("NO", "Norway"),
        ("GB", "United Kingdom of Great Britain and Northern Ireland"),
        ("CN", "China"),
        ("RU", "Russian Federation"),
        ("TW", "Taiwan, Province of China"),
        ("AX", "Åland Islands"),
        ("AQ", "Antarctica"),
        ("SS", "South Sudan"),
    ],
)
def test_sample_names(code: str, name: str) -> None:
    assert _data.load_dataset().countries[code] == name


@pytest.mark.parametrize("code", ["XK", "ZZ", "AA", "QM", "XA", "UK", "EU", "EZ", "AN", "YU"])
def test_user_assigned_reserved_and_withdrawn_codes_are_absent(code: str) -> None:
    assert code not in _data.load_dataset().countries


def test_version_and_as_of() -> None:
    version = data_version()
    assert version.version == "2026.1"
    assert version.as_of == dt.date(2026, 11, 25)


def test_known_blocs() -> None:
    assert known_blocs() == ["EEA", "EFTA", "EU", "FIVE_EYES", "ITAR_126_1", "NATO"]


def test_bloc_counts_and_relations() -> None:
    assert bloc_members("EU") == EU
    assert bloc_members("EEA") == EU | {"IS", "LI", "NO"}
    assert len(bloc_members("EEA")) == 30
    assert bloc_members("EFTA") == {"IS", "LI", "NO", "CH"}
    assert bloc_members("FIVE_EYES") == {"US", "GB", "CA", "AU", "NZ"}
    nato = bloc_members("NATO")
    assert len(nato) == 32
    assert {"FI", "SE", "US", "TR", "MK", "ME", "AL", "IS", "NO", "CA"} <= nato
    assert not {"AT", "IE", "CY", "MT", "CH", "UA"} & nato


def test_itar_bloc_samples_and_review_note(raw_data: dict[str, Any]) -> None:
    itar = bloc_members("ITAR_126_1")
    assert {"CN", "RU", "IR", "KP", "BY", "CU", "SY", "VE", "MM", "NI", "CY"} <= itar
    assert not {"DE", "US", "GB", "JP", "CH"} & itar
    note = raw_data["blocs"]["ITAR_126_1"]["review_required"]
    assert "22 CFR 126.1" in note
    assert "customer must review" in note


def test_data_is_parsed_once(fresh_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = _data.read_data_file

    def counting() -> bytes:
        reads.append(1)
        return real()

    monkeypatch.setattr(_data, "read_data_file", counting)
    for _ in range(3):
        bloc_members("EU")
        data_version()
    assert len(reads) == 1


def test_a_file_that_is_not_json_is_refused(
    fresh_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_data, "read_data_file", lambda: b'{"version": ')
    with pytest.raises(ConfigError, match="not JSON"):
        bloc_members("EU")


def _set(path: tuple[str, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


BROKEN = {
    "document not an object": lambda doc: doc.clear(),
    "version missing": _set(("version",), None),
    "version empty": _set(("version",), ""),
    "as_of not a date shape": _set(("as_of",), "25.11.2026"),
    "as_of compact form": _set(("as_of",), "20261125"),
    "as_of impossible date": _set(("as_of",), "2026-02-30"),
    "countries not an object": _set(("countries",), ["DE"]),
    "countries empty": _set(("countries",), {}),
    "lower-case code": _set(("countries", "de"), "Germany"),
    "three-letter code": _set(("countries", "DEU"), "Germany"),
    "empty name": _set(("countries", "DE"), ""),
    "blocs missing": _set(("blocs",), None),
    "bloc name malformed": _set(("blocs", "eu"), {"members": ["DE"]}),
    "bloc name is a country": _set(("blocs", "DE"), {"members": ["DE"]}),
    "bloc entry not an object": _set(("blocs", "EU"), ["DE"]),
    "members missing": _set(("blocs", "EU"), {"description": "x"}),
    "members empty": _set(("blocs", "EU", "members"), []),
    "members repeated": _set(("blocs", "EU", "members"), ["DE", "DE"]),
    "member not a country": _set(("blocs", "EU", "members"), ["DE", "XK"]),
}


@pytest.mark.parametrize("mutate", BROKEN.values(), ids=BROKEN.keys())
def test_malformed_data_is_refused_whole(
    raw_data: dict[str, Any], mutate: Callable[[dict[str, Any]], None]
) -> None:
    doc = copy.deepcopy(raw_data)
    mutate(doc)
    with pytest.raises(ConfigError, match="residency data") as caught:
        _data.parse_dataset(doc)
    assert "reinstall" in caught.value.hint


def test_the_packaged_file_parses(raw_data: dict[str, Any]) -> None:
    dataset = _data.parse_dataset(raw_data)
    assert dataset == _data.parse_dataset(json.loads(_data.read_data_file()))
    assert set(dataset.blocs) == set(known_blocs())
