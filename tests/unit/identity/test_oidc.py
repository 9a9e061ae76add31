"""OidcValidator and StaticJwks: every refusal, each with its own reason."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from forgekeep.clock import ManualClock
from forgekeep.errors import AccessDeniedError, ConfigError, LimitExceededError
from forgekeep.identity.oidc import (
    MAX_SKEW_SECONDS,
    MAX_TOKEN_BYTES,
    Claims,
    OidcValidator,
    StaticJwks,
    parse_jwks,
)
from forgekeep.testing.oidc import TestIssuer, shared_test_issuer

AUDIENCE = "forgekeep-api"
ALL_ALGS = ("RS256", "ES256", "EdDSA")


@pytest.fixture
def issuer() -> TestIssuer:
    return shared_test_issuer()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def validator(issuer: TestIssuer, clock: ManualClock) -> OidcValidator:
    return make_validator(issuer, clock)


def make_validator(
    issuer: TestIssuer, clock: ManualClock, algorithms: Sequence[str] = ALL_ALGS
) -> OidcValidator:
    return OidcValidator(
        issuer=issuer.issuer,
        audience=AUDIENCE,
        jwks=StaticJwks(issuer.jwks()),
        allowed_algorithms=algorithms,
        clock=clock,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    )


def refused(validator: OidcValidator, token: str, reason: str) -> None:
    with pytest.raises(AccessDeniedError, match=reason):
        validator.validate(token)


# --- tokens that pass -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALL_ALGS)
def test_a_valid_token_passes(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator, alg: str
) -> None:
    token = issuer.token("p-ada", audience=AUDIENCE, alg=alg, now=clock.now())
    claims = validator.validate(token)
    assert claims == Claims(
        subject="p-ada",
        issuer=issuer.issuer,
        audience=AUDIENCE,
        expires_at=clock.now() + dt.timedelta(seconds=300),
        issued_at=clock.now(),
        raw=claims.raw,
    )
    assert claims.raw["sub"] == "p-ada"
    with pytest.raises(TypeError):
        claims.raw["sub"] = "p-eve"  # type: ignore[index]


def test_an_audience_list_holding_ours_passes_only_when_we_are_the_azp(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    token = issuer.token(
        "p-ada",
        audience=AUDIENCE,
        now=clock.now(),
        extra_claims={"aud": ["other", AUDIENCE], "azp": AUDIENCE},
    )
    assert validator.validate(token).audience == AUDIENCE
    for azp in (None, "other"):
        foreign = issuer.token(
            "p-ada",
            audience=AUDIENCE,
            now=clock.now(),
            extra_claims={"aud": ["other", AUDIENCE], "azp": azp},
        )
        with pytest.raises(AccessDeniedError):
            validator.validate(foreign)


def test_a_token_for_another_client_or_of_another_type_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    other_client = issuer.token(
        "p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={"azp": "other"}
    )
    with pytest.raises(AccessDeniedError, match="azp"):
        validator.validate(other_client)
    header, payload, sig = issuer.token("p-ada", audience=AUDIENCE, now=clock.now()).split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    fields["typ"] = "at+jwt"
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    with pytest.raises(AccessDeniedError, match="typ"):
        validator.validate(f"{forged}.{payload}.{sig}")
    with pytest.raises(AccessDeniedError):
        validator.validate("a.b.c")
    with pytest.raises(AccessDeniedError):
        validator.validate(42)  # type: ignore[arg-type]


# --- time, from the injected clock only -------------------------------------------------


def test_an_expired_token_is_refused_once_the_skew_runs_out(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    token = issuer.token("p-ada", audience=AUDIENCE, expires_in=300, now=clock.now())
    clock.advance(dt.timedelta(seconds=300 + 59))
    validator.validate(token)  # inside the 60 s skew
    clock.advance(dt.timedelta(seconds=1))
    refused(validator, token, "expired")


def test_a_not_yet_valid_token_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    start = int(clock.now().timestamp())
    early = issuer.token(
        "p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={"nbf": start + 61}
    )
    refused(validator, early, "not yet valid")
    clock.advance(dt.timedelta(seconds=1))
    validator.validate(early)


def test_an_nbf_inside_the_skew_passes(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    start = int(clock.now().timestamp())
    token = issuer.token(
        "p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={"nbf": start + 60}
    )
    validator.validate(token)


def test_a_token_issued_in_the_future_beyond_the_skew_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    ahead = clock.now() + dt.timedelta(seconds=61)
    refused(validator, issuer.token("p-ada", audience=AUDIENCE, now=ahead), "issued in the future")
    within = clock.now() + dt.timedelta(seconds=60)
    validator.validate(issuer.token("p-ada", audience=AUDIENCE, now=within))


def test_zero_skew_is_exact(issuer: TestIssuer, clock: ManualClock) -> None:
    strict = OidcValidator(
        issuer=issuer.issuer,
        audience=AUDIENCE,
        jwks=StaticJwks(issuer.jwks()),
        allowed_algorithms=["RS256"],
        max_skew_seconds=0,
        clock=clock,
    )
    token = issuer.token("p-ada", audience=AUDIENCE, expires_in=10, now=clock.now())
    clock.advance(dt.timedelta(seconds=9))
    strict.validate(token)
    clock.advance(dt.timedelta(seconds=1))
    refused(strict, token, "expired")


@pytest.mark.parametrize(
    ("value", "reason"),
    [("tomorrow", "not a number"), (True, "not a number"), (1e300, "out of range")],
)
def test_a_time_claim_that_is_not_a_usable_number_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator, value: object, reason: str
) -> None:
    for name in ("exp", "iat", "nbf"):
        token = issuer.token(
            "p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={name: value}
        )
        refused(validator, token, f"'{name}' is {reason}")


def test_a_nan_time_claim_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    token = issuer.token(
        "p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={"exp": float("nan")}
    )
    refused(validator, token, "'exp' is not a number")


# --- issuer, audience, subject, required claims -----------------------------------------


def test_a_wrong_audience_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    refused(validator, issuer.token("p-ada", audience="other-app", now=clock.now()), "audience")


def test_a_wrong_issuer_is_refused(clock: ManualClock, issuer: TestIssuer) -> None:
    validator = OidcValidator(
        issuer="https://elsewhere.test",
        audience=AUDIENCE,
        jwks=StaticJwks(issuer.jwks()),
        allowed_algorithms=["RS256"],
        clock=clock,
    )
    refused(validator, issuer.token("p-ada", audience=AUDIENCE, now=clock.now()), "issuer is wrong")


@pytest.mark.parametrize("name", ["iss", "aud", "sub", "exp", "iat"])
def test_a_missing_required_claim_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator, name: str
) -> None:
    token = issuer.token("p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={name: None})
    refused(validator, token, "lacks a required claim")


def test_an_empty_subject_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    refused(validator, issuer.token("", audience=AUDIENCE, now=clock.now()), "subject")


def test_a_subject_that_is_not_a_string_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    token = issuer.token("p-ada", audience=AUDIENCE, now=clock.now(), extra_claims={"sub": 7})
    refused(validator, token, "malformed")


# --- algorithms and keys ----------------------------------------------------------------


def test_an_alg_none_token_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    payload = issuer.claims("p-ada", audience=AUDIENCE, now=clock.now())
    token = compact({"alg": "none", "typ": "JWT", "kid": issuer.kid()}, payload)
    refused(validator, token, "algorithm is not allowed")


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    issuer: TestIssuer, clock: ManualClock
) -> None:
    validator = make_validator(issuer, clock, ["RS256"])
    secret = (
        issuer.private_key("RS256")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid("RS256")}
    payload = issuer.claims("p-ada", audience=AUDIENCE, now=clock.now())
    signing_input = compact(header, payload).rsplit(".", 1)[0]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    refused(validator, f"{signing_input}.{b64(mac)}", "algorithm is not allowed")


def test_an_alg_that_is_not_a_string_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    payload = issuer.claims("p-ada", audience=AUDIENCE, now=clock.now())
    refused(validator, compact({"alg": ["RS256"], "kid": issuer.kid()}, payload), "not allowed")


def test_an_allowed_alg_the_validator_was_not_given_is_refused(
    issuer: TestIssuer, clock: ManualClock
) -> None:
    validator = make_validator(issuer, clock, ["ES256"])
    token = issuer.token("p-ada", audience=AUDIENCE, now=clock.now())
    refused(validator, token, "algorithm is not allowed")


@pytest.mark.parametrize("kid", ["", "no-such-kid"])
def test_a_missing_or_unknown_kid_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator, kid: str
) -> None:
    token = issuer.token("p-ada", audience=AUDIENCE, now=clock.now(), kid=kid)
    refused(validator, token, "no key id" if kid == "" else "not in the issuer's JWKS")


def test_a_token_whose_alg_names_another_key_type_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    token = issuer.token(
        "p-ada", audience=AUDIENCE, alg="ES256", kid=issuer.kid("RS256"), now=clock.now()
    )
    refused(validator, token, "does not match its key")


def test_a_token_whose_alg_differs_from_the_keys_declared_alg_is_refused(
    issuer: TestIssuer, clock: ManualClock
) -> None:
    validator = make_validator(issuer, clock, ["RS256", "PS256"])
    payload = issuer.claims("p-ada", audience=AUDIENCE, now=clock.now())
    token = jwt.encode(
        payload, issuer.private_key("RS256"), algorithm="PS256", headers={"kid": issuer.kid()}
    )
    refused(validator, token, "does not match its key")


def test_a_tampered_signature_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    head, body, sig = issuer.token("p-ada", audience=AUDIENCE, now=clock.now()).split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    refused(validator, f"{head}.{body}.{flipped}", "signature is invalid")


def test_a_tampered_payload_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    head, _, sig = issuer.token("p-ada", audience=AUDIENCE, now=clock.now()).split(".")
    forged = issuer.claims("p-admin", audience=AUDIENCE, now=clock.now())
    refused(validator, f"{head}.{b64(json.dumps(forged).encode())}.{sig}", "signature is invalid")


def test_a_token_signed_by_another_issuer_under_our_kid_is_refused(
    issuer: TestIssuer, clock: ManualClock, validator: OidcValidator
) -> None:
    impostor = TestIssuer(issuer.issuer)
    token = impostor.token("p-ada", audience=AUDIENCE, now=clock.now(), kid=issuer.kid())
    refused(validator, token, "signature is invalid")


# --- size and garbage -------------------------------------------------------------------


def test_an_oversized_token_is_refused_before_parsing(validator: OidcValidator) -> None:
    with pytest.raises(LimitExceededError):
        validator.validate("a" * (MAX_TOKEN_BYTES + 1))


def test_a_token_over_the_limit_only_in_utf8_bytes_is_refused(validator: OidcValidator) -> None:
    with pytest.raises(LimitExceededError):
        validator.validate("é" * (MAX_TOKEN_BYTES // 2 + 1))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "....", "é.é.é"])
def test_a_garbage_token_is_refused(validator: OidcValidator, token: str) -> None:
    refused(validator, token, "malformed")


def test_a_signed_payload_that_is_not_json_is_refused(
    issuer: TestIssuer, validator: OidcValidator
) -> None:
    token = jwt.api_jws.encode(
        b"not json", issuer.private_key(), algorithm="RS256", headers={"kid": issuer.kid()}
    )
    refused(validator, token, "malformed")


# --- construction -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"issuer": ""}, "issuer and audience"),
        ({"audience": ""}, "issuer and audience"),
        ({"allowed_algorithms": []}, "non-empty list"),
        ({"allowed_algorithms": "RS256"}, "non-empty list"),
        ({"allowed_algorithms": ["RS256", "none"]}, "only asymmetric"),
        ({"allowed_algorithms": ["NONE"]}, "only asymmetric"),
        ({"allowed_algorithms": ["HS256"]}, "only asymmetric"),
        ({"allowed_algorithms": ["hs512"]}, "only asymmetric"),
        ({"allowed_algorithms": ["ES256K"]}, "not supported"),
        ({"max_skew_seconds": -1}, "max_skew_seconds"),
        ({"max_skew_seconds": MAX_SKEW_SECONDS + 1}, "max_skew_seconds"),
    ],
)
def test_a_validator_with_bad_config_is_refused(
    issuer: TestIssuer, clock: ManualClock, changes: dict[str, Any], reason: str
) -> None:
    config: dict[str, Any] = {
        "issuer": issuer.issuer,
        "audience": AUDIENCE,
        "jwks": StaticJwks(issuer.jwks()),
        "allowed_algorithms": ["RS256"],
        "clock": clock,
    }
    with pytest.raises(ConfigError, match=reason):
        OidcValidator(**{**config, **changes})


# --- JWKS documents ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "'keys' list"),
        ({"keys": {}}, "'keys' list"),
        ({"keys": ["x"]}, "not an object"),
        ({"keys": [{"kty": "XYZ", "kid": "a"}]}, "cannot be loaded"),
        ({"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}, "private or symmetric"),
    ],
)
def test_a_malformed_jwks_is_refused(document: object, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_jwks(document)


def test_a_jwks_with_private_key_material_is_refused(issuer: TestIssuer) -> None:
    key = issuer.private_key("RS256")
    assert isinstance(key, rsa.RSAPrivateKey)
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    with pytest.raises(ConfigError, match="private"):
        StaticJwks({"keys": [{**private, "kid": "leaked"}]})


def test_a_jwks_with_a_duplicate_kid_is_refused(issuer: TestIssuer) -> None:
    first = issuer.jwks()["keys"][0]
    with pytest.raises(ConfigError, match="twice"):
        StaticJwks({"keys": [first, first]})


def test_keys_without_a_kid_or_not_for_signing_are_skipped(issuer: TestIssuer) -> None:
    rsa_jwk, ec_jwk, ed_jwk = issuer.jwks()["keys"]
    no_kid = {name: value for name, value in rsa_jwk.items() if name != "kid"}
    jwks = StaticJwks({"keys": [no_kid, {**ec_jwk, "use": "enc"}, ed_jwk]})
    assert jwks.key(rsa_jwk["kid"]) is None
    assert jwks.key(ec_jwk["kid"]) is None
    assert jwks.key(ed_jwk["kid"]) is not None


def test_the_test_issuer_has_no_key_for_other_algorithms(issuer: TestIssuer) -> None:
    with pytest.raises(ValueError, match="no PS256 key"):
        issuer.rotate("PS256")


def test_algorithm_names_must_be_strings(issuer: TestIssuer, clock: ManualClock) -> None:
    with pytest.raises(ConfigError):
        OidcValidator(
            issuer=issuer.issuer,
            audience=AUDIENCE,
            jwks=StaticJwks(issuer.jwks()),
            allowed_algorithms=[256],
            clock=clock,
        )  # type: ignore[list-item]
