"""``forgekeep ledger`` and ``get --receipt`` through the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import ledger_attacker
from fk_cli_harness import SITE, InProcess, execute, query

from forgekeep.crypto.signed import parse_vkey
from forgekeep.errors import EXIT_FINDINGS
from forgekeep.ledger import merkle
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.ledger.tlog_proof import verify_proof_file


def test_receipt_checkpoint_proofs_and_offline_verification(
    fk: InProcess, ws: Path, tmp_path: Path
) -> None:
    w = ("--workspace", str(ws))
    source = tmp_path / "part.step"
    source.write_bytes(b"ISO-10303-21; part")
    fk(*w, "put", str(source), "--project", "p1").ok()
    receipt = tmp_path / "read.tlog-proof"
    fk(*w, "get", "part.step", "-o", str(tmp_path / "out.step"), "--receipt", str(receipt)).ok()
    vkey = fk(*w, "ledger", "key").ok().out.strip()
    checked = fk("ledger", "verify-proof", str(receipt), "--key", vkey, "--json").json()
    assert checked["entry"]["action"] == "asset.get"
    assert checked["origin"] == vkey.split("+")[0]

    trusted = tmp_path / "trusted.note"
    fk(*w, "ledger", "checkpoint", "-o", str(trusted)).ok()
    assert trusted.read_text().startswith(checked["origin"] + "\n")
    fk(*w, "ledger", "checkpoint", "-o", str(trusted)).error("FK-CONFLICT-001", 1)
    report = fk(*w, "ledger", "verify", "--trusted-checkpoint", str(trusted), "--json").json()
    assert report["trusted_size"] >= checked["size"]

    proof = tmp_path / "entry0.tlog-proof"
    fk(*w, "ledger", "prove", "inclusion", "0", "-o", str(proof), "--wait", "1").ok()
    fk(*w, "get", "part.step", "-o", str(tmp_path / "again.step"), "--wait", "5").error(
        "FK-USAGE-001", 2
    )
    assert proof.read_bytes().startswith(b"c2sp.org/tlog-proof@v1\n")
    assert fk(*w, "ledger", "entry", "0").ok().out.startswith('{"action":')
    consistency = fk(*w, "ledger", "prove", "consistency", "1", "3", "--json").json()
    assert consistency["old"] == 1
    assert len(consistency["proof"]) >= 1

    tampered = tmp_path / "tampered.tlog-proof"
    tampered.write_bytes(receipt.read_bytes().replace(b"index ", b"index 1", 1))
    fk("ledger", "verify-proof", str(tampered), "--key", vkey).error("FK-LEDGER-001", 1)
    fk(*w, "ledger", "entry", "999999").error("FK-USAGE-001", 2)


def test_ls_export_and_offline_verify(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    source = tmp_path / "part.step"
    source.write_bytes(b"ISO-10303-21; part")
    fk(*w, "put", str(source), "--project", "p1").ok()
    listed = fk(*w, "ledger", "ls", "--asset", "part.step", "--json").json()
    assert [e["action"] for e in listed] == ["asset.put"]
    me = fk(*w, "whoami", "--json").json()["principal"]
    mine = fk(*w, "ledger", "ls", "--principal", me, "--since", "2000-01-01", "--json").json()
    assert len(mine) >= len(listed)
    fk(*w, "ledger", "ls", "--since", "yesterday").error("FK-USAGE-001", 2)

    vkey = fk(*w, "ledger", "key").ok().out.strip()
    export = tmp_path / "export"
    fk(*w, "ledger", "export", str(export)).ok()
    fk(*w, "ledger", "export", str(export)).error("FK-CONFIG-002", 1)
    report = fk("ledger", "verify", "--from-export", str(export), "--key", vkey, "--json").json()
    assert (report["size"] >= 1, report["cosigned_by"]) == (True, [])
    stranger = encode_cosigner_vkey(CosignerKey("witness.example/w9", bytes(32)).verifier)
    offline = ("ledger", "verify", "--from-export", str(export), "--key", vkey)
    fk(*offline, "--witness", stranger, "--quorum", "1").error("FK-LEDGER-002", 1)
    fk(*offline, "--quorum", "1").error("FK-USAGE-001", 2)  # more than the keys given
    fk(*offline, "--max-age", "60").error("FK-USAGE-001", 2)  # no witness to age
    fk(*offline, "--witness", stranger, "--max-age", "0").error("FK-USAGE-001", 2)
    fk(*offline, "--witness", stranger, "--max-age", "60", "--json").ok()  # quorum 0: nothing due
    fk(*w, "ledger", "verify", "--witness", stranger, "--quorum", "1").error("FK-LEDGER-002", 1)
    fk("ledger", "verify", "--from-export", str(export)).error("FK-USAGE-001", 2)
    entries = export / "entries.jsonl"
    lines = entries.read_bytes().splitlines(keepends=True)
    entries.write_bytes(b"".join([lines[-1], *lines[1:-1], lines[0]]))  # reordered
    fk("ledger", "verify", "--from-export", str(export), "--key", vkey).error("FK-LEDGER-003", 1)


def test_checkpoint_follow_keeps_a_file_signed(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    latest = tmp_path / "latest.note"
    run = fk(*w, "ledger", "checkpoint", "--follow", "--interval", "0.05", "--ticks", "2",
             "-o", str(latest)).ok()  # fmt: skip
    # The follower's own start event grew the log: the first tick signed it, the
    # second found nothing new (so no second line).
    assert run.stderr.count("checkpoint ") == 1
    vkey = fk(*w, "ledger", "key").ok().out.strip()
    report = fk(*w, "ledger", "verify", "--trusted-checkpoint", str(latest), "--json").json()
    assert report["trusted_size"] >= 1
    assert latest.read_text().startswith(vkey.split("+")[0] + "\n")
    fk(*w, "ledger", "checkpoint", "--follow", "--interval", "0.01").error("FK-USAGE-001", 2)


def test_doctor_reports_a_missing_log_key_and_fix_makes_it(fk: InProcess, ws: Path) -> None:
    w = ("--workspace", str(ws))
    execute(ws, "DELETE FROM ledger_keys")  # as a workspace made by an older release
    fk(*w, "ledger", "key").error("FK-LEDGER-010", 1)
    report = fk(*w, "doctor", "--json")
    assert report.code == EXIT_FINDINGS
    (check,) = [c for c in report.parsed() if c["name"] == "log key"]
    assert not check["ok"]
    assert "doctor --fix" in check["detail"]
    fixed = fk(*w, "doctor", "--fix", "--json").ok().json()
    assert all(c["ok"] for c in fixed)
    vkey = fk(*w, "ledger", "key").ok().out.strip()
    assert fk(*w, "doctor", "--fix").ok().stderr.count(f"already present: {vkey}") == 1


def test_entry_prints_exactly_the_hashed_bytes(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    printed = fk(*w, "ledger", "entry", "2").ok().stdout
    assert not printed.endswith(b"\n")
    proof = tmp_path / "entry2.tlog-proof"
    fk(*w, "ledger", "prove", "inclusion", "2", "-o", str(proof)).ok()
    vkey = parse_vkey(fk(*w, "ledger", "key").ok().out.strip())
    verified = verify_proof_file(proof.read_bytes(), vkey)
    assert verified.entry == printed  # the proof's inclusion path starts from this leaf
    ((stored,),) = query(
        ws, "SELECT hash FROM ledger_hashes WHERE idx = ?", merkle.stored_hash_count(2)
    )
    assert hashlib.sha256(b"\x00" + printed).digest() == stored


def test_a_rewritten_tail_exits_4(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    """Delete an event, rehash the tail, delete later checkpoints: no passphrase needed."""
    config = ws / "forgekeep.toml"
    text = config.read_text()
    assert "max_uncovered_seconds = 900" in text  # init writes the default
    config.write_text(text.replace("max_uncovered_seconds = 900", "max_uncovered_seconds = 0"))
    w = ("--workspace", str(ws))
    tenant = fk(*w, "--json", "status").json()["tenant"]
    source = tmp_path / "part.step"
    source.write_bytes(b"ISO-10303-21; part")
    fk(*w, "put", str(source), "--project", "p1").ok()
    assert fk(*w, "ledger", "verify", "--json").json()["uncovered"] is None
    victim = max(e["index"] for e in fk(*w, "ledger", "ls", "--json").json()
                 if e["action"] == "asset.put")  # fmt: skip

    ledger_attacker.delete_and_rehash(ws, ws / SITE, tenant, victim)

    result = fk(*w, "ledger", "verify", "--json")
    assert result.code == 4, result
    report = result.parsed()
    assert report["uncovered"]["first"] <= victim
    assert "uncovered-too-long" in [f["kind"] for f in report["findings"]]
    assert "not signing over them" in result.stderr  # nor does the vault that ran verify
    text = fk(*w, "ledger", "verify")
    assert text.code == 4
    assert "uncovered-too-long: entries" in text.out
