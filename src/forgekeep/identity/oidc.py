"""OIDC ID-token validation against an identity provider's JWKS.

Security rules:

- Fail closed. The validator has no default issuer, audience or algorithm list.
  ``none`` and every ``HS*`` algorithm are refused when the validator is built, so
  an attacker cannot turn an RSA public key into an HMAC secret.
- The key is chosen by the token's ``kid`` only. A token without a ``kid``, or
  with one the JWKS does not hold, is refused. The key's ``kty`` and its
  ``alg`` (declared, or inferred by PyJWT from ``kty``/``crv``) must match the
  token's ``alg`` exactly.
- Time comes from the injected :class:`~forgekeep.clock.Clock`. PyJWT checks the
  signature, ``iss`` and ``aud``; its own ``exp``/``nbf``/``iat`` checks are
  turned off and this module checks them against ``clock.now()`` with a bounded
  skew, so a ``ManualClock`` is authoritative.
- Untrusted input is bounded before it is parsed: tokens by
  :data:`MAX_TOKEN_BYTES`, JWKS documents by :data:`MAX_JWKS_BYTES`.
- Only Forgekeep errors leave this module: :class:`AccessDeniedError` for a
  refused token, :class:`ConfigError` for a bad validator or JWKS,
  :class:`LimitExceededError` for an oversize token or JWKS document.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import jwt
import structlog

from forgekeep.clock import Clock
from forgekeep.errors import AccessDeniedError, ConfigError, LimitExceededError
from forgekeep.limits import MAX_JWKS_BYTES, MAX_TOKEN_BYTES

if TYPE_CHECKING:
    import httpx  # imported where a JWKS is fetched, so that opening a workspace stays fast

__all__ = [
    "MAX_JWKS_BYTES",
    "MAX_SKEW_SECONDS",
    "MAX_TOKEN_BYTES",
    "Claims",
    "HttpJwks",
    "JwksSource",
    "OidcValidator",
    "StaticJwks",
    "parse_jwks",
]

#: The largest clock skew a validator may be configured to tolerate, seconds.
MAX_SKEW_SECONDS: Final = 300

#: The asymmetric algorithms we accept, and the JWK ``kty`` each needs.
_KEY_TYPES: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "RS256": "RSA",
        "RS384": "RSA",
        "RS512": "RSA",
        "PS256": "RSA",
        "PS384": "RSA",
        "PS512": "RSA",
        "ES256": "EC",
        "ES384": "EC",
        "ES512": "EC",
        "EdDSA": "OKP",
    }
)
#: JWK members that only a private or symmetric key has.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_REQUIRED_CLAIMS: Final = ["iss", "aud", "sub", "exp", "iat"]
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims of a validated ID token. ``raw`` is a read-only copy of all of them."""

    subject: str
    issuer: str
    audience: str
    expires_at: dt.datetime
    issued_at: dt.datetime
    raw: Mapping[str, Any]


class JwksSource(Protocol):
    """Where a validator finds the identity provider's public keys."""

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The public key with this ``kid``, or ``None`` when there is none."""
        ...


def parse_jwks(document: object) -> dict[str, jwt.PyJWK]:
    """Public signing keys of a JWKS document, by ``kid``; raises ConfigError if malformed.

    Keys without a ``kid``, or marked for a use other than ``sig``, are skipped:
    they can never be chosen. A duplicate ``kid`` or any private member refuses
    the whole document.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ConfigError("JWKS document is not an object with a 'keys' list")
    found: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            raise ConfigError("JWKS entry is not an object")
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
            continue
        if kid in found:
            raise ConfigError(f"JWKS holds kid {kid!r} twice")
        found[kid] = _load_jwk(kid, entry)
    return found


def _load_jwk(kid: str, entry: Mapping[str, Any]) -> jwt.PyJWK:
    if _PRIVATE_MEMBERS & entry.keys():
        raise ConfigError(f"JWKS key {kid!r} holds private or symmetric key material")
    try:
        return jwt.PyJWK(dict(entry))
    except Exception as exc:  # noqa: BLE001 (PyJWT raises several kinds for hostile keys)
        raise ConfigError(f"JWKS key {kid!r} cannot be loaded: {type(exc).__name__}") from None


