"""API tokens: create, list, revoke, authenticate; every refusal journaled; hash-only storage."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.access import ApiToken
from forgekeep.db.models import Event
from forgekeep.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidNameError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.identity.tokens import new_token, parse_token, secret_hash
from forgekeep.limits import MAX_TOKEN_TTL_DAYS
from forgekeep.service.context import Authentication
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.rawdb import database_bytes

DAY = dt.timedelta(days=1)


def _auth_events(vault: Vault) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(
            session.scalars(
                select(Event).where(Event.action == "auth.token").order_by(Event.seq)
            ).all()
        )


def _open(workspace: InitResult, passphrase: bytes, clock: ManualClock, token: str) -> Vault:
    return open_vault(workspace.home, passphrase=passphrase, clock=clock, token=token)


def _refused(
    vault: Vault, workspace: InitResult, passphrase: bytes, clock: ManualClock, token: str
) -> dict[str, object]:
    """Authenticate ``token``, expect a refusal, and return its journaled event."""
    before = len(_auth_events(vault))
    with pytest.raises(AuthenticationError) as caught:
        _open(workspace, passphrase, clock, token)
    assert caught.value.request_id is not None
    assert token not in caught.value.diagnostics()
    events = _auth_events(vault)
    assert len(events) == before + 1
    event = events[-1]
    assert event.outcome == "denied"
    assert event.request_id == caught.value.request_id
    assert token not in event.detail
    return {"actor": event.actor, "target": event.target, **json.loads(event.detail)}


def _second_person(vault: Vault, roles: tuple[str, ...] = ("writer",)) -> str:
    vault.principals.add_organisation("acme", jurisdiction="DE")
    return vault.principals.add_person(
        org="acme", display_name="Grace", citizenships=["DE"], location="DE", roles=list(roles)
    ).id


def test_create_list_authenticate_revoke(
    vault: Vault, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    info, text = vault.tokens.create(label="ci nightly", scopes=["read", "audit"], ttl=30 * DAY)
    token_id, _ = parse_token(text)
    assert info.id == token_id
    assert info.principal == vault.principal_id
    assert info.scopes == ("audit", "read")
    assert info.status == "active"
    assert info.expires_at == clock.now() + 30 * DAY

    clock.advance(dt.timedelta(hours=1))
    with _open(workspace, passphrase, clock, text) as as_token:
        assert as_token.principal_id == vault.principal_id
        assert context_of(as_token).auth == Authentication(
            "token", "token", frozenset({"read", "audit"}), token_id
        )
    (listed,) = vault.tokens.ls()
    assert listed.last_used_at == clock.now()
    assert text not in repr(listed)
    assert "sha256" not in repr(listed)

    revoked = vault.tokens.revoke(token_id)
    assert revoked.status == "revoked"
    with pytest.raises(ConflictError):
        vault.tokens.revoke(token_id)
    with pytest.raises(NotFoundError):
        vault.tokens.revoke("0" * 16)
    with pytest.raises(NotFoundError):
        vault.tokens.revoke("not-a-token-id")


def test_every_refusal_is_journaled(
    vault: Vault, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    _, text = vault.tokens.create(label="t1", scopes=["read"], ttl=DAY)
    token_id, _ = parse_token(text)
    forged = f"fkt_{token_id}_{parse_token(new_token()[1])[1]}"
    unknown = new_token()[1]

    seen = _refused(vault, workspace, passphrase, clock, forged)
    assert seen == {
        "actor": "anonymous",
        "target": token_id,
        "code": "FK-AUTHZ-002",
        "reason": "forged-secret",
    }
    seen = _refused(vault, workspace, passphrase, clock, unknown)
    assert (seen["actor"], seen["reason"]) == ("anonymous", "unknown-token")
    assert seen["target"] == parse_token(unknown)[0]
    seen = _refused(vault, workspace, passphrase, clock, text[:-3])
    assert (seen["actor"], seen["target"], seen["reason"]) == ("anonymous", "-", "malformed")

    clock.advance(DAY)  # expiry is exclusive: at expires_at the token is dead
    seen = _refused(vault, workspace, passphrase, clock, text)
    assert (seen["actor"], seen["reason"]) == (vault.principal_id, "expired")


def test_revoked_token_is_refused(
    vault: Vault, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    _, text = vault.tokens.create(label="t1", scopes=["read"], ttl=DAY)
    _open(workspace, passphrase, clock, text).close()
    vault.tokens.revoke(parse_token(text)[0])
    seen = _refused(vault, workspace, passphrase, clock, text)
    assert (seen["actor"], seen["reason"]) == (vault.principal_id, "revoked")


def test_suspended_principal_token_is_refused(
    vault: Vault, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    other = _second_person(vault)
    info, text = vault.tokens.create(principal=other, label="grace", scopes=["read"], ttl=DAY)
    assert (info.principal, info.created_by) == (other, vault.principal_id)
    with _open(workspace, passphrase, clock, text) as as_other:
        assert as_other.principal_id == other
    vault.principals.suspend(other)
    seen = _refused(vault, workspace, passphrase, clock, text)
    assert (seen["actor"], seen["reason"]) == (other, "principal-not-active")
    with pytest.raises(ConflictError):
        vault.tokens.create(principal=other, label="again", scopes=["read"], ttl=DAY)


def test_only_the_secret_hash_is_stored(vault: Vault, workspace: InitResult) -> None:
    info, text = vault.tokens.create(label="t1", scopes=["read"], ttl=DAY)
    _, secret = parse_token(text)
    with context_of(vault).sessions() as session:
        row = session.get(ApiToken, info.id)
        assert row is not None
        assert row.secret_sha256 == secret_hash(secret)
    raw = database_bytes(workspace.home)
    assert secret_hash(secret).encode() in raw  # the check below can fail
    assert secret.encode() not in raw
    assert secret[:20].encode() not in raw


def test_token_cannot_mint_wider_scopes(vault: Vault) -> None:
    ctx = context_of(vault)
    ctx.auth = Authentication("token", "token", frozenset({"write"}), "0" * 16)
    with pytest.raises(AccessDeniedError):
        vault.tokens.create(label="wider", scopes=["admin"], ttl=DAY)
    with pytest.raises(AccessDeniedError):
        vault.tokens.create(label="wider", scopes=["write", "audit"], ttl=DAY)
    ctx.auth = Authentication("token", "token", frozenset({"admin"}), "0" * 16)
    info, _ = vault.tokens.create(label="narrow", scopes=["read", "audit"], ttl=DAY)
    assert info.scopes == ("audit", "read")
    assert [t.label for t in vault.tokens.ls()] == ["narrow"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"ttl": dt.timedelta(days=MAX_TOKEN_TTL_DAYS, seconds=1)}, LimitExceededError),
        ({"ttl": dt.timedelta(0)}, UsageError),
        ({"ttl": -DAY}, UsageError),
        ({"scopes": []}, UsageError),
        ({"scopes": ["read", "root"]}, UsageError),
        ({"label": ""}, InvalidNameError),
        ({"label": " padded"}, InvalidNameError),
        ({"label": "x" * 65}, InvalidNameError),
        ({"label": "bell\x07"}, InvalidNameError),
        ({"principal": "p-nobody"}, NotFoundError),
    ],
)
def test_bad_requests_are_refused(vault: Vault, changes: dict[str, object], error: type) -> None:
    args: dict[str, object] = {"label": "ok", "scopes": ["read"], "ttl": DAY, **changes}
    with pytest.raises(error):
        vault.tokens.create(**args)  # type: ignore[arg-type]
    assert vault.tokens.ls() == []


def test_longest_ttl_is_accepted(vault: Vault) -> None:
    info, _ = vault.tokens.create(
        label="max", scopes=["read"], ttl=dt.timedelta(days=MAX_TOKEN_TTL_DAYS)
    )
    assert info.expires_at - info.created_at == dt.timedelta(days=MAX_TOKEN_TTL_DAYS)


def test_principal_and_token_together_is_a_usage_error(
    vault: Vault, workspace: InitResult, passphrase: bytes
) -> None:
    _, text = vault.tokens.create(label="t1", scopes=["read"], ttl=DAY)
    with pytest.raises(UsageError):
        open_vault(workspace.home, passphrase=passphrase, principal=vault.principal_id, token=text)


def test_list_other_and_all(vault: Vault) -> None:
    other = _second_person(vault)
    vault.tokens.create(label="mine", scopes=["read"], ttl=DAY)
    vault.tokens.create(principal=other, label="theirs", scopes=["read"], ttl=DAY)
    assert [t.label for t in vault.tokens.ls()] == ["mine"]
    assert [t.label for t in vault.tokens.ls(principal=other)] == ["theirs"]
    assert {t.label for t in vault.tokens.ls(principal="*")} == {"mine", "theirs"}
