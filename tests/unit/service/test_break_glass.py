"""Break-glass: two distinct approvers, requester-only activation, time-boxed, loud."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
import structlog
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer
from forgekeep.db.models import Event
from forgekeep.db.repos.grants import active_break_glass
from forgekeep.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.limits import MAX_BREAK_GLASS_MINUTES
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER


@dataclasses.dataclass
class Crew:
    vault: Vault  # the requester
    asset: str
    other: str
    approvers: list[str]
    keys: dict[str, SignerKey]


@pytest.fixture
def crew(vault: Vault, clock: ManualClock) -> Crew:
    """The admin requests; Bob and Carol (approvers, vetted) have registered keys."""
    asset = vault.assets.put(io.BytesIO(b"turbine"), project="blade", name="blade.step")
    other = vault.assets.put(io.BytesIO(b"rotor"), project="blade", name="rotor.step")
    vault.principals.add_organisation("acme", jurisdiction="DE")
    approvers = [
        vault.principals.add_person(
            org="acme", display_name=n, citizenships=["DE"], location="DE", roles=["approver"]
        ).id
        for n in ("Bob", "Carol")
    ]
    for pid in approvers:
        ISSUER.vet(vault, pid, clock)
    keys = {pid: generate_signer(f"approver-{i}") for i, pid in enumerate(approvers)}
    for pid, key in keys.items():
        vault.principals.set_signing_key(pid, encode_vkey(key.verifier))
    return Crew(vault, asset.asset_id, other.asset_id, approvers, keys)


def _events(vault: Vault, action: str) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(
            session.scalars(select(Event).where(Event.action == action).order_by(Event.seq)).all()
        )


def _request(crew: Crew, minutes: int = 30) -> str:
    return crew.vault.break_glass.request(
        assets=["blade/blade.step"], reason="line 3 down", duration=dt.timedelta(minutes=minutes)
    ).id


def _active(crew: Crew, asset: str, now: dt.datetime) -> bool:
    ctx = context_of(crew.vault)
    with ctx.sessions() as session:
        found = active_break_glass(session, ctx.tenant_id, ctx.principal_id, asset, now)
        return found is not None


def test_two_distinct_approvers_then_activation_is_time_boxed_and_loud(
    crew: Crew, clock: ManualClock
) -> None:
    ap = _request(crew)
    bob, carol = crew.approvers
    assert crew.vault.approvals.approve(ap, crew.keys[bob]).status == "pending"
    with pytest.raises(ConflictError):
        crew.vault.approvals.approve(ap, crew.keys[bob])  # one approver counts once
    with pytest.raises(ApprovalRequiredError, match="pending"):
        crew.vault.break_glass.activate(ap)
    assert crew.vault.approvals.approve(ap, crew.keys[carol]).status == "approved"
    with structlog.testing.capture_logs() as logs:
        grant = crew.vault.break_glass.activate(ap)
    assert grant.expires_at - grant.starts_at == dt.timedelta(minutes=30)
    assert grant.assets == (crew.asset,)
    assert any(e["log_level"] == "warning" and e.get("break_glass") == grant.id for e in logs)
    event = _events(crew.vault, "break-glass.request")[-1]
    assert event.outcome == "ok"
    assert json.loads(event.detail)["break_glass"] == grant.id
    assert "line 3 down" not in event.detail

    now = clock.now()
    assert _active(crew, crew.asset, now)
    assert not _active(crew, crew.other, now)
    assert not _active(crew, crew.asset, now + dt.timedelta(minutes=30))
    with pytest.raises(ApprovalRequiredError, match="consumed"):
        crew.vault.break_glass.activate(ap)  # the approval is used once

    crew.vault.break_glass.revoke(grant.id)
    assert not _active(crew, crew.asset, now)
    with pytest.raises(ConflictError, match="already revoked"):
        crew.vault.break_glass.revoke(grant.id)


def test_only_the_requester_activates(
    crew: Crew, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    ap = _request(crew)
    for pid in crew.approvers:
        crew.vault.approvals.approve(ap, crew.keys[pid])
    bob = crew.approvers[0]
    other = open_vault(workspace.home, passphrase=passphrase, principal=bob, clock=clock)
    with other, pytest.raises(AccessDeniedError, match="only the principal who requested"):
        other.break_glass.activate(ap)
    assert _events(crew.vault, "break-glass.request")[-1].outcome == "denied"
    assert crew.vault.break_glass.activate(ap).principal == crew.vault.principal_id


def test_a_single_approver_is_not_enough(crew: Crew, clock: ManualClock) -> None:
    ap = _request(crew)
    crew.vault.approvals.approve(ap, crew.keys[crew.approvers[0]])
    clock.advance(dt.timedelta(hours=25))
    with pytest.raises(ApprovalRequiredError):
        crew.vault.break_glass.activate(ap)
    assert not _active(crew, crew.asset, clock.now())


@pytest.mark.parametrize(
    ("assets", "minutes", "error"),
    [
        (["blade/blade.step"], MAX_BREAK_GLASS_MINUTES + 1, LimitExceededError),
        (["blade/blade.step"], 0, LimitExceededError),
        (["blade.step"], 30, UsageError),
        (["blade/nope.step"], 30, NotFoundError),
        ([], 30, UsageError),
    ],
)
def test_bad_requests_are_refused_and_journaled(
    crew: Crew, assets: list[str], minutes: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        crew.vault.break_glass.request(
            assets=assets, reason="why", duration=dt.timedelta(minutes=minutes)
        )
    assert _events(crew.vault, "break-glass.request")[-1].outcome == "error"
    assert crew.vault.approvals.ls() == []


def test_reason_and_whole_minutes(crew: Crew) -> None:
    with pytest.raises(UsageError, match="whole number"):
        crew.vault.break_glass.request(
            assets=["blade/blade.step"], reason="x", duration=dt.timedelta(seconds=90)
        )
    with pytest.raises(UsageError, match="reason"):
        crew.vault.break_glass.request(
            assets=["blade/blade.step"], reason="bad\x00", duration=dt.timedelta(minutes=5)
        )
