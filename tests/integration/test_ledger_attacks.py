"""An attacker with the database and the site but not the passphrase, against the log.

Each attack uses only SQL on the database, SHA-256 and the file system (``ledger_attacker``).
Every change is either caught by ``ledger verify`` or has no effect on what the
views (``ledger ls``, ``access explain``) show; the tests assert both.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import ledger_attacker
import pytest
from sqlalchemy import text

from forgekeep.clock import ManualClock
from forgekeep.errors import AccessDeniedError, NotFoundError
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.rawdb import workspace_engine

SITE = Path("sites") / "local-de"
FORGED = {
    "outcome": "ok",
    "detail": '{"licence":"lic-forged","policy":"site/someone-else"}',
    "request_id": "req-00000000000000ff",
    "actor": "p-000000000000000000000000",
}


@pytest.fixture
def opened(workspace: InitResult, clock: ManualClock, passphrase: bytes) -> Iterator[Vault]:
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as vault:
        yield vault


def _denied_get(vault: Vault) -> str:
    """A refused read of an ITAR asset by a German admin without an export authorisation."""
    vault.projects.create("blade", residency="DE")
    vault.assets.put(io.BytesIO(b"blade"), project="blade", name="blade.step")
    vault.assets.classify("blade.step", project="blade", export="ITAR:XI")
    with pytest.raises(AccessDeniedError) as refused:
        vault.assets.get("blade.step", io.BytesIO())
    assert refused.value.request_id is not None
    return refused.value.request_id


def _index_of(home: Path, request_id: str) -> int:
    engine = workspace_engine(home)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT log_index FROM events WHERE request_id = :r"), {"r": request_id}
        ).scalar_one()
    engine.dispose()
    return int(found)


def _edit_column(home: Path, tenant: str, index: int, column: str, value: str) -> None:
    """One UPDATE, as anyone with write access to the database can run (no passphrase)."""
    engine = workspace_engine(home)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE events SET {column} = :v WHERE tenant_id = :t AND log_index = :i"),  # noqa: S608 (a test's own column names)
            {"v": value, "t": tenant, "i": index},
        )
    engine.dispose()


def _views(vault: Vault, index: int, request_id: str, actor: str) -> tuple[object, ...]:
    """What the views show of one entry: listed, filtered by principal and asset, explained."""
    listed = [e for e in vault.ledger.ls(limit=1000) if e.index == index]
    mine = [e for e in vault.ledger.ls(principal=actor, limit=1000) if e.index == index]
    about = [e for e in vault.ledger.ls(asset="blade.step", limit=1000) if e.index == index]
    return listed, mine, about, vault.access.explain(request_id)


@pytest.mark.parametrize("column", FORGED)
def test_an_edited_column_is_caught_and_changes_no_view(opened: Vault, column: str) -> None:
    request_id = _denied_get(opened)
    home, actor = context_of(opened).home, opened.principal_id
    index = _index_of(home, request_id)
    before = _views(opened, index, request_id, actor)
    assert before[0][0].outcome == "denied"  # type: ignore[index]
    assert all(before[:3]), before  # listed, and found by both filters

    _edit_column(home, opened.tenant_id, index, column, FORGED[column])

    report = opened.ledger.verify()
    assert (report.ok, report.journaled) == (False, True)
    assert [(f.kind, f.index, f.column) for f in report.findings] == [
        ("column-mismatch", index, column)
    ]
    assert _views(opened, index, request_id, actor) == before
    if column == "request_id":  # the forged id explains nothing
        with pytest.raises(NotFoundError):
            opened.access.explain(FORGED["request_id"])


def test_uncovered_entries_are_listed_and_fail_once_overdue(
    workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    home = workspace.home
    with open_vault(home, passphrase=passphrase, clock=clock) as vault:
        vault.projects.create("blade", residency="DE")
        report = vault.ledger.verify()  # this vault's own entry is not signed yet
        assert report.ok
        assert report.uncovered is not None
        assert report.uncovered.last == report.size - 1
        vault.assets.put(io.BytesIO(b"one"), project="blade", name="one.step")
        clock.advance(dt.timedelta(seconds=5))
        report = vault.ledger.verify()
        gap = report.uncovered
        assert gap is not None
        assert report.ok
        assert gap.last == report.size - 1
        assert gap.oldest is not None
        assert gap.newest == clock.now() - dt.timedelta(seconds=5)
        clock.advance(dt.timedelta(seconds=901))
        overdue = vault.ledger.verify()
        assert [(f.kind, f.index) for f in overdue.findings] == [("uncovered-too-long", gap.first)]
    # This vault opened before the entries were overdue: it signs over them as it closes.
    with open_vault(home, passphrase=passphrase, clock=clock) as vault:
        report = vault.ledger.verify()
        assert (report.ok, report.uncovered) == (True, None)


def test_a_deleted_event_with_a_rehashed_tail_and_no_later_checkpoints_fails_verify(
    workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    home = workspace.home
    with open_vault(home, passphrase=passphrase, clock=clock) as vault:
        request_id = _denied_get(vault)
        vault.assets.put(io.BytesIO(b"two"), project="blade", name="two.step")
        tenant = vault.tenant_id
    with open_vault(home, passphrase=passphrase, clock=clock) as vault:
        assert vault.ledger.verify().ok  # every command so far was signed as it closed
    victim = _index_of(home, request_id)

    size = ledger_attacker.delete_and_rehash(home, home / SITE, tenant, victim)

    clock.advance(dt.timedelta(seconds=901))  # the next check comes after the allowed lag
    for _ in range(2):  # and the vault that runs it does not sign over the rewritten tail
        with open_vault(home, passphrase=passphrase, clock=clock) as vault:
            report = vault.ledger.verify()
        assert report.uncovered is not None
        assert report.uncovered.first <= victim < size
        assert ("uncovered-too-long", report.uncovered.first) in [
            (f.kind, f.index) for f in report.findings
        ]
    # Only a deliberate `ledger checkpoint` signs over them, once someone has looked.
    with open_vault(home, passphrase=passphrase, clock=clock) as vault:
        vault.ledger.checkpoint()
        assert vault.ledger.verify().ok
