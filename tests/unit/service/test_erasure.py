"""Erasure: two approvers, legal holds, and nothing personal left in earlier dumps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer, parse_vkey
from forgekeep.db.models import Event, Principal
from forgekeep.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    ConflictError,
    KeyUnavailableError,
    LegalHoldError,
    NotFoundError,
    UsageError,
)
from forgekeep.identity import open_attributes
from forgekeep.ledger.tlog_proof import verify_proof_file
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.rawdb import database_bytes
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"correct horse battery staple"
ADA = "Ada Admin"


@dataclasses.dataclass
class Office:
    ada: Vault  # the first admin; acted on an ITAR asset
    zed: Vault  # a second admin, who requests erasures
    eve: str  # a person with no export-controlled activity
    approvers: list[str]
    keys: dict[str, SignerKey]
    home: Path


def _person(vault: Vault, name: str, role: str) -> str:
    return vault.principals.add_person(
        org="home", display_name=name, citizenships=["DE"], location="DE", roles=[role]
    ).id


@pytest.fixture
def office(vault: Vault, workspace: InitResult, clock: ManualClock) -> Iterator[Office]:
    vault.assets.put(io.BytesIO(b"turbine"), project="blade", name="blade.step")
    vault.assets.classify("blade.step", project="blade", export="ITAR:XI")
    zed = _person(vault, "Zed Zweit", "admin")
    eve = _person(vault, "Eve Example", "writer")
    approvers = [_person(vault, n, "approver") for n in ("Bob", "Carol")]
    keys = {pid: generate_signer(f"approver-{i}") for i, pid in enumerate(approvers)}
    for pid in [zed, eve, *approvers]:
        ISSUER.vet(vault, pid, clock)
    for pid, key in keys.items():
        vault.principals.set_signing_key(pid, encode_vkey(key.verifier))
    with open_vault(workspace.home, passphrase=PASSPHRASE, principal=zed, clock=clock) as other:
        yield Office(vault, other, eve, approvers, keys, workspace.home)


def _approve(office: Office, approval_id: str) -> None:
    for pid in office.approvers:
        office.zed.approvals.approve(approval_id, office.keys[pid])


def _backed_up_row(vault: Vault, principal_id: str) -> tuple[str, bytes, bytes]:
    """The person's sealed columns, as a backup or a dump taken now would hold them."""
    with context_of(vault).sessions() as session:
        row = session.get(Principal, principal_id)
        assert row is not None
        assert row.attrs_wrapped_key is not None
        assert row.attrs_sealed is not None
        return row.subject_ring, bytes(row.attrs_wrapped_key), bytes(row.attrs_sealed)


def test_refusals_when_requesting(office: Office) -> None:
    zed = office.zed
    with pytest.raises(UsageError, match="yourself"):
        zed.erasure.request(zed.principal_id, reason="leaver")
    with pytest.raises(NotFoundError):
        zed.erasure.request("p-" + "0" * 24, reason="leaver")
    with pytest.raises(LegalHoldError, match="ITAR and EAR"):
        zed.erasure.request(office.ada.principal_id, reason="leaver")
    with pytest.raises(UsageError):
        zed.erasure.request(office.eve, reason="")
    info = zed.erasure.request(office.eve, reason="leaver")
    assert (info.kind, info.required, info.status) == ("erase", 2, "pending")