class StaticJwks:
    """A fixed JWKS, given as its parsed JSON document."""

    def __init__(self, jwks_json: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(jwks_json)

    def key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


class HttpJwks:
    """A JWKS fetched over HTTPS and cached for ``cache_seconds``.

    An unknown ``kid`` triggers one early refetch (key rotation), at most once per
    cache period, so a stream of made-up ``kid`` values cannot hammer the
    provider. A failed fetch raises; old keys are never served past their period.
    Plain ``http`` is refused, except to a loopback host with
    ``unsafe_allow_http_loopback=True``, which logs a warning.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client,
        cache_seconds: int,
        clock: Clock,
        unsafe_allow_http_loopback: bool = False,
    ) -> None:
        _check_url(url, unsafe_allow_http_loopback=unsafe_allow_http_loopback)
        if cache_seconds <= 0:
            raise ConfigError("JWKS cache_seconds must be positive")
        self._url = url
        self._client = client
        self._period = dt.timedelta(seconds=cache_seconds)
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: dt.datetime | None = None
        self._refetched_at: dt.datetime | None = None

    def key(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock.now()
        if self._fetched_at is None or now >= self._fetched_at + self._period:
            self._refresh(now)
            return self._keys.get(kid)
        found = self._keys.get(kid)
        if found is None and self._may_refetch(now):
            self._refetched_at = now
            self._refresh(now)
            found = self._keys.get(kid)
        return found

    def _may_refetch(self, now: dt.datetime) -> bool:
        return self._refetched_at is None or now >= self._refetched_at + self._period

    def _refresh(self, now: dt.datetime) -> None:
        self._keys = parse_jwks(_decode_json(self._fetch()))
        self._fetched_at = now

    def _fetch(self) -> bytes:
        import httpx  # noqa: PLC0415 (see the imports)

        try:
            with self._client.stream("GET", self._url) as response:
                if response.status_code != httpx.codes.OK:
                    raise AccessDeniedError(f"JWKS fetch answered HTTP {response.status_code}")
                return _read_bounded(response)
        except httpx.HTTPError as exc:
            raise AccessDeniedError(f"JWKS fetch failed: {type(exc).__name__}") from None


def _check_url(url: str, *, unsafe_allow_http_loopback: bool) -> None:
    import httpx  # noqa: PLC0415 (see the imports)

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ConfigError("JWKS URL is not a valid URL") from None
    if parsed.scheme == "https":
        return
    if parsed.scheme != "http" or parsed.host not in _LOOPBACK_HOSTS:
        raise ConfigError("JWKS URL must use https")
    if not unsafe_allow_http_loopback:
        raise ConfigError(
            "JWKS URL uses plain http",
            hint="only for local tests: pass unsafe_allow_http_loopback=True",
        )
    _log.warning("jwks.unsafe_http_loopback", url=url)


def _read_bounded(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise LimitExceededError(f"JWKS document exceeds {MAX_JWKS_BYTES} bytes")
    return bytes(body)


def _decode_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ConfigError("JWKS document is not JSON (or is nested too deeply)") from None


class OidcValidator:
    """Validates ID tokens from one issuer, for one audience, with asymmetric algorithms."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksSource,
        allowed_algorithms: Sequence[str],
        max_skew_seconds: int = 60,
        clock: Clock,
    ) -> None:
        if not issuer or not audience:
            raise ConfigError("OIDC validator needs a non-empty issuer and audience")
        if not 0 <= max_skew_seconds <= MAX_SKEW_SECONDS:
            raise ConfigError(f"OIDC max_skew_seconds must be 0..{MAX_SKEW_SECONDS}")
        self._algorithms = _check_algorithms(allowed_algorithms)
        self._issuer = issuer
        self._audience = audience
        self._jwks = jwks
        self._skew = max_skew_seconds
        self._clock = clock

    def validate(self, token: str) -> Claims:
        """The token's claims if it is valid now; raises AccessDeniedError if not."""
        _check_size(token)
        alg, kid = self._header(token)
        key = self._jwks.key(kid)
        if key is None:
            raise AccessDeniedError("token key id is not in the issuer's JWKS")
        if key.key_type != _KEY_TYPES[alg] or key.algorithm_name != alg:
            raise AccessDeniedError("token algorithm does not match its key")
        payload = self._verified_payload(token, alg, key)
        self._check_authorized_party(payload)
        return self._check_times(payload)

    def _check_authorized_party(self, payload: Mapping[str, Any]) -> None:
        """OIDC Core 3.1.3.7: a token for several audiences must name us as ``azp``."""
        audiences = payload.get("aud")
        azp = payload.get("azp")
        if isinstance(audiences, list) and len(audiences) > 1 and azp != self._audience:
            raise AccessDeniedError("token has several audiences and we are not its azp")
        if azp is not None and azp != self._audience:
            raise AccessDeniedError("token was issued to another client (azp)")

    def _header(self, token: str) -> tuple[str, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AccessDeniedError("token is malformed") from None
        if header.get("typ") not in (None, "JWT", "jwt"):
            raise AccessDeniedError("token is not an ID token (typ)")
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AccessDeniedError("token algorithm is not allowed")
        if not isinstance(kid, str) or not kid:
            raise AccessDeniedError("token has no key id")
        return alg, kid

    def _verified_payload(self, token: str, alg: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": _REQUIRED_CLAIMS,
                },
            )
        except jwt.PyJWTError as exc:
            raise AccessDeniedError(_refusal(exc)) from None

    def _check_times(self, payload: dict[str, Any]) -> Claims:
        now = self._clock.now()
        skew = dt.timedelta(seconds=self._skew)
        expires_at = _instant(payload, "exp")
        issued_at = _instant(payload, "iat")
        if now >= expires_at + skew:
            raise AccessDeniedError("token has expired")
        if issued_at > now + skew:
            raise AccessDeniedError("token was issued in the future")
        if "nbf" in payload and _instant(payload, "nbf") > now + skew:
            raise AccessDeniedError("token is not yet valid")
        return Claims(
            subject=_subject(payload),
            issuer=self._issuer,
            audience=self._audience,
            expires_at=expires_at,
            issued_at=issued_at,
            raw=types.MappingProxyType(payload),
        )


