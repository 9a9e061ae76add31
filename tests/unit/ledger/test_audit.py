"""The one verifier, offline on an export: bad files are refused, never half-trusted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from forgekeep.crypto.signed import generate_signer
from forgekeep.errors import CheckpointError, InputMissingError, LimitExceededError, ProofError
from forgekeep.ledger import audit, merkle
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerKey
from forgekeep.ledger.log import event_entry
from forgekeep.ledger.verifier import verify_export
from forgekeep.limits import MAX_NOTE_BYTES

KEY = generate_signer("forgekeep/t-audit")
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def entry(i: int, at: dt.datetime = NOW) -> bytes:
    fields = {
        "tenant": "t-audit", "at": at.isoformat(), "request": f"req-{i:016x}", "actor": "p-1",
        "action": "asset.get", "outcome": "ok", "target": f"a-{i}",
    }  # fmt: skip
    return event_entry(fields, {"n": i})[0]


ENTRIES = [entry(i) for i in range(5)]


def _export(
    tmp_path: Path, entries: list[bytes] = ENTRIES, *, newline: bool = True, signed: int = 5
) -> Path:
    directory = tmp_path / "export"
    directory.mkdir()
    text = b"\n".join(entries) + (b"\n" if newline else b"")
    (directory / audit.ENTRIES_FILE).write_bytes(text)
    tree = audit.rebuild(entries[:signed])
    note = sign_checkpoint(Checkpoint(KEY.name, tree.size, merkle.tree_hash(tree.size, tree)), KEY)
    (directory / audit.CHECKPOINT_FILE).write_bytes(note)
    return directory


def test_a_good_export_verifies(tmp_path: Path) -> None:
    report = verify_export(_export(tmp_path), KEY.verifier, now=NOW)
    assert (report.size, report.covered_size, report.trusted_size) == (5, 5, None)
    assert (report.source, report.ok, report.uncovered, report.findings) == (
        "export",
        True,
        None,
        (),
    )


def test_entries_past_an_exports_checkpoint_are_findings(tmp_path: Path) -> None:
    """An export's checkpoint covers all it holds; anything more was added later."""
    later = [*ENTRIES, entry(5, NOW + dt.timedelta(seconds=1))]
    report = verify_export(_export(tmp_path, later), KEY.verifier, now=NOW)
    assert report.uncovered is not None
    assert (report.uncovered.first, report.uncovered.last) == (5, 5)
    assert report.uncovered.oldest == NOW + dt.timedelta(seconds=1)
    assert [(f.kind, f.index) for f in report.findings] == [("uncovered-too-long", 5)]


def test_an_entry_that_is_not_an_entry_is_a_finding(tmp_path: Path) -> None:
    odd = [*ENTRIES[:2], b'{"i":2}', *ENTRIES[3:]]
    report = verify_export(_export(tmp_path, odd), KEY.verifier, now=NOW)
    assert [(f.kind, f.index) for f in report.findings] == [("bad-entry", 2)]


def test_a_cut_short_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProofError, match="cut short"):
        verify_export(_export(tmp_path, newline=False), KEY.verifier, now=NOW)


def test_missing_and_oversized_files_are_refused(tmp_path: Path) -> None:
    directory = _export(tmp_path)
    (directory / audit.CHECKPOINT_FILE).write_bytes(b"x" * (MAX_NOTE_BYTES + 1))
    with pytest.raises(LimitExceededError):
        verify_export(directory, KEY.verifier, now=NOW)
    (directory / audit.ENTRIES_FILE).unlink()
    with pytest.raises(InputMissingError):
        verify_export(directory, KEY.verifier, now=NOW)
    (directory / audit.CHECKPOINT_FILE).unlink()
    (directory / audit.ENTRIES_FILE).write_bytes(b"")
    with pytest.raises(InputMissingError):
        verify_export(directory, KEY.verifier, now=NOW)


def test_a_quorum_needs_a_checkpoint_to_count_on() -> None:
    key = generate_signer("example.com/log").verifier
    witness = CosignerKey("witness.example/w1", bytes(32)).verifier
    assert audit.WitnessPolicy().cosigners(None, key) == []
    with pytest.raises(CheckpointError, match="no checkpoint"):
        audit.WitnessPolicy((witness,), 1).cosigners(None, key)
