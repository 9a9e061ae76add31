"""The packaged residency data: ISO 3166-1 codes and the blocs built from them.

Security rule: the data file is checked in full before anything uses it. A
malformed file, a bloc member that is not an assigned code, or a bloc whose
name is also a country code is a :class:`ConfigError` at load, never a
partially loaded table, because a residency decision made from a broken table
would not fail closed. The file is read once per process, from the installed
package only (no network, no other path).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from forgekeep.errors import ConfigError

DATA_FILE: Final = "data/iso3166.json"
#: Shape of an ISO 3166-1 alpha-2 code in the data file (upper case only).
CODE: Final = re.compile(r"[A-Z]{2}")
#: Shape of a bloc name in the data file (upper case, digits and '_').
BLOC: Final = re.compile(r"[A-Z][A-Z0-9_]*")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HINT: Final = "the packaged residency data is damaged; reinstall forgekeep"


@dataclass(frozen=True, slots=True)
class Dataset:
    """Checked residency data: code → English short name, bloc → member codes."""

    version: str
    as_of: dt.date
    countries: MappingProxyType[str, str]
    blocs: MappingProxyType[str, frozenset[str]]


def _bad(what: str) -> ConfigError:
    return ConfigError(f"residency data: {what}", hint=_HINT)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(f"{what} must be non-empty text")
    return value


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise _bad(f"{what} must be a non-empty object")
    return value


def _as_of(value: object) -> dt.date:
    text = _text(value, "as_of")
    if not _DATE.fullmatch(text):
        raise _bad("as_of must be a YYYY-MM-DD date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _bad("as_of must be a real date") from None


def _countries(value: object) -> dict[str, str]:
    table = _object(value, "countries")
    for code, name in table.items():
        if not CODE.fullmatch(code):
            raise _bad(f"country code {code!r} is not two upper-case letters")
        _text(name, f"name of {code}")
    return table


def _members(name: str, value: object, countries: dict[str, str]) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise _bad(f"bloc {name} must list its members")
    members = frozenset(value)
    if len(members) != len(value) or not members <= countries.keys():
        raise _bad(f"bloc {name} has repeated members or members that are not country codes")
    return members


def _blocs(value: object, countries: dict[str, str]) -> dict[str, frozenset[str]]:
    blocs: dict[str, frozenset[str]] = {}
    for name, entry in _object(value, "blocs").items():
        if not BLOC.fullmatch(name) or name in countries:
            raise _bad(f"bloc name {name!r} is malformed or is also a country code")
        blocs[name] = _members(name, _object(entry, f"bloc {name}").get("members"), countries)
    return blocs


def parse_dataset(raw: object) -> Dataset:
    """Check decoded JSON against the data file's shape and build a :class:`Dataset`."""
    doc = _object(raw, "the document")
    countries = _countries(doc.get("countries"))
    return Dataset(
        version=_text(doc.get("version"), "version"),
        as_of=_as_of(doc.get("as_of")),
        countries=MappingProxyType(countries),
        blocs=MappingProxyType(_blocs(doc.get("blocs"), countries)),
    )


def read_data_file() -> bytes:
    """The packaged data file's bytes."""
    return resources.files("forgekeep.residency").joinpath(DATA_FILE).read_bytes()


@functools.cache
def load_dataset() -> Dataset:
    """The packaged data, parsed and checked once per process."""
    try:
        raw = json.loads(read_data_file())
    except ValueError:
        raise _bad("the file is not JSON") from None
    return parse_dataset(raw)
