"""The log's signing key: made at init or by the explicit set-up step, never by a read."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from forgekeep.crypto.signed import parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash, LedgerKey
from forgekeep.db.models import DomainKey, Event
from forgekeep.errors import LogKeyMissingError
from forgekeep.ledger.tlog_proof import verify_proof_file
from forgekeep.service.vault import Vault
from forgekeep.service.workspace.create import KEYRING_FILE
from forgekeep.testing.internals import context_of


def test_init_makes_the_log_key_and_journals_its_vkey(vault: Vault) -> None:
    with context_of(vault).sessions() as session:
        row = session.get(LedgerKey, vault.tenant_id)
        init = session.scalar(select(Event).where(Event.action == "workspace.init"))
    assert row is not None
    assert init is not None
    assert json.loads(init.detail)["log_key"] == row.vkey == vault.ledger.key()


def _strip_log_key(vault: Vault) -> None:
    """Make the workspace look like one made by a release without keys at init.

    Such a release had signed no checkpoint either (its key came with the first),
    so the checkpoints that closing vaults signed here go too, rows and mirror.
    """
    with context_of(vault).sessions.begin() as session:
        domain = session.scalar(select(LedgerKey.domain_key_id))
        session.execute(delete(CheckpointRow))
        session.execute(delete(LedgerKey))
        session.execute(delete(DomainKey).where(DomainKey.id == domain))
    shutil.rmtree(context_of(vault).home / "sites" / "local-de" / "ledger", ignore_errors=True)


def _state(vault: Vault) -> dict[str, Any]:
    ctx = context_of(vault)
    with ctx.sessions() as session:
        counts = {
            table.__name__: session.scalar(select(func.count()).select_from(table))
            for table in (LedgerKey, DomainKey, CheckpointRow, LedgerHash)
        }
        requests = set(session.scalars(select(Event.request_id)))
    site = ctx.home / "sites" / "local-de" / "ledger"
    mirrored = sorted(str(p) for p in site.rglob("*")) if site.exists() else []
    keyring = (ctx.home / KEYRING_FILE).read_bytes()
    return {"counts": counts, "requests": requests, "mirrored": mirrored, "keyring": keyring}


def test_reads_without_a_log_key_fail_and_create_nothing(vault: Vault, tmp_path: Path) -> None:
    vault.assets.put(io.BytesIO(b"part"), project="blade", name="part.step")
    _strip_log_key(vault)
    before = _state(vault)
    reads: list[Callable[[], object]] = [
        vault.ledger.key,
        lambda: vault.ledger.prove_inclusion(0),
        lambda: vault.assets.get("part.step", tmp_path / "out.step", receipt=True),
        vault.ledger.verify,
        vault.ledger.checkpoint,
    ]
    refused = set()
    for read in reads:
        with pytest.raises(LogKeyMissingError, match="no signing key") as caught:
            read()
        assert caught.value.hint.startswith("an admin runs `forgekeep doctor --fix`")
        refused.add(caught.value.request_id)
    after = _state(vault)
    assert after["counts"]["LedgerKey"] == before["counts"]["LedgerKey"] == 0
    assert after["counts"]["DomainKey"] == before["counts"]["DomainKey"]
    assert after["counts"]["Checkpoint"] == before["counts"]["Checkpoint"]
    assert after["mirrored"] == before["mirrored"]
    assert after["keyring"] == before["keyring"]
    # The only new rows are the reads' own events (and their leaves).
    assert after["requests"] - before["requests"] == refused


def test_an_old_workspace_is_brought_up_to_date_by_the_explicit_step(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"part"), project="blade", name="part.step")
    _strip_log_key(vault)
    made = vault.ledger.ensure_key()
    assert made.created
    again = vault.ledger.ensure_key()
    assert (again.created, again.vkey) == (False, made.vkey)
    assert vault.ledger.key() == made.vkey
    proof = vault.ledger.prove_inclusion(0).proof
    assert verify_proof_file(proof, parse_vkey(made.vkey)).index == 0
    assert vault.ledger.verify().size > 0
    with context_of(vault).sessions() as session:
        steps = session.scalars(select(Event.detail).where(Event.action == "ledger.setup")).all()
    assert [json.loads(d)["created"] for d in steps] == [True, False]
