"""Principals: organisations, people (sealed attributes), machines, suspension, vetting."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.config import CONFIG_NAME
from forgekeep.crypto.signed import SignerKey, generate_signer, sign
from forgekeep.db.models import Event, VettingRecord
from forgekeep.errors import (
    AccessDeniedError,
    ConfigError,
    ConflictError,
    ForgekeepError,
    IntegrityError,
    InvalidNameError,
    NotFoundError,
    UsageError,
)
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import DB_FILE, InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

FINGERPRINT = "ab" * 32


@pytest.fixture(scope="module")
def issuer() -> SignerKey:
    return ISSUER.signer


@pytest.fixture
def trusted_vault(workspace: InitResult, clock: ManualClock, passphrase: bytes) -> Iterator[Vault]:
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as opened:
        opened.principals.add_organisation("acme", jurisdiction="DE")
        yield opened


def _events(vault: Vault) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.seq)).all())


def _person(vault: Vault, name: str = "Grace Hopper", roles: tuple[str, ...] = ("writer",)) -> str:
    return vault.principals.add_person(
        org="acme",
        display_name=name,
        citizenships=["us", "GB"],
        location="DE",
        roles=list(roles),
        trainings=["itar-101"],
    ).id


def _record(signer: SignerKey, subject: str, now: dt.datetime, **changes: Any) -> bytes:
    payload: dict[str, Any] = {
        "record_id": "vr-1",
        "subject": subject,
        "issuer": "vetting.example",
        "evidence": "case-42",
        "clearance": 3,
        "expires": (now + dt.timedelta(days=365)).isoformat().replace("+00:00", "Z"),
    }
    payload.update(changes)
    type_ = payload.pop("_type", "vetting-record")
    return sign(signer, type_, payload).to_json()


def test_add_list_show_suspend_resume(trusted_vault: Vault) -> None:
    person = _person(trusted_vault)
    machine = trusted_vault.principals.add_machine(
        org="acme", roles=["reader"], fingerprints=[FINGERPRINT]
    )
    listed = {p.id: p for p in trusted_vault.principals.ls()}
    assert {person, machine.id, trusted_vault.principal_id} <= set(listed)
    assert listed[person].kind == "person"
    assert listed[person].trainings == ("itar-101",)
    assert listed[machine.id].fingerprints == (FINGERPRINT,)
    assert "Grace" not in repr(listed)

    detail = trusted_vault.principals.show(person)
    assert detail.attributes == {
        "display_name": "Grace Hopper",
        "citizenships": "GB,US",
        "location": "DE",
    }
    assert trusted_vault.principals.show(machine.id).attributes == {}

    assert trusted_vault.principals.suspend(person).status == "suspended"
    assert trusted_vault.principals.resume(person).status == "active"
    actions = [e.action for e in _events(trusted_vault)[-6:]]
    assert actions[-2:] == ["principal.suspend", "principal.suspend"]
    assert all("Grace" not in e.detail and "Hopper" not in e.detail for e in _events(trusted_vault))


def test_personal_attributes_are_never_stored_in_clear(
    trusted_vault: Vault, workspace: InitResult
) -> None:
    _person(trusted_vault, name="Zelda Unusualname")
    trusted_vault.close()
    raw = b"".join(p.read_bytes() for p in workspace.home.glob(f"{DB_FILE}*"))
    assert b"Zelda" not in raw
    assert b"Unusualname" not in raw
    assert b"GB,US" not in raw


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"display_name": ""}, InvalidNameError),
        ({"display_name": "bad\x00name"}, InvalidNameError),
        ({"citizenships": ["XX"]}, InvalidNameError),
        ({"location": "Mars"}, InvalidNameError),
        ({"roles": ["overlord"]}, UsageError),
        ({"org": "nobody"}, NotFoundError),
    ],
)
def test_bad_person_input_is_refused(
    trusted_vault: Vault, changes: dict[str, Any], error: type[ForgekeepError]
) -> None:
    args: dict[str, Any] = {
        "org": "acme",
        "display_name": "Ada",
        "citizenships": ["DE"],
        "location": "DE",
        "roles": ["reader"],
    }
    with pytest.raises(error):
        trusted_vault.principals.add_person(**{**args, **changes})


def test_bad_organisations_and_machines_are_refused(trusted_vault: Vault) -> None:
    with pytest.raises(ConflictError):
        trusted_vault.principals.add_organisation("acme", jurisdiction="DE")
    with pytest.raises(InvalidNameError):
        trusted_vault.principals.add_organisation("Acme Corp", jurisdiction="DE")
    with pytest.raises(UsageError):
        trusted_vault.principals.add_machine(org="acme", roles=["reader"], fingerprints=["AB" * 32])
    trusted_vault.principals.add_machine(org="acme", roles=["reader"], fingerprints=[FINGERPRINT])
    with pytest.raises(ConflictError):
        trusted_vault.principals.add_machine(
            org="acme", roles=["reader"], fingerprints=[FINGERPRINT]
        )


def test_a_suspended_admin_is_denied(
    trusted_vault: Vault, workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    second = _person(trusted_vault, name="Second Admin", roles=("admin",))
    ISSUER.vet(trusted_vault, second, clock)
    with pytest.raises(UsageError):
        trusted_vault.principals.suspend(trusted_vault.principal_id)
    with open_vault(workspace.home, passphrase=passphrase, principal=second, clock=clock) as other:
        other.principals.suspend(workspace.principal_id)
    with pytest.raises(AccessDeniedError):
        trusted_vault.principals.ls()
    assert trusted_vault.principals.whoami().status == "suspended"
    assert _events(trusted_vault)[-1].outcome == "denied"


def test_a_reader_cannot_add_principals(
    trusted_vault: Vault, workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    reader = _person(trusted_vault, roles=("reader",))
    with (
        open_vault(workspace.home, passphrase=passphrase, principal=reader, clock=clock) as v,
        pytest.raises(AccessDeniedError),
    ):
        v.principals.add_organisation("evil", jurisdiction="DE")


def test_a_valid_vetting_record_sets_clearance_and_expiry(
    trusted_vault: Vault, issuer: SignerKey, clock: ManualClock
) -> None:
    person = _person(trusted_vault)
    result = trusted_vault.vetting.import_record(_record(issuer, person, clock.now()))
    assert result.subject == person
    assert result.issuer_key_id == issuer.key_id
    info = trusted_vault.principals.show(person).principal
    assert info.clearance == 3
    assert info.vetting_expires == clock.now() + dt.timedelta(days=365)
    with context_of(trusted_vault).sessions() as session:
        stored = session.get(VettingRecord, "vr-1")
        assert stored is not None
        assert json.loads(stored.document)["type"] == "vetting-record"
    event = _events(trusted_vault)[-2]
    assert (event.action, event.outcome) == ("principal.vet", "ok")


def _forged(signer: SignerKey, subject: str, now: dt.datetime) -> bytes:
    doc = json.loads(_record(signer, subject, now))
    doc["payload"]["clearance"] = 9
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("forged", IntegrityError),
        ("untrusted", IntegrityError),
        ("wrong-type", IntegrityError),
        ("expired", UsageError),
        ("unknown-subject", NotFoundError),
        ("duplicate", ConflictError),
    ],
)
def test_bad_vetting_records_are_refused_and_journaled(
    trusted_vault: Vault,
    issuer: SignerKey,
    clock: ManualClock,
    case: str,
    error: type[ForgekeepError],
) -> None:
    person = _person(trusted_vault)
    now = clock.now()
    documents = {
        "forged": lambda: _forged(issuer, person, now),
        "untrusted": lambda: _record(generate_signer("vetting.example"), person, now),
        "wrong-type": lambda: _record(issuer, person, now, _type="approval"),
        "expired": lambda: _record(issuer, person, now, expires="2000-01-01T00:00:00Z"),
        "unknown-subject": lambda: _record(issuer, "p-" + "0" * 24, now),
        "duplicate": lambda: _record(issuer, person, now),
    }
    if case == "duplicate":
        trusted_vault.vetting.import_record(_record(issuer, person, now, clearance=1))
    with pytest.raises(error) as caught:
        trusted_vault.vetting.import_record(documents[case]())
    last = _events(trusted_vault)[-1]
    assert (last.action, last.outcome) == ("principal.vet", "error")
    assert last.request_id == caught.value.request_id
    info = trusted_vault.principals.show(person).principal
    assert info.clearance == (1 if case == "duplicate" else 0)


def test_vetting_without_trusted_issuers_is_a_config_error(
    workspace: InitResult, issuer: SignerKey, clock: ManualClock, passphrase: bytes
) -> None:
    config = workspace.home / CONFIG_NAME
    config.write_text(
        re.sub(r"trusted_issuers = \[.*\]", "trusted_issuers = []", config.read_text())
    )
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as vault:
        with pytest.raises(ConfigError):
            vault.vetting.import_record(_record(issuer, vault.principal_id, clock.now()))
        assert _events(vault)[-1].outcome == "error"


def test_whoami(trusted_vault: Vault, workspace: InitResult) -> None:
    me = trusted_vault.principals.whoami()
    assert (me.principal, me.tenant, me.roles, me.status) == (
        workspace.principal_id,
        workspace.tenant_id,
        ("admin",),
        "active",
    )
    assert me.clearance == 3  # vetted by the shared fixture
    assert me.vetting_expires is not None
