"""API token text, hashing and scopes (pure functions)."""

from __future__ import annotations

import base64
import re

import pytest

from forgekeep.errors import AuthenticationError, UsageError
from forgekeep.identity.tokens import (
    SCOPES,
    allows,
    new_token,
    parse_token,
    scope_actions,
    secret_hash,
    secret_matches,
    validate_scopes,
)
from forgekeep.limits import MAX_API_TOKEN_CHARS
from forgekeep.service.authz import Action


def test_new_token_shape_and_round_trip() -> None:
    token_id, text = new_token()
    assert re.fullmatch(r"fkt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", text)
    parsed_id, secret = parse_token(text)
    assert parsed_id == token_id
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert new_token() != new_token()


def test_secret_hash_is_sha256_hex_and_compares() -> None:
    _, text = new_token()
    _, secret = parse_token(text)
    stored = secret_hash(secret)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert secret not in stored
    assert secret_matches(stored, secret)
    other = parse_token(new_token()[1])[1]
    assert not secret_matches(stored, other)


def _malformed() -> list[str]:
    _, good = new_token()
    token_id, secret = parse_token(good)
    return [
        "",
        "fkt_",
        good + "x",
        good[:-1],
        good.upper(),
        "fkx_" + good[4:],
        f"fkt_{token_id.upper()}_{secret}",
        f"fkt_{token_id}_{secret[:-1]}=",
        f"fkt_{token_id}-{secret}",
        f" {good}",
        f"{good}\n",
        "fkt_" + "a" * 16 + "_" + "é" * 43,
        "x" * (MAX_API_TOKEN_CHARS + 1),
    ]


@pytest.mark.parametrize("text", _malformed())
def test_malformed_tokens_are_refused_without_echo(text: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        parse_token(text)
    assert caught.value.code == "FK-AUTHZ-002"
    if len(text) > 8:
        assert text.strip() not in caught.value.diagnostics()


def test_non_canonical_secret_is_refused() -> None:
    ident = "0123456789abcdef"
    canonical = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    assert parse_token(f"fkt_{ident}_{canonical}") == (ident, canonical)
    with pytest.raises(AuthenticationError):
        parse_token(f"fkt_{ident}_{canonical[:-1]}B")  # spare bits set


def test_scopes_name_real_actions() -> None:
    every = {str(a) for a in Action}
    for scope, actions in SCOPES.items():
        assert actions <= every, scope
    assert scope_actions("admin", every) == every
    assert scope_actions("no-such-scope", every) == frozenset()
    assert SCOPES["read"] < SCOPES["write"]


@pytest.mark.parametrize(
    ("scopes", "action", "allowed"),
    [
        ({"read"}, "asset.get", True),
        ({"read"}, "asset.put", False),
        ({"write"}, "asset.put", True),
        ({"write"}, "asset.classify", True),
        ({"write"}, "token.create", False),
        ({"audit"}, "vault.fsck", True),
        ({"audit"}, "asset.get", False),
        ({"read", "audit"}, "asset.get", True),
        ({"admin"}, "token.create", True),
        ({"admin"}, "ledger.checkpoint", True),  # every action, new ones included
        (set(), "asset.get", False),
        ({"bogus"}, "asset.get", False),
        (None, "token.create", True),
    ],
)
def test_allows(scopes: set[str] | None, action: str, allowed: bool) -> None:
    assert allows(scopes, action) is allowed


def test_validate_scopes() -> None:
    assert validate_scopes(["read", "read", "audit"]) == {"read", "audit"}
    with pytest.raises(UsageError, match="at least one"):
        validate_scopes([])
    with pytest.raises(UsageError, match="unknown scope"):
        validate_scopes(["read", "root"])