def _check_algorithms(allowed: Sequence[str]) -> frozenset[str]:
    if isinstance(allowed, str) or not allowed:
        raise ConfigError("OIDC validator needs a non-empty list of algorithms")
    for alg in allowed:
        if not isinstance(alg, str):
            raise ConfigError("OIDC algorithms are names such as RS256")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise ConfigError(f"OIDC algorithm {alg!r} is refused: only asymmetric algorithms")
        if alg not in _KEY_TYPES:
            raise ConfigError(f"OIDC algorithm {alg!r} is not supported")
    return frozenset(allowed)


def _check_size(token: str) -> None:
    if not isinstance(token, str):
        raise AccessDeniedError("token is not a string")
    if len(token) > MAX_TOKEN_BYTES or len(token.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
        raise LimitExceededError(f"token exceeds {MAX_TOKEN_BYTES} bytes")


def _subject(payload: Mapping[str, Any]) -> str:
    subject = payload["sub"]
    if not isinstance(subject, str) or not subject:
        raise AccessDeniedError("token subject is not a non-empty string")
    return subject


def _instant(payload: Mapping[str, Any], name: str) -> dt.datetime:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AccessDeniedError(f"token claim {name!r} is not a number")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise AccessDeniedError(f"token claim {name!r} is out of range") from None


_REFUSALS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidAudienceError, "token audience is wrong"),
    (jwt.InvalidIssuerError, "token issuer is wrong"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
)


def _refusal(exc: jwt.PyJWTError) -> str:
    for kind, message in _REFUSALS:
        if isinstance(exc, kind):
            return message
    return "token is malformed"