def test_erasure_after_retention_leaves_no_personal_data(
    office: Office, clock: ManualClock
) -> None:
    ada, zed = office.ada, office.zed
    with pytest.raises(LegalHoldError):
        zed.erasure.request(ada.principal_id, reason="left in 2026")
    now = clock.now()
    clock.advance(now.replace(year=now.year + 5) - now + dt.timedelta(days=1))
    for pid in [ada.principal_id, zed.principal_id, *office.approvers]:
        ISSUER.vet(zed, pid, clock)

    size = zed.ledger.checkpoint().size
    proofs = [zed.ledger.prove_inclusion(i).proof for i in range(size)]
    trusted = zed.ledger.checkpoint().note
    backup = _backed_up_row(zed, ada.principal_id)
    assert ADA.encode() not in database_bytes(office.home)  # sealed, never in clear

    approval = zed.erasure.request(ada.principal_id, reason="left in 2026").id
    _approve(office, approval)
    with pytest.raises(AccessDeniedError, match="only the principal who requested"):
        ada.erasure.erase(approval)
    done = zed.erasure.erase(approval)
    assert done.principal == ada.principal_id

    detail = zed.principals.show(ada.principal_id)
    assert detail.attributes == {}
    assert detail.principal.status == "erased"
    with pytest.raises(ConflictError, match="erased already"):
        zed.erasure.erase(approval)
    with pytest.raises(AccessDeniedError):
        ada.assets.ls()  # an erased principal acts no more
    with pytest.raises(ConflictError, match="stays erased"):
        zed.principals.resume(ada.principal_id)

    # The backup taken before erasure holds only ciphertext no key opens any more.
    ring, wrapped, sealed = backup
    ctx = context_of(zed)
    with pytest.raises(KeyUnavailableError):
        open_attributes(ctx.key_manager, ring, ctx.tenant_id, ada.principal_id, wrapped, sealed)
    assert ADA.encode() not in database_bytes(office.home)

    # Every earlier proof still verifies, and the log is consistent with the old checkpoint.
    key = parse_vkey(zed.ledger.key())
    for index, proof in enumerate(proofs):
        assert verify_proof_file(proof, key).entry == zed.ledger.entry(index)
    assert zed.ledger.verify(trusted_checkpoint=trusted).trusted_size is not None

    with ctx.sessions() as session:
        event = session.scalars(
            select(Event)
            .where(Event.action == "principal.erase", Event.outcome == "ok")
            .order_by(Event.seq.desc())
        ).first()
    assert event is not None
    assert event.target == approval
    assert json.loads(event.detail)["principal"] == ada.principal_id
    assert "left in 2026" not in event.detail


def test_explicit_hold_blocks_request_and_execution(office: Office, clock: ManualClock) -> None:
    zed, eve = office.zed, office.eve
    until = clock.now() + dt.timedelta(days=2)
    zed.holds.set(eve, until=until, reason="case 2026-17")
    with pytest.raises(LegalHoldError, match="legal hold"):
        zed.erasure.request(eve, reason="leaver")
    lift = zed.holds.request_release(eve, reason="case closed").id
    office.ada.approvals.approve(lift, office.keys[office.approvers[0]])
    assert zed.holds.release(lift).released
    with pytest.raises(NotFoundError):
        zed.holds.request_release(eve, reason="again")

    approval = zed.erasure.request(eve, reason="leaver").id
    _approve(office, approval)
    zed.holds.set(eve, until=until, reason="case 2026-18")
    with pytest.raises(LegalHoldError):
        zed.erasure.erase(approval)  # re-checked when it runs
    assert zed.principals.show(eve).attributes["display_name"] == "Eve Example"
    clock.advance(dt.timedelta(days=3))  # the hold ends by itself (the approval lives 7)
    with pytest.raises(UsageError, match="future"):
        zed.holds.set(eve, until=clock.now(), reason="late")
    zed.erasure.erase(approval)
    assert zed.principals.show(eve).attributes == {}


def test_the_last_active_admin_is_not_erased(office: Office, workspace: InitResult) -> None:
    """Even a customer policy that lets a non-admin erase cannot remove the last admin."""
    policy = (
        '@id("site/anyone-erases")\n'
        'permit (principal, action == Forgekeep::Action::"principal.erase", resource);\n'
    )
    approval = office.ada.policy.request_apply(policy)
    office.ada.approvals.approve(approval.id, office.keys[office.approvers[0]])
    office.ada.policy.apply(approval.id)
    office.ada.principals.suspend(office.zed.principal_id)
    clock = context_of(office.ada).clock
    eve = open_vault(workspace.home, passphrase=PASSPHRASE, principal=office.eve, clock=clock)
    with eve, pytest.raises(ConflictError, match="last active admin"):
        eve.erasure.request(office.ada.principal_id, reason="leaver")


