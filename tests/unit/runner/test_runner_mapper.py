"""Certificate fingerprints to principals: normalised, exact, and fail-closed."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from forgekeep import runner
from forgekeep.errors import ConfigError
from forgekeep.runner import (
    PEER_CERT_SHA256,
    CertificateMapper,
    normalise_fingerprint,
    peer_fingerprint,
    scope_fingerprint,
)

FP_A = "ab" * 32
FP_B = "0c" * 32


def _scope(fingerprint: object) -> dict[str, Any]:
    return {"type": "http", "extensions": {PEER_CERT_SHA256: fingerprint}}


def test_normalise_accepts_colons_and_upper_case() -> None:
    colon_form = ":".join(["AB"] * 32)
    assert normalise_fingerprint(colon_form) == FP_A
    assert normalise_fingerprint(f"  {FP_A.upper()}\n") == FP_A


@pytest.mark.parametrize("bad", ["", "ab" * 31, "ab" * 33, "zz" * 32, "ab" * 31 + "a-"])
def test_normalise_rejects_anything_but_sha256_hex(bad: str) -> None:
    with pytest.raises(ConfigError):
        normalise_fingerprint(bad)


def test_known_fingerprint_maps_to_its_principal() -> None:
    mapper = CertificateMapper({":".join(["AB"] * 32): "keyd-client", FP_B: "witness"})
    assert mapper.principal_for(_scope(FP_A)) == "keyd-client"
    assert mapper.principal_for(_scope(FP_B)) == "witness"


@pytest.mark.parametrize(
    "scope",
    [
        _scope("cd" * 32),  # unknown certificate
        _scope(None),  # no client certificate
        _scope(FP_A.upper()),  # the runner only ever writes lower-case hex
        _scope(123),  # not ours
        {"type": "http"},  # not served by the runner
        {"type": "http", "extensions": "nonsense"},
        {"type": "http", "headers": [(b"x-client-cert-sha256", FP_A.encode())]},
    ],
)
def test_everything_else_maps_to_nobody(scope: dict[str, Any]) -> None:
    assert CertificateMapper({FP_A: "keyd-client"}).principal_for(scope) is None


def test_empty_mapping_admits_nobody() -> None:
    assert CertificateMapper({}).principal_for(_scope(FP_A)) is None


def test_same_certificate_twice_for_two_principals_is_refused() -> None:
    with pytest.raises(ConfigError, match="two principals"):
        CertificateMapper({FP_A: "alice", FP_A.upper(): "bob"})


def test_same_certificate_twice_for_one_principal_is_fine() -> None:
    mapper = CertificateMapper({FP_A: "alice", FP_A.upper(): "alice"})
    assert mapper.principal_for(_scope(FP_A)) == "alice"


def test_empty_principal_is_refused() -> None:
    with pytest.raises(ConfigError, match="non-empty principal"):
        CertificateMapper({FP_A: ""})


def test_bad_fingerprint_in_mapping_is_refused() -> None:
    with pytest.raises(ConfigError):
        CertificateMapper({"not-a-fingerprint": "alice"})


def test_scope_fingerprint_and_dependency_read_only_the_extension() -> None:
    assert scope_fingerprint(_scope(FP_B)) == FP_B
    request = Request(
        {"type": "http", "headers": [(b"x-client-cert-sha256", FP_A.encode())], **_scope(FP_B)}
    )
    assert peer_fingerprint(request) == FP_B
    assert peer_fingerprint(Request({"type": "http", "headers": []})) is None


def test_all_lists_exactly_the_public_names() -> None:
    assert set(dir(runner)) == set(runner.__all__)
    for name in runner.__all__:
        assert getattr(runner, name) is not None
    with pytest.raises(AttributeError):
        _ = runner.no_such_name
