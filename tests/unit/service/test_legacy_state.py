"""Pre-0005 state files (legal holds, witnesses) are imported once, then renamed *.imported."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.models import Event
from forgekeep.db.state import LegalHold
from forgekeep.errors import LegacyStateError, LegalHoldError
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.service.ledger.legacy_state import (
    HOLDS_FILE,
    WITNESS_STATE_FILE,
    WITNESSES_FILE,
    import_legacy_state,
)
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.pki import TestCA

PASSPHRASE = b"correct horse battery staple"


def _person(vault: Vault, name: str) -> str:
    return vault.principals.add_person(
        org="home", display_name=name, citizenships=["DE"], location="DE", roles=["writer"]
    ).id


def _write_legacy(home: Path, tenant: str, held: str, until: dt.datetime, cacert: Path) -> str:
    holds = {
        "version": 1,
        "holds": {
            held: {
                "tenant": tenant,
                "until": until.isoformat(),
                "reason": "case 2025-4",
                "set_by": "p-someone",
                "set_at": (until - dt.timedelta(days=30)).isoformat(),
            }
        },
    }
    (home / HOLDS_FILE).write_text(json.dumps(holds))
    vkey = encode_cosigner_vkey(CosignerKey("witness.example/w1", bytes(range(32))).verifier)
    (home / WITNESSES_FILE).write_text(
        "[[witness]]\n"
        f'name = "w1"\nurl = "https://w1.example/"\nvkey = "{vkey}"\ncacert = "{cacert}"\n'
    )
    state = {"w1": {"name": "w1", "last_size": 42, "failures": [{"code": "FK-X", "size": 41}]}}
    (home / WITNESS_STATE_FILE).write_text(json.dumps(state))
    return vkey


def test_a_workspace_with_legacy_files_imports_them_once(
    vault: Vault, workspace: InitResult, clock: ManualClock, tmp_path: Path
) -> None:
    home = workspace.home
    eve = _person(vault, "Eve Example")
    until = clock.now() + dt.timedelta(days=10)
    ca = TestCA(tmp_path / "ca")
    _write_legacy(home, workspace.tenant_id, eve, until, ca.cert_path)

    with open_vault(home, passphrase=PASSPHRASE, clock=clock) as opened:
        with pytest.raises(LegalHoldError, match="legal hold"):
            opened.erasure.request(eve, reason="leaver")
        ((witness, status),) = opened.witnesses.ls()
        assert (witness.name, witness.url, status.last_size) == ("w1", "https://w1.example", 42)
        assert witness.cacert_pem == ca.cert_path.read_text()
        assert status.failures[0]["code"] == "FK-X"
        with context_of(opened).sessions() as session:
            imported = session.scalars(
                select(Event).where(Event.action == "workspace.import-state")
            ).all()
    assert len(imported) == 1
    assert json.loads(imported[0].detail)["holds"] == 1
    for name in (HOLDS_FILE, WITNESSES_FILE, WITNESS_STATE_FILE):
        assert not (home / name).exists()
        assert (home / f"{name}.imported").exists(), name  # kept, never dropped

    # A second copy of the files (a restore, a crash before the rename): nothing doubles,
    # no hold is shortened, and the earlier *.imported files are kept.
    _write_legacy(home, workspace.tenant_id, eve, until - dt.timedelta(days=5), ca.cert_path)
    report = import_legacy_state(context_of(vault))
    assert (report.holds, report.witnesses) == (1, 0)
    assert (home / f"{HOLDS_FILE}.imported-2").exists()
    assert len(vault.witnesses.ls()) == 1
    with context_of(vault).sessions() as session:
        hold = session.get(LegalHold, (workspace.tenant_id, eve))
    assert hold is not None
    assert hold.until == until


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (HOLDS_FILE, "{not json"),
        (HOLDS_FILE, '{"holds": {"p-x": {"tenant": "t-other", "until": "2099-01-01T00:00:00Z"}}}'),
        (HOLDS_FILE, '{"holds": []}'),
        (WITNESSES_FILE, "[[witness]]\nname = 'w1'\n"),
        (WITNESSES_FILE, "not toml ["),
        (WITNESS_STATE_FILE, '{"w1": {"last_size": "many"}}'),
    ],
)
def test_a_malformed_legacy_file_is_a_clear_error_never_no_holds(
    vault: Vault, workspace: InitResult, clock: ManualClock, name: str, text: str
) -> None:
    (workspace.home / name).write_text(text)
    with pytest.raises(LegacyStateError, match=name.split(".", maxsplit=1)[0]) as caught:
        open_vault(workspace.home, passphrase=PASSPHRASE, clock=clock)
    assert caught.value.code == "FK-CONFIG-003"
    assert (workspace.home / name).exists()  # left in place, for the operator to repair


def test_a_legacy_hold_on_an_unknown_principal_or_a_missing_ca_bundle_is_refused(
    vault: Vault, workspace: InitResult, clock: ManualClock, tmp_path: Path
) -> None:
    home = workspace.home
    _write_legacy(home, workspace.tenant_id, "p-" + "0" * 24, clock.now(), tmp_path / "nope.pem")
    with pytest.raises(LegacyStateError, match="CA bundle"):
        import_legacy_state(context_of(vault))
    (home / WITNESSES_FILE).unlink()
    with pytest.raises(LegacyStateError, match="unknown principal"):
        import_legacy_state(context_of(vault))
    with context_of(vault).sessions() as session:
        assert session.scalars(select(LegalHold)).all() == []  # nothing half-imported
