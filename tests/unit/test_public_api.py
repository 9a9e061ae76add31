"""The top-level Python API: exactly the public names, and no anonymous mode."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

import forgekeep
from forgekeep.errors import AccessDeniedError, KeyringLockedError
from forgekeep.service.front import AdminSpec, Vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.workspaces import CHEAP_KDF


def test_all_lists_exactly_the_public_names() -> None:
    defined_here = {
        name
        for name, value in vars(forgekeep).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == "forgekeep"
    }
    lazy = {"Vault", "Workspace"}  # imported on first use, so `import forgekeep` stays light
    assert set(forgekeep.__all__) == defined_here | lazy | {"__version__"}
    assert all(hasattr(forgekeep, name) for name in forgekeep.__all__)
    assert forgekeep.Vault is Vault
    with pytest.raises(AttributeError):
        _ = forgekeep.Nothing  # type: ignore[attr-defined]


def test_workspace_inits_opens_checks_and_migrates(tmp_path: Path) -> None:
    workspace = forgekeep.Workspace(tmp_path / "ws")
    created = workspace.init(
        passphrase=b"workspace passphrase",
        admin=AdminSpec("Ada Admin", ("DE",), "DE"),
        kdf=CHEAP_KDF,
    )
    assert created.home == workspace.home
    assert workspace.migrate().changed is False  # init leaves it at this release's schema
    assert all(check.ok for check in workspace.doctor())
    assert not workspace.unlocked()
    with workspace.open(passphrase=b"workspace passphrase") as vault:
        assert vault.principal_id == created.principal_id
        assert vault.principals.whoami().principal == created.principal_id


def test_open_workspace_acts_as_the_named_principal(
    workspace: InitResult, passphrase: bytes
) -> None:
    with forgekeep.open_workspace(
        workspace.home, passphrase=passphrase, principal=workspace.principal_id
    ) as vault:
        vault.projects.create("turbine", residency="DE")
        put = vault.assets.put(io.BytesIO(b"blade"), project="turbine", name="blade.step")
        sink = io.BytesIO()
        vault.assets.get(put.asset_id, sink)
    assert sink.getvalue() == b"blade"


def test_open_workspace_as_a_stranger_is_denied(workspace: InitResult, passphrase: bytes) -> None:
    with (
        forgekeep.open_workspace(
            workspace.home, passphrase=passphrase, principal="p-000000000000000000000000"
        ) as vault,
        pytest.raises(AccessDeniedError),
    ):
        vault.assets.ls()


def test_open_workspace_without_passphrase_or_agent_is_locked(
    workspace: InitResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tempfile.mkdtemp(prefix="fk-", dir="/tmp")  # short: socket paths are limited
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    with pytest.raises(KeyringLockedError):
        forgekeep.open_workspace(workspace.home, passphrase=None, principal=workspace.principal_id)
