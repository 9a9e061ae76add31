"""A log broken at its tail: its newest ``events`` row deleted, its hashes left behind.

No entry can be added, so every journaled command fails closed; ``doctor`` and
``ledger verify`` still say where it broke, and ``ledger repair`` mends it.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import ledger_attacker
import pytest
from fk_cli_harness import PROJECT, InProcess, query

from forgekeep.clock import ManualClock
from forgekeep.errors import JournalError, UsageError
from forgekeep.ledger import merkle
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult


def _tenant(fk: InProcess, w: tuple[str, str]) -> str:
    return str(fk(*w, "--json", "status").json()["tenant"])


def test_broken_tail_is_diagnosed_and_restored_from_an_export(
    fk: InProcess, ws: Path, tmp_path: Path
) -> None:
    w = ("--workspace", str(ws))
    source = tmp_path / "part.step"
    source.write_bytes(b"ISO-10303-21; part")
    fk(*w, "put", str(source), "--project", PROJECT).ok()
    tenant = _tenant(fk, w)
    export = tmp_path / "export"
    fk(*w, "ledger", "export", str(export)).ok()  # holds its own event, the newest

    lost = ledger_attacker.delete_newest(ws, tenant)

    refused = fk(*w, "ls")
    assert "FK-AUTHZ" not in refused.error("FK-JOURNAL-001", 1)
    assert "forgekeep doctor" in refused.stderr
    doctor = fk(*w, "doctor", "--json")
    assert doctor.code == 4, doctor
    (ledger,) = [c for c in doctor.parsed() if c["name"] == "ledger"]
    assert not ledger["ok"]
    assert f"entries {lost} to {lost} are missing" in ledger["detail"]
    verify = fk(*w, "ledger", "verify", "--json")
    assert verify.code == 4, verify
    report = verify.parsed()
    assert [(f["kind"], f["index"]) for f in report["findings"]] == [("broken-tail", lost)]
    assert (report["journaled"], report["size"]) == (False, lost + 1)

    # The lost entry is covered by the checkpoint the export signed: never dropped.
    dropped = fk(*w, "ledger", "repair", "--drop-uncovered")
    assert "FK-CONFLICT-001" in dropped.error("FK-JOURNAL-001", 1)
    fk(*w, "ledger", "repair", "--from-export", str(export)).ok()

    assert fk(*w, "ledger", "verify", "--json").json()["findings"] == []
    assert all(c["ok"] for c in fk(*w, "doctor", "--json").json())
    lines = (export / "entries.jsonl").read_bytes().splitlines()
    assert fk(*w, "ledger", "entry", str(lost)).ok().stdout == lines[lost]
    actions = [e["action"] for e in fk(*w, "ledger", "ls", "--limit", "1000", "--json").json()]
    assert "ledger.repair" in actions


def test_a_forged_export_restores_nothing(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    tenant = _tenant(fk, w)
    export = tmp_path / "export"
    fk(*w, "ledger", "export", str(export)).ok()
    entries = export / "entries.jsonl"
    lines = entries.read_bytes().splitlines(keepends=True)
    entries.write_bytes(b"".join([*lines[:-1], lines[-1].replace(b'"ok"', b'"denied"')]))
    lost = ledger_attacker.delete_newest(ws, tenant)
    refused = fk(*w, "ledger", "repair", "--from-export", str(export))
    assert f"entry {lost} of the export is not the entry the log hashed" in refused.stderr
    assert fk(*w, "ledger", "verify", "--json").parsed()["findings"][0]["kind"] == "broken-tail"


def test_uncovered_missing_entries_can_be_dropped_with_evidence(
    workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    home = workspace.home
    vault = open_vault(home, passphrase=passphrase, clock=clock)
    with pytest.raises(UsageError, match="not broken"):
        vault.ledger.repair(drop_uncovered=True)
    vault.projects.create("blade", residency="DE")
    vault.assets.put(io.BytesIO(b"x"), project="blade", name="x.step")
    # The process dies here, before its vault signs a checkpoint; then a row is lost.
    lost = ledger_attacker.delete_newest(home, vault.tenant_id)
    ((leaf,),) = query(
        home,
        "SELECT hash FROM ledger_hashes WHERE idx = ?",
        merkle.stored_hash_count(lost),
    )
    with pytest.raises(JournalError):
        vault.assets.put(io.BytesIO(b"y"), project="blade", name="y.step")
    with open_vault(home, passphrase=passphrase, clock=clock) as mender:
        done = mender.ledger.repair(drop_uncovered=True)
        assert (done.first, done.last, done.restored) == (lost, lost, False)
        assert mender.ledger.verify().ok
        evidence = json.loads(mender.ledger.entry(lost))  # the repair's own entry, at that index
        assert evidence["action"] == "ledger.repair"
        assert evidence["detail"]["dropped_leaves"] == base64.b64encode(leaf).decode()
    vault.close()


def test_an_unauthorized_verify_of_a_broken_log_fails_closed(
    workspace: InitResult, clock: ManualClock, passphrase: bytes
) -> None:
    home = workspace.home
    with open_vault(home, passphrase=passphrase, clock=clock) as admin:
        reader = admin.principals.add_person(
            org="home", display_name="Rita Reader", citizenships=["DE"], location="DE",
            roles=["reader"],
        ).id  # fmt: skip
        tenant = admin.tenant_id
    ledger_attacker.delete_newest(home, tenant)
    with open_vault(home, passphrase=passphrase, clock=clock, principal=reader) as rita:
        with pytest.raises(JournalError, match="FK-AUTHZ-001") as refused:
            rita.ledger.verify()  # no report: its refusal cannot be recorded
        assert "doctor" in refused.value.hint
