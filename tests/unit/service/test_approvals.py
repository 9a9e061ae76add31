"""Approvals: signed verdicts by registered approvers, consumed once; policy apply."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.canonical import canonical_json
from forgekeep.crypto.signed import SignedObject, SignerKey, encode_vkey, generate_signer, sign
from forgekeep.db.access import Approval, ApprovalSignature, PolicyVersion
from forgekeep.db.models import Event
from forgekeep.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    ConflictError,
    FormatError,
    IntegrityError,
    LimitExceededError,
    UsageError,
)
from forgekeep.service.access import approvals
from forgekeep.service.access.policy_admin import active_policy
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

POLICY = """\
@id("site/no-manufacture-for-x")
@reason("manufacture-barred")
forbid (principal, action == Forgekeep::Action::"manufacture", resource)
when { principal has org && principal.org == Forgekeep::Organisation::"org-x" };
"""


@dataclasses.dataclass
class Team:
    vault: Vault  # the workspace admin: the requester in these tests
    bob: str
    carol: str
    keys: dict[str, SignerKey]


@pytest.fixture
def team(vault: Vault, clock: ManualClock) -> Team:
    """Bob (an admin) and Carol (an approver), both vetted, with registered keys."""
    vault.principals.add_organisation("acme", jurisdiction="DE")
    ids = []
    for name, role in (("Bob Approver", "admin"), ("Carol Approver", "approver")):
        person = vault.principals.add_person(
            org="acme", display_name=name, citizenships=["DE"], location="DE", roles=[role]
        )
        ISSUER.vet(vault, person.id, clock)
        ids.append(person.id)
    keys = {pid: generate_signer(f"approver-{n}") for n, pid in enumerate(ids)}
    keys[vault.principal_id] = generate_signer("approver-admin")
    for pid, key in keys.items():
        vault.principals.set_signing_key(pid, encode_vkey(key.verifier))
    return Team(vault, ids[0], ids[1], keys)


def _events(vault: Vault, action: str) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(
            session.scalars(select(Event).where(Event.action == action).order_by(Event.seq)).all()
        )


def _request(vault: Vault, *, kind: str = "erase", required: int = 2, **payload: Any) -> str:
    ctx = context_of(vault)
    with ctx.sessions() as session:
        row = approvals.request_approval(
            session,
            ctx,
            kind=kind,
            target="asset-1",
            payload=payload or {"asset": "asset-1"},
            required=required,
            ttl=dt.timedelta(hours=1),
        )
        session.commit()
        return row.id


def _consume(vault: Vault, approval_id: str, digest: str | None = None) -> Approval:
    ctx = context_of(vault)
    with ctx.sessions() as session:
        row = session.get(Approval, approval_id)
        assert row is not None
        used = approvals.consume_approval(
            session,
            ctx,
            approval_id,
            kind=row.kind,
            payload_sha256=digest or row.payload_sha256,
            requester=row.requester,
        )
        session.commit()
        return used


def _signed(team: Team, approval_id: str, who: str, /, **changes: Any) -> bytes:
    """``who``'s signed approval of ``approval_id``, with ``changes`` to the payload.

    ``_type`` changes the type, ``_key`` the signing key, and ``_forge`` alters the
    payload after signing.
    """
    info = team.vault.approvals.show(approval_id).approval
    payload: dict[str, Any] = approvals.verdict_payload(
        info, team.vault.tenant_id, "approve", who, context_of(team.vault).clock.now()
    )
    payload.update(changes)
    type_ = payload.pop("_type", "approval")
    forge = payload.pop("_forge", None)
    obj = sign(payload.pop("_key", team.keys[who]), type_, payload)
    if forge is not None:
        obj = SignedObject(obj.type, canonical_json({**payload, **forge}), obj.signatures)
    return obj.to_json()


def test_two_approvals_then_consumed_once(team: Team) -> None:
    ap = _request(team.vault)
    first = team.vault.approvals.approve(ap, team.keys[team.bob])
    assert (first.status, first.approvals, first.required) == ("pending", 1, 2)
    second = team.vault.approvals.approve(ap, team.keys[team.carol])
    assert (second.status, second.approvals) == ("approved", 2)
    detail = team.vault.approvals.show(ap)
    assert {v.approver for v in detail.verdicts} == {team.bob, team.carol}
    assert detail.payload == {"asset": "asset-1"}
    with context_of(team.vault).sessions() as session:
        docs = session.scalars(select(ApprovalSignature.document)).all()
    assert all(json.loads(d)["type"] == "approval" for d in docs)
    assert _consume(team.vault, ap).status == "consumed"
    with pytest.raises(ApprovalRequiredError, match="consumed"):
        _consume(team.vault, ap)  # a replayed approval is refused
    assert [i.id for i in team.vault.approvals.ls(status="consumed")] == [ap]
    decided = [e for e in _events(team.vault, "approval.decide") if e.outcome == "ok"]
    assert len(decided) == 2


def test_requester_cannot_approve_own_request(team: Team) -> None:
    ap = _request(team.vault)
    with pytest.raises(AccessDeniedError, match="own request"):
        team.vault.approvals.approve(ap, team.keys[team.vault.principal_id])
    assert _events(team.vault, "approval.decide")[-1].outcome == "denied"
    assert team.vault.approvals.show(ap).verdicts == ()


def test_approver_acting_in_own_session(team: Team, workspace: InitResult, passphrase: bytes,
                                        clock: ManualClock) -> None:  # fmt: skip
    ap = _request(team.vault, required=2)
    carol = team.carol
    with open_vault(workspace.home, passphrase=passphrase, principal=carol, clock=clock) as own:
        assert own.approvals.approve(ap, team.keys[carol]).approvals == 1
        with pytest.raises(ConflictError, match="already"):
            own.approvals.approve(ap, team.keys[carol])
    assert _events(team.vault, "approval.decide")[-1].outcome == "error"


def test_unregistered_key_and_principal_without_key_are_refused(team: Team) -> None:
    ap = _request(team.vault)
    with pytest.raises(AccessDeniedError, match="not registered"):
        team.vault.approvals.approve(ap, generate_signer("stranger"))
    dave = team.vault.principals.add_person(
        org="acme", display_name="Dave", citizenships=["DE"], location="DE", roles=["admin"]
    ).id
    document = _signed(team, ap, team.bob, approver=dave, _key=generate_signer("dave"))
    with pytest.raises(AccessDeniedError, match="no approval signing key"):
        team.vault.approvals.approve_signed(ap, document)
    assert [e.outcome for e in _events(team.vault, "approval.decide")] == ["denied", "denied"]


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"_forge": {"target": "asset-2"}}, IntegrityError, "does not verify"),
        ({"_key": generate_signer("mallory")}, IntegrityError, "no signature by a trusted"),
        ({"_type": "vetting-record"}, IntegrityError, "type"),
        ({"approval_id": "ap-0000000000000000"}, IntegrityError, "approval_id"),
        ({"payload_sha256": "00" * 32}, IntegrityError, "payload_sha256"),
        ({"tenant": "t-other"}, IntegrityError, "tenant"),
        ({"verdict": "maybe"}, FormatError, "approve"),
        ({"extra": "x"}, FormatError, "exactly"),
    ],
)
def test_bad_signed_verdicts_are_refused(
    team: Team, changes: dict[str, Any], error: type[Exception], match: str
) -> None:
    ap = _request(team.vault)
    document = _signed(team, ap, team.bob, **changes)
    with pytest.raises(error, match=match):
        team.vault.approvals.approve_signed(ap, document)
    assert _events(team.vault, "approval.decide")[-1].outcome in {"error", "denied"}
    assert team.vault.approvals.show(ap).verdicts == ()


def test_a_verdict_for_another_approval_cannot_be_replayed(team: Team) -> None:
    first, second = _request(team.vault), _request(team.vault)
    document = _signed(team, first, team.bob)
    assert team.vault.approvals.approve_signed(first, document).approvals == 1
    with pytest.raises(IntegrityError, match="approval_id"):
        team.vault.approvals.approve_signed(second, document)


def test_expired_approval_cannot_be_decided_or_consumed(team: Team, clock: ManualClock) -> None:
    ap = _request(team.vault, required=1, kind="policy-apply")
    clock.advance(dt.timedelta(hours=1))
    with pytest.raises(ConflictError, match="expired"):
        team.vault.approvals.approve(ap, team.keys[team.bob])
    assert team.vault.approvals.show(ap).approval.status == "expired"
    assert _events(team.vault, "approval.decide")[-1].outcome == "error"
    approved = _request(team.vault, required=1, kind="policy-apply")
    team.vault.approvals.approve(approved, team.keys[team.bob])
    clock.advance(dt.timedelta(hours=2))
    with pytest.raises(ApprovalRequiredError, match="expired"):
        _consume(team.vault, approved)


def test_one_rejection_rejects(team: Team) -> None:
    ap = _request(team.vault)
    team.vault.approvals.approve(ap, team.keys[team.bob])
    rejected = team.vault.approvals.reject(ap, team.keys[team.carol])
    assert rejected.status == "rejected"
    with pytest.raises(ApprovalRequiredError, match="rejected"):
        _consume(team.vault, ap)
    with pytest.raises(ConflictError, match="rejected"):
        team.vault.approvals.approve(ap, team.keys[team.carol])


def test_consume_checks_payload_hash_kind_and_rotated_keys(team: Team) -> None:
    ap = _request(team.vault, required=2)
    team.vault.approvals.approve(ap, team.keys[team.bob])
    with pytest.raises(ApprovalRequiredError, match="pending"):
        _consume(team.vault, ap)  # one of two
    team.vault.approvals.approve(ap, team.keys[team.carol])
    with pytest.raises(ApprovalRequiredError, match="different"):
        _consume(team.vault, ap, digest="00" * 32)
    rotated = generate_signer("approver-1-new")
    team.vault.principals.set_signing_key(team.carol, encode_vkey(rotated.verifier))
    with pytest.raises(ApprovalRequiredError, match="no longer verifies"):
        _consume(team.vault, ap)
    team.vault.principals.set_signing_key(team.carol, encode_vkey(team.keys[team.carol].verifier))
    team.vault.principals.suspend(team.bob)
    with pytest.raises(ApprovalRequiredError, match="suspended"):
        _consume(team.vault, ap)
    team.vault.principals.resume(team.bob)
    assert _consume(team.vault, ap).status == "consumed"


def test_request_bounds(team: Team) -> None:
    with pytest.raises(UsageError, match="2-"):
        _request(team.vault, kind="break-glass", required=1)
    with pytest.raises(LimitExceededError), context_of(team.vault).sessions() as session:
        approvals.request_approval(
            session, context_of(team.vault), kind="erase", target="x", payload={},
            required=2, ttl=dt.timedelta(days=8),
        )  # fmt: skip


def test_keys_are_one_per_principal(team: Team) -> None:
    with pytest.raises(ConflictError, match="already registered"):
        team.vault.principals.set_signing_key(team.carol, encode_vkey(team.keys[team.bob].verifier))
    with pytest.raises(FormatError):
        team.vault.principals.set_signing_key(team.carol, "not a key")
    events = _events(team.vault, "principal.set-key")
    assert [e.outcome for e in events[-2:]] == ["error", "error"]
    assert all("PRIVATE" not in e.detail for e in events)
    assert team.keys[team.bob].key_id in events[0].detail or any(
        team.keys[team.bob].key_id in e.detail for e in events
    )


# -- policy apply -----------------------------------------------------------------


def test_policy_apply_needs_one_approval_and_applies_once(team: Team) -> None:
    info = team.vault.policy.request_apply(POLICY)
    assert (info.kind, info.required, info.status) == ("policy-apply", 1, "pending")
    with pytest.raises(ApprovalRequiredError, match="pending"):
        team.vault.policy.apply(info.id)
    team.vault.approvals.approve(info.id, team.keys[team.bob])
    version = team.vault.policy.apply(info.id)
    assert version.text == POLICY
    assert version.approval_id == info.id
    with pytest.raises(ApprovalRequiredError, match="consumed"):
        team.vault.policy.apply(info.id)
    shown = team.vault.policy.show()
    assert shown.active is not None
    assert shown.active.sha256 == version.sha256
    assert "baseline" in shown.baseline
    with context_of(team.vault).sessions() as session:
        row = active_policy(session, team.vault.tenant_id)
        assert row is not None
        assert row.id == version.version
        assert len(session.scalars(select(PolicyVersion)).all()) == 1
    outcomes = [e.outcome for e in _events(team.vault, "policy.apply")]
    assert outcomes == ["ok", "denied", "ok", "denied"]


def test_invalid_policy_is_refused_with_its_location(team: Team) -> None:
    with pytest.raises(FormatError, match=r"\d+:\d+"):
        team.vault.policy.request_apply(POLICY + "permit (principal, action, resource) oops;\n")
    with pytest.raises(FormatError, match="reason"):
        team.vault.policy.request_apply('@id("x")\nforbid (principal, action, resource);\n')
    assert [e.outcome for e in _events(team.vault, "policy.apply")] == ["error", "error"]
    assert team.vault.approvals.ls() == []


def test_only_the_requester_applies_the_policy(
    team: Team, workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    info = team.vault.policy.request_apply(POLICY)
    team.vault.approvals.approve(info.id, team.keys[team.bob])
    bob = open_vault(workspace.home, passphrase=passphrase, principal=team.bob, clock=clock)
    with bob, pytest.raises(ApprovalRequiredError, match="another principal"):
        bob.policy.apply(info.id)
