"""Names, tags, references and project settings are validated before anything happens."""

from __future__ import annotations

import io

import pytest

from forgekeep.errors import (
    ConflictError,
    InvalidNameError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.service.assets.names import (
    parse_tag,
    split_reference,
    validate_classification,
    validate_project_name,
    validate_tags,
)
from forgekeep.service.vault import Vault


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("a.step", ("a.step", None)),
        ("a.step@2", ("a.step", 2)),
        ("me@corp", ("me@corp", None)),
        ("@3", ("@3", None)),
    ],
)
def test_split_reference(ref: str, expected: tuple[str, int | None]) -> None:
    assert split_reference(ref) == expected


def test_version_zero_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        split_reference("a@0")


def test_tags() -> None:
    assert parse_tag("k=v=w") == ("k", "v=w")
    with pytest.raises(UsageError):
        parse_tag("novalue")
    with pytest.raises(InvalidNameError):
        validate_tags({"bad key": "v"})
    with pytest.raises(InvalidNameError):
        validate_tags({"k": "line\nbreak"})
    with pytest.raises(LimitExceededError):
        validate_tags({f"k{i}": "v" for i in range(65)})


def test_project_names_and_classifications() -> None:
    assert validate_project_name("turbine-blade.v2") == "turbine-blade.v2"
    for bad in ("Upper", "-lead", "a/b", "x" * 64):
        with pytest.raises(InvalidNameError):
            validate_project_name(bad)
    with pytest.raises(UsageError):
        validate_classification("top-secret")


def test_project_lifecycle(vault: Vault) -> None:
    with pytest.raises(ConflictError):
        vault.projects.create("blade", residency="DE")
    changed = vault.projects.set("blade", residency="EEA+CH", replicas=2, shred_domain="asset")
    assert (changed.residency, changed.replicas, changed.shred_domain) == ("EEA+CH", 2, "asset")
    assert [p.name for p in vault.projects.ls()] == ["blade"]
    assert vault.projects.show("blade").domain_key.startswith("dk-")
    with pytest.raises(NotFoundError):
        vault.projects.show("nope")
    with pytest.raises(NotFoundError):
        vault.projects.create("other", residency="DE", key_ring="no-such-ring")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"residency": "de"},
        {"residency": "DE", "replicas": 0},
        {"residency": "DE", "replicas": 17},
        {"residency": "DE", "shred_domain": "tenant"},
    ],
)
def test_bad_project_settings(vault: Vault, kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        vault.projects.create("p2", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["blade\n", "DE\n"])
def test_a_trailing_newline_is_not_a_valid_name(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_project_name(name)


@pytest.mark.parametrize("bad", ["look\u202ealike", "zero\u200bwidth"])
def test_invisible_format_characters_are_refused(vault: Vault, bad: str) -> None:
    with pytest.raises(InvalidNameError):
        vault.assets.put(io.BytesIO(b"x"), project="blade", name=bad)
    with pytest.raises(InvalidNameError):
        validate_tags({"k": bad})
    with pytest.raises(InvalidNameError):
        validate_tags({"owner\n": "v"})
    with pytest.raises(InvalidNameError):
        validate_tags({"k": "\udcff"})


def test_residency_with_a_newline_and_a_foreign_key_ring_are_refused(vault: Vault) -> None:
    with pytest.raises(UsageError):
        vault.projects.create("p3", residency="DE\n")
    subjects = vault.tenant_id + ".de.subjects"
    with pytest.raises(NotFoundError):
        vault.projects.create("p4", residency="DE", key_ring=subjects)
