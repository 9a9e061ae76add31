"""Regression tests for the security review of the vault core."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.engine import make_engine, migrate
from forgekeep.db.models import Event
from forgekeep.errors import ConflictError, ForgekeepError, StorageError, UsageError
from forgekeep.service.assets import writing as assets
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of


def test_get_refuses_to_write_inside_the_workspace_or_a_site(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"plaintext"), project="blade", name="r.txt")
    home = context_of(vault).home
    keyring_before = (home / "keyring.fk").read_bytes()
    for target in (home / "keyring.fk", home / "sites" / "local-de" / "x", home / "new.txt"):
        with pytest.raises(UsageError):
            vault.assets.get("r.txt", target)
    assert (home / "keyring.fk").read_bytes() == keyring_before
    assert not (home / "new.txt").exists()


def test_a_missing_site_root_is_an_error_not_a_new_folder(
    workspace: InitResult, passphrase: bytes, clock: ManualClock
) -> None:
    site = workspace.home / "sites" / "local-de"
    shutil.rmtree(site)
    with pytest.raises(StorageError):
        open_vault(workspace.home, passphrase=passphrase, clock=clock)
    assert not site.exists()


def test_two_puts_creating_one_name_conflict_cleanly(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_store = assets._encrypt_and_store

    def rival_first(*args: object) -> object:
        monkeypatch.setattr(assets, "_encrypt_and_store", real_store)
        vault.assets.put(io.BytesIO(b"rival"), project="blade", name="same.step")
        return real_store(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(assets, "_encrypt_and_store", rival_first)
    with pytest.raises(ConflictError):
        vault.assets.put(io.BytesIO(b"mine"), project="blade", name="same.step")
    sink = io.BytesIO()
    vault.assets.get("same.step", sink)
    assert sink.getvalue() == b"rival"
    assert vault.assets.fsck().clean


def test_an_unexpected_error_is_refused_and_journaled(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> object:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(assets, "_plan", broken)
    with pytest.raises(ForgekeepError) as caught:
        vault.assets.put(io.BytesIO(b"x"), project="blade", name="x")
    assert caught.value.code == "FK-GEN-000"
    with context_of(vault).sessions() as session:
        last = session.scalars(select(Event).order_by(Event.seq.desc())).first()
    assert last is not None
    assert (last.action, last.outcome) == ("asset.put", "error")
    assert json.loads(last.detail) == {"code": "FK-GEN-000"}
    assert last.request_id == caught.value.request_id


def test_migrations_run_with_foreign_keys_off_and_leave_them_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
