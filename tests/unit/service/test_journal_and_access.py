"""Every operation and every refusal is journaled; access is denied by default."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.clock import ManualClock
from forgekeep.db.models import Asset, AssetVersion, Event, Principal
from forgekeep.errors import AccessDeniedError, JournalError, NotFoundError
from forgekeep.identity import open_attributes
from forgekeep.ledger.journal import JournalEvent
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.rawdb import database_bytes


def _events(vault: Vault) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.seq)).all())


class FailingJournal:
    def append(self, session: Session, event: JournalEvent) -> None:
        raise JournalError(f"journal device full ({event.action})")


def test_each_operation_appends_one_event(vault: Vault) -> None:
    before = len(_events(vault))
    put = vault.assets.put(io.BytesIO(b"abc"), project="blade", name="a.step")
    vault.assets.ls()
    vault.assets.versions("a.step")
    events = _events(vault)[before:]
    assert [e.action for e in events] == ["asset.put", "asset.list", "asset.versions"]
    assert {e.outcome for e in events} == {"ok"}
    assert events[0].request_id == put.request_id
    assert json.loads(events[0].detail)["version_id"] == put.version_id


def test_a_read_journals_its_decision_before_any_byte(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"abc"), project="blade", name="a.step")
    seen: list[list[str]] = []

    class Spy(io.BytesIO):
        def write(self, data: object) -> int:
            seen.append(
                [e.action + ":" + json.loads(e.detail).get("phase", "") for e in _events(vault)]
            )
            return super().write(data)  # type: ignore[arg-type]

    vault.assets.get("a.step", Spy())
    assert "asset.get:decision" in seen[0]
    assert "asset.get:complete" not in seen[0]
    assert _events(vault)[-1].action == "asset.get"


def test_refusals_are_journaled_with_their_code(vault: Vault) -> None:
    with pytest.raises(NotFoundError) as caught:
        vault.assets.get("missing.step", io.BytesIO())
    last = _events(vault)[-1]
    assert (last.action, last.outcome) == ("asset.get", "error")
    assert json.loads(last.detail) == {"code": "FK-NOTFOUND-001"}
    assert last.request_id == caught.value.request_id


def test_unknown_principal_is_denied_and_journaled(
    workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    with open_vault(
        workspace.home, passphrase=passphrase, principal="p-nobody", clock=clock
    ) as stranger:
        with pytest.raises(AccessDeniedError) as caught:
            stranger.assets.ls()
        assert caught.value.exit_code == 3
        last = _events(stranger)[-1]
    assert (last.actor, last.outcome) == ("p-nobody", "denied")


@pytest.mark.parametrize(
    ("roles", "status"), [(["reader"], "active"), (["admin"], "suspended"), ([], "active")]
)
def test_roles_and_status_gate_writes(vault: Vault, roles: list[str], status: str) -> None:
    with context_of(vault).sessions() as session:
        admin = session.get(Principal, vault.principal_id)
        assert admin is not None
        admin.roles, admin.status = roles, status
        session.commit()
    with pytest.raises(AccessDeniedError):
        vault.assets.put(io.BytesIO(b"x"), project="blade", name="x")
    assert _events(vault)[-1].outcome == "denied"


def test_a_write_fails_when_its_event_cannot_be_written(vault: Vault) -> None:
    context_of(vault).journal = FailingJournal()
    with pytest.raises(JournalError):
        vault.assets.put(io.BytesIO(b"secret"), project="blade", name="a.step")
    with context_of(vault).sessions() as session:
        assert session.scalars(select(Asset)).all() == []
        assert session.scalars(select(AssetVersion)).all() == []
    site = context_of(vault).home / "sites"
    stored = [p for p in site.rglob("*") if p.is_file() and "ledger" not in p.parts]
    assert stored == []  # no blob; the log's mirror holds only signed checkpoints


def test_a_read_fails_before_any_byte_when_its_event_cannot_be_written(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"secret"), project="blade", name="a.step")
    context_of(vault).journal = FailingJournal()
    sink = io.BytesIO()
    with pytest.raises(JournalError):
        vault.assets.get("a.step", sink)
    assert sink.getvalue() == b""


def test_people_are_pseudonymous_and_their_attributes_sealed(
    vault: Vault, workspace: InitResult
) -> None:
    db_bytes = database_bytes(workspace.home)
    assert b"Ada Admin" not in db_bytes
    assert workspace.principal_id.startswith("p-")
    with context_of(vault).sessions() as session:
        row = session.get(Principal, workspace.principal_id)
        assert row is not None
        assert row.attrs_sealed
        assert row.attrs_wrapped_key
        attrs = open_attributes(
            context_of(vault).key_manager,
            row.subject_ring,
            workspace.tenant_id,
            row.id,
            row.attrs_wrapped_key,
            row.attrs_sealed,
        )
    assert attrs == {"display_name": "Ada Admin", "citizenships": "DE", "location": "DE"}
    assert all(e.actor.startswith("p-") for e in _events(vault))
