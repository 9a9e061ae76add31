"""Cedar on the service path: vetted operators, clearance, tokens, break-glass, explain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer
from forgekeep.db.models import Event, Principal
from forgekeep.errors import AccessDeniedError, ApprovalRequiredError, NotFoundError, UsageError
from forgekeep.policy.engine import PolicyEngine
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER


@dataclasses.dataclass
class Org:
    workspace: InitResult
    vault: Vault  # the admin (DE, in the owner organisation "home")
    clock: ManualClock
    passphrase: bytes

    def person(
        self,
        *,
        org: str = "home",
        location: str = "DE",
        roles: tuple[str, ...] = ("reader",),
        clearance: int | None = 3,
        citizenships: tuple[str, ...] = ("DE",),
    ) -> str:
        pid = self.vault.principals.add_person(
            org=org,
            display_name="Someone",
            citizenships=list(citizenships),
            location=location,
            roles=list(roles),
        ).id
        if clearance is not None:
            ISSUER.vet(self.vault, pid, self.clock, clearance=clearance)
        return pid

    def as_(self, principal: str) -> Vault:
        return open_vault(
            self.workspace.home, passphrase=self.passphrase, principal=principal, clock=self.clock
        )


@pytest.fixture
def org(vault: Vault, workspace: InitResult, clock: ManualClock, passphrase: bytes) -> Org:
    vault.assets.put(io.BytesIO(b"internal part"), project="blade", name="part.step")
    vault.assets.put(
        io.BytesIO(b"confidential"), project="blade", name="plan.pdf", classification="secret"
    )
    vault.principals.add_organisation("partner-b", jurisdiction="DE")
    return Org(workspace, vault, clock, passphrase)


def _last(vault: Vault) -> Event:
    with context_of(vault).sessions() as session:
        row = session.scalars(select(Event).order_by(Event.seq.desc()).limit(1)).first()
    assert row is not None
    return row


def _refused(call: object, reason: str) -> AccessDeniedError:
    assert callable(call)
    with pytest.raises(AccessDeniedError) as caught:
        call()
    assert reason in caught.value.reasons, caught.value.reasons
    return caught.value


# -- vetted operators -------------------------------------------------------------------


def test_an_operator_outside_the_allowed_jurisdictions_cannot_change_principals(org: Org) -> None:
    abroad = org.person(location="US", roles=("admin",))
    with org.as_(abroad) as admin_abroad:
        _refused(
            lambda: admin_abroad.principals.add_organisation("x", jurisdiction="DE"),
            "operator-outside-allowed-jurisdictions",
        )
        assert _last(admin_abroad).outcome == "denied"
        assert admin_abroad.projects.ls(), "non-operational actions still work from abroad"


def test_an_unvetted_admin_can_only_import_vetting(org: Org) -> None:
    fresh = org.person(roles=("admin",), clearance=None)
    with org.as_(fresh) as unvetted:
        _refused(unvetted.projects.ls, "vetting-missing-or-expired")
        _refused(
            lambda: unvetted.principals.add_organisation("y", jurisdiction="DE"),
            "vetting-missing-or-expired",
        )
        unvetted.vetting.import_record(ISSUER.record(fresh, now=org.clock.now()))
        assert unvetted.projects.ls()


def test_a_principal_whose_attributes_are_incomplete_is_denied_not_crashed(org: Org) -> None:
    with context_of(org.vault).sessions() as session:
        row = session.get(Principal, org.vault.principal_id)
        assert row is not None
        row.org_id = None
        session.commit()
    _refused(org.vault.assets.ls, "principal-attributes-incomplete")


# -- clearance and listings ---------------------------------------------------------------


def test_clearance_below_the_classification_is_denied(org: Org) -> None:
    reader = org.person(clearance=1)
    with org.as_(reader) as low:
        low.assets.get("part.step", io.BytesIO())
        _refused(lambda: low.assets.get("plan.pdf", io.BytesIO()), "clearance-below-classification")
        assert [a.name for a in low.assets.ls()] == ["part.step"]
        detail = json.loads(_last(low).detail)
        assert (detail["count"], detail["hidden"]) == (1, 1)


def test_entity_handles_are_cached_across_requests(org: Org) -> None:
    access = context_of(org.vault).access
    org.vault.assets.get("part.step", io.BytesIO())
    before, parses = access.entity_parses, PolicyEngine.parse_count
    for _ in range(5):
        org.vault.assets.get("part.step", io.BytesIO())
    assert access.entity_parses == before
    assert PolicyEngine.parse_count == parses


# -- tokens narrow, never widen -----------------------------------------------------------


def test_a_read_token_cannot_write(org: Org) -> None:
    _, text = org.vault.tokens.create(label="ci", scopes=["read"], ttl=dt.timedelta(days=1))
    with open_vault(
        org.workspace.home, passphrase=org.passphrase, token=text, clock=org.clock
    ) as bot:
        assert bot.principals.whoami().auth == "token"
        bot.assets.get("part.step", io.BytesIO())
        error = _refused(
            lambda: bot.assets.put(io.BytesIO(b"x"), project="blade", name="x"), "token-scope"
        )
        assert error.code == "FK-AUTHZ-001"
        assert _last(bot).outcome == "denied"


# -- policy apply takes effect at once ------------------------------------------------------


@pytest.fixture
def approver(org: Org) -> tuple[str, SignerKey]:
    bob = org.person(roles=("approver",))
    key = generate_signer("bob")
    org.vault.principals.set_signing_key(bob, encode_vkey(key.verifier))
    return bob, key


def test_an_applied_policy_takes_effect_in_the_running_vault(
    org: Org, approver: tuple[str, SignerKey]
) -> None:
    policy = (
        '@id("site/no-downloads")\n@reason("downloads-closed")\n'
        'forbid (principal, action == Forgekeep::Action::"download", resource);\n'
    )
    approval = org.vault.policy.request_apply(policy)
    with pytest.raises(ApprovalRequiredError):
        org.vault.policy.apply(approval.id)  # not approved yet
    org.vault.approvals.approve(approval.id, approver[1])
    org.vault.policy.apply(approval.id)
    error = _refused(lambda: org.vault.assets.get("part.step", io.BytesIO()), "downloads-closed")
    assert "site/no-downloads" in error.policies


# -- break-glass ---------------------------------------------------------------------------


def test_break_glass_opens_one_asset_for_a_while_and_is_journaled(
    org: Org, approver: tuple[str, SignerKey]
) -> None:
    carol = org.person(roles=("approver",))
    carol_key = generate_signer("carol")
    org.vault.principals.set_signing_key(carol, encode_vkey(carol_key.verifier))
    outsider = org.person(org="partner-b")
    with org.as_(outsider) as partner:
        _refused(lambda: partner.assets.get("part.step", io.BytesIO()), "default-deny")
        request = partner.break_glass.request(
            assets=["blade/part.step"], reason="line down", duration=dt.timedelta(minutes=30)
        )
        org.vault.approvals.approve(request.id, approver[1])
        org.vault.approvals.approve(request.id, carol_key)
        grant = partner.break_glass.activate(request.id)
        partner.assets.get("part.step", io.BytesIO())
        assert json.loads(_last(partner).detail)["break_glass"] == grant.id
        with org.as_(org.person()) as bystander:
            _refused(lambda: bystander.break_glass.revoke(grant.id), "default-deny")
        _refused(lambda: partner.assets.get("plan.pdf", io.BytesIO()), "default-deny")
        org.clock.advance(dt.timedelta(minutes=31))
        _refused(lambda: partner.assets.get("part.step", io.BytesIO()), "default-deny")


# -- explain --------------------------------------------------------------------------------


def test_explain_a_refusal_and_a_what_if(org: Org) -> None:
    reader = org.person(clearance=1)
    with org.as_(reader) as low:
        error = _refused(
            lambda: low.assets.get("plan.pdf", io.BytesIO()), "clearance-below-classification"
        )
        assert error.request_id is not None
        mine = low.access.explain(error.request_id)
        assert mine.events[0].reasons == ("clearance-below-classification",)
        assert "guard/clearance" in mine.events[0].policies
        _refused(
            lambda: low.access.what_if(principal=reader, action="read", asset="plan.pdf"),
            "what-if-needs-admin-or-auditor",
        )
        other = org.vault.assets.get("part.step", io.BytesIO()).request_id
        with pytest.raises(NotFoundError):
            low.access.explain(other)  # someone else's request stays hidden
    answer = org.vault.access.what_if(principal=reader, action="download", asset="plan.pdf")
    assert (answer.allowed, answer.reasons) == (False, ("clearance-below-classification",))
    assert org.vault.access.explain(error.request_id).events[0].outcome == "denied"
    with pytest.raises(UsageError):
        org.vault.access.what_if(principal=reader, action="fly", asset="plan.pdf")


def test_a_reader_cannot_mint_list_or_revoke_tokens_of_others(org: Org) -> None:
    reader = org.person()
    admin_token, _ = org.vault.tokens.create(
        label="ops", scopes=["admin"], ttl=dt.timedelta(days=1)
    )
    with org.as_(reader) as low:
        _refused(
            lambda: low.tokens.create(
                label="x",
                scopes=["admin"],
                ttl=dt.timedelta(days=1),
                principal=org.vault.principal_id,
            ),
            "default-deny",
        )
        _refused(lambda: low.tokens.ls(principal="*"), "default-deny")
        _refused(lambda: low.tokens.revoke(admin_token.id), "default-deny")
        mine, _ = low.tokens.create(label="mine", scopes=["read"], ttl=dt.timedelta(days=1))
        assert [t.id for t in low.tokens.ls()] == [mine.id]
        assert low.tokens.revoke(mine.id).status == "revoked"
    assert org.vault.tokens.ls()[0].status == "active"


def test_the_signer_of_a_verdict_must_be_allowed_to_decide(org: Org) -> None:
    writer = org.person(roles=("writer",))  # holds a key but not the approver role
    key = generate_signer("writer")
    org.vault.principals.set_signing_key(writer, encode_vkey(key.verifier))
    approval = org.vault.policy.request_apply(
        '@id("site/x")\npermit (principal, action, resource);'
    )
    error = _refused(lambda: org.vault.approvals.approve(approval.id, key), "default-deny")
    assert "may not decide" in str(error)
    bob = org.person(roles=("approver",), clearance=None)
    org.vault.vetting.import_record(ISSUER.record(bob, now=org.clock.now(), days=1))
    bob_key = generate_signer("bob")
    org.vault.principals.set_signing_key(bob, encode_vkey(bob_key.verifier))
    org.clock.advance(dt.timedelta(days=2))  # bob's one-day vetting lapses
    _refused(
        lambda: org.vault.approvals.approve(approval.id, bob_key), "vetting-missing-or-expired"
    )


def test_a_new_version_keeps_its_classification_and_needs_clearance_for_the_highest(
    org: Org,
) -> None:
    org.vault.assets.put(io.BytesIO(b"v2"), project="blade", name="plan.pdf")
    assert org.vault.assets.versions("plan.pdf")[-1].classification == "secret"
    writer = org.person(roles=("writer",), clearance=1)
    with org.as_(writer) as low:
        _refused(
            lambda: low.assets.put(
                io.BytesIO(b"x"), project="blade", name="plan.pdf", classification="public"
            ),
            "clearance-below-classification",
        )
        assert low.assets.put(io.BytesIO(b"new"), project="blade", name="note.txt").version == 1
