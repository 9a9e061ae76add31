"""HttpJwks against the test issuer's real loopback server: fetch, cache, rotation, refusals."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from structlog.testing import capture_logs

from forgekeep.clock import ManualClock
from forgekeep.errors import AccessDeniedError, ConfigError, LimitExceededError
from forgekeep.identity.oidc import MAX_JWKS_BYTES, HttpJwks, OidcValidator
from forgekeep.testing.oidc import IssuerServer, TestIssuer

AUDIENCE = "forgekeep-api"
CACHE_SECONDS = 300


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    # Its own issuer, not the shared one: these tests rotate keys.
    return TestIssuer()


@pytest.fixture
def server(issuer: TestIssuer) -> Iterator[IssuerServer]:
    with issuer.serve() as served:
        yield served


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def jwks(server: IssuerServer, client: httpx.Client, clock: ManualClock) -> HttpJwks:
    return HttpJwks(
        server.jwks_url,
        client=client,
        cache_seconds=CACHE_SECONDS,
        clock=clock,
        unsafe_allow_http_loopback=True,
    )


@pytest.fixture
def validator(issuer: TestIssuer, jwks: HttpJwks, clock: ManualClock) -> OidcValidator:
    return OidcValidator(
        issuer=issuer.issuer,
        audience=AUDIENCE,
        jwks=jwks,
        allowed_algorithms=["RS256", "ES256", "EdDSA"],
        clock=clock,
    )


def later(clock: ManualClock, seconds: int) -> None:
    clock.advance(dt.timedelta(seconds=seconds))


# --- the loopback server itself -----------------------------------------------------------


def test_the_server_publishes_discovery_pointing_at_its_jwks(
    issuer: TestIssuer, server: IssuerServer, client: httpx.Client
) -> None:
    discovery = client.get(f"{server.base_url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer.issuer
    assert discovery["jwks_uri"] == server.jwks_url
    assert client.get(server.jwks_url).json() == issuer.jwks()
    assert client.get(f"{server.base_url}/other").status_code == 404


# --- fetch and cache ----------------------------------------------------------------------


def test_a_token_validates_against_the_fetched_jwks_and_the_jwks_is_cached(
    issuer: TestIssuer, server: IssuerServer, validator: OidcValidator, clock: ManualClock
) -> None:
    for alg in ("RS256", "ES256", "EdDSA"):
        token = issuer.token("p-ada", audience=AUDIENCE, alg=alg, now=clock.now())
        assert validator.validate(token).subject == "p-ada"
    assert server.jwks_fetches == 1


def test_the_jwks_is_fetched_again_when_the_cache_period_ends(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks, clock: ManualClock
) -> None:
    assert jwks.key(issuer.kid()) is not None
    later(clock, CACHE_SECONDS - 1)
    assert jwks.key(issuer.kid()) is not None
    assert server.jwks_fetches == 1
    later(clock, 1)
    assert jwks.key(issuer.kid()) is not None
    assert server.jwks_fetches == 2


def test_an_unknown_kid_refetches_once_per_cache_period(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks, clock: ManualClock
) -> None:
    old_kid = issuer.kid("ES256")
    assert jwks.key(old_kid) is not None
    new_kid = issuer.rotate("ES256")  # the provider rotates its key
    assert jwks.key(new_kid) is not None
    assert server.jwks_fetches == 2
    assert jwks.key("made-up") is None
    assert jwks.key("made-up-too") is None
    assert server.jwks_fetches == 2  # no hammering within the period
    later(clock, CACHE_SECONDS)
    assert jwks.key("made-up") is None  # the period ended: one ordinary refresh
    assert server.jwks_fetches == 3
    assert jwks.key("made-up") is None  # and a new unknown-kid refetch is allowed again
    assert server.jwks_fetches == 4
    assert jwks.key("made-up") is None
    assert server.jwks_fetches == 4


def test_a_rotated_key_validates_after_one_refetch(
    issuer: TestIssuer, server: IssuerServer, validator: OidcValidator, clock: ManualClock
) -> None:
    validator.validate(issuer.token("p-ada", audience=AUDIENCE, alg="EdDSA", now=clock.now()))
    issuer.rotate("EdDSA")
    validator.validate(issuer.token("p-ada", audience=AUDIENCE, alg="EdDSA", now=clock.now()))
    assert server.jwks_fetches == 2
    with pytest.raises(AccessDeniedError, match="not in the issuer's JWKS"):
        validator.validate(issuer.token("p-ada", audience=AUDIENCE, kid="gone", now=clock.now()))
    assert server.jwks_fetches == 2


# --- fetch failures -----------------------------------------------------------------------


def test_an_http_error_status_is_refused(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks
) -> None:
    server.override = (500, b"{}")
    with pytest.raises(AccessDeniedError, match="HTTP 500"):
        jwks.key(issuer.kid())


def test_an_oversized_jwks_is_refused(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks
) -> None:
    server.override = (200, b" " * (MAX_JWKS_BYTES + 1))
    with pytest.raises(LimitExceededError):
        jwks.key(issuer.kid())


def test_a_jwks_that_is_not_json_is_refused(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks
) -> None:
    server.override = (200, b"<html>")
    with pytest.raises(ConfigError, match="not JSON"):
        jwks.key(issuer.kid())


def test_a_jwks_that_is_not_a_key_set_is_refused(
    issuer: TestIssuer, server: IssuerServer, jwks: HttpJwks
) -> None:
    server.override = (200, json.dumps({"keys": "none"}).encode())
    with pytest.raises(ConfigError, match="'keys' list"):
        jwks.key(issuer.kid())


def test_an_unreachable_provider_is_refused_and_retried_on_the_next_call(
    issuer: TestIssuer, client: httpx.Client, clock: ManualClock
) -> None:
    with issuer.serve() as gone:
        url = gone.jwks_url
    jwks = HttpJwks(
        url, client=client, cache_seconds=60, clock=clock, unsafe_allow_http_loopback=True
    )
    for _ in range(2):
        with pytest.raises(AccessDeniedError, match="fetch failed"):
            jwks.key(issuer.kid())


# --- URL and config refusals --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "unsafe", "reason"),
    [
        ("http://127.0.0.1:8080/jwks.json", False, "plain http"),
        ("http://localhost/jwks.json", False, "plain http"),
        ("http://idp.example/jwks.json", True, "must use https"),
        ("http://10.0.0.1/jwks.json", True, "must use https"),
        ("ftp://127.0.0.1/jwks.json", True, "must use https"),
        ("/jwks.json", True, "must use https"),
        ("http://[::1", True, "not a valid URL"),
    ],
)
def test_an_unsafe_jwks_url_is_refused(
    client: httpx.Client, clock: ManualClock, url: str, unsafe: bool, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        HttpJwks(
            url, client=client, cache_seconds=60, clock=clock, unsafe_allow_http_loopback=unsafe
        )


def test_https_is_accepted_without_fetching(client: httpx.Client, clock: ManualClock) -> None:
    HttpJwks("https://idp.example/jwks.json", client=client, cache_seconds=60, clock=clock)


@pytest.mark.parametrize("url", ["http://127.0.0.1/jwks.json", "http://[::1]:9/jwks.json"])
def test_the_unsafe_loopback_flag_logs_a_warning(
    client: httpx.Client, clock: ManualClock, url: str
) -> None:
    with capture_logs() as logs:
        HttpJwks(url, client=client, cache_seconds=60, clock=clock, unsafe_allow_http_loopback=True)
    assert logs == [{"event": "jwks.unsafe_http_loopback", "url": url, "log_level": "warning"}]


@pytest.mark.parametrize("seconds", [0, -1])
def test_a_cache_period_that_is_not_positive_is_refused(
    client: httpx.Client, clock: ManualClock, seconds: int
) -> None:
    with pytest.raises(ConfigError, match="cache_seconds"):
        HttpJwks("https://idp.example/jwks.json", client=client, cache_seconds=seconds, clock=clock)
