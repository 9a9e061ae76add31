"""Site descriptors (storage.sites)."""

from __future__ import annotations

import dataclasses

import pytest

from forgekeep.errors import ConfigError, InvalidNameError
from forgekeep.storage import Site


def _site(**changes: object) -> Site:
    fields: dict[str, object] = {
        "name": "local-de",
        "jurisdiction": "DE",
        "operator": "Stadtwerke Compute GmbH",
        "store_uri": "file:sites/local-de",
    }
    fields.update(changes)
    return Site(**fields)  # type: ignore[arg-type]


def test_a_valid_site() -> None:
    site = _site()
    assert site.name == "local-de"
    assert site.jurisdiction == "DE"
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["a", "0", "eu-west-1", "a" * 63, "x-"])
def test_good_names(name: str) -> None:
    assert _site(name=name).name == name


@pytest.mark.parametrize(
    "name", ["", "-a", "A", "local_de", "a" * 64, "d\u00e9", "a\n", "a b", "../x", None]
)
def test_bad_names(name: object) -> None:
    with pytest.raises(InvalidNameError):
        _site(name=name)


@pytest.mark.parametrize("code", ["de", "D", "DEU", "D1", "", "DE\n", "\u00c4\u00d6", None])
def test_bad_jurisdictions(code: object) -> None:
    with pytest.raises(ConfigError, match="jurisdiction") as caught:
        _site(jurisdiction=code)
    assert "ISO 3166-1" in caught.value.hint


@pytest.mark.parametrize(
    "operator", ["", " padded", "line\nbreak", "x" * 256, None, "\u00e9" * 128]
)
def test_bad_operators(operator: object) -> None:
    with pytest.raises(ConfigError, match="operator"):
        _site(operator=operator)


@pytest.mark.parametrize("uri", ["ftp://x", "file://user:pw@host/x", "sites/local-de", ""])
def test_bad_store_uris(uri: str) -> None:
    with pytest.raises(ConfigError):
        _site(store_uri=uri)