def _last_event(vault: Vault, action: str) -> Event:
    with context_of(vault).sessions() as session:
        event = session.scalars(
            select(Event).where(Event.action == action).order_by(Event.seq.desc())
        ).first()
    assert event is not None
    return event


def test_lifting_a_hold_alone_is_refused_and_journaled(office: Office, clock: ManualClock) -> None:
    zed, ada, eve = office.zed, office.ada, office.eve
    zed_key = generate_signer("zed")
    ada.principals.set_signing_key(zed.principal_id, encode_vkey(zed_key.verifier))
    zed.holds.set(eve, until=clock.now() + dt.timedelta(days=30), reason="case 9")
    lift = zed.holds.request_release(eve, reason="case closed").id

    with pytest.raises(AccessDeniedError, match="requester cannot approve"):
        zed.approvals.approve(lift, zed_key)  # the requester's own signature never counts
    assert _last_event(zed, "approval.decide").outcome == "denied"
    with pytest.raises(ApprovalRequiredError, match="is pending"):
        zed.holds.release(lift)  # not approved by anyone else yet
    refused = _last_event(zed, "principal.hold")
    assert (refused.outcome, json.loads(refused.detail)["code"]) == ("denied", "FK-AUTHZ-003")

    office.ada.approvals.approve(lift, office.keys[office.approvers[0]])
    with pytest.raises(AccessDeniedError, match="only the principal who requested"):
        ada.holds.release(lift)  # only the requester runs it
    assert _last_event(zed, "principal.hold").outcome == "denied"
    with pytest.raises(LegalHoldError):
        zed.erasure.request(eve, reason="leaver")  # the hold still stands
    erase_refused = _last_event(zed, "principal.erase")
    assert json.loads(erase_refused.detail)["code"] == "FK-CONFLICT-002"

    assert zed.holds.release(lift).released
    with pytest.raises(ApprovalRequiredError):
        zed.holds.release(lift)  # once
    assert zed.erasure.request(eve, reason="leaver").status == "pending"


def test_a_release_approval_binds_the_hold_it_was_asked_for(
    office: Office, clock: ManualClock
) -> None:
    zed, eve = office.zed, office.eve
    zed.holds.set(eve, until=clock.now() + dt.timedelta(days=30), reason="case 10")
    lift = zed.holds.request_release(eve, reason="case closed").id
    zed.holds.set(eve, until=clock.now() + dt.timedelta(days=90), reason="case 11")
    office.ada.approvals.approve(lift, office.keys[office.approvers[0]])
    with pytest.raises(ApprovalRequiredError, match="no longer applies"):
        zed.holds.release(lift)
    with pytest.raises(ConflictError, match="never shortened"):
        zed.holds.set(eve, until=clock.now() + dt.timedelta(days=1), reason="case 12")
    with pytest.raises(LegalHoldError):
        zed.erasure.request(eve, reason="leaver")


def test_a_hold_placed_after_approval_is_honoured_and_journaled(
    office: Office, clock: ManualClock
) -> None:
    zed, eve = office.zed, office.eve
    approval = zed.erasure.request(eve, reason="leaver").id
    _approve(office, approval)
    office.ada.holds.set(eve, until=clock.now() + dt.timedelta(days=1), reason="case 13")
    with pytest.raises(LegalHoldError):
        zed.erasure.erase(approval)
    refused = _last_event(zed, "principal.erase")
    assert (refused.outcome, json.loads(refused.detail)["code"]) == ("error", "FK-CONFLICT-002")
    assert zed.principals.show(eve).attributes["display_name"] == "Eve Example"
    assert zed.approvals.show(approval).approval.status == "approved"  # not used up by the refusal
