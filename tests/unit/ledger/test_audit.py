"""Offline checks of an export: bad files are refused, never half-trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgekeep.crypto.signed import generate_signer
from forgekeep.errors import CheckpointError, InputMissingError, LimitExceededError, ProofError
from forgekeep.ledger import audit, merkle
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerKey

KEY = generate_signer("forgekeep/t-audit")
ENTRIES = [b'{"i":%d}' % i for i in range(5)]


def _export(tmp_path: Path, entries: list[bytes] = ENTRIES, *, newline: bool = True) -> Path:
    directory = tmp_path / "export"
    directory.mkdir()
    text = b"\n".join(entries) + (b"\n" if newline else b"")
    (directory / audit.ENTRIES_FILE).write_bytes(text)
    tree = audit.rebuild(ENTRIES)
    note = sign_checkpoint(Checkpoint(KEY.name, tree.size, merkle.tree_hash(tree.size, tree)), KEY)
    (directory / audit.CHECKPOINT_FILE).write_bytes(note)
    return directory


def test_a_good_export_verifies(tmp_path: Path) -> None:
    report = audit.verify_export(_export(tmp_path), KEY.verifier)
    assert (report.size, report.checkpoint_size, report.trusted_size) == (5, 5, None)


def test_a_cut_short_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProofError, match="cut short"):
        audit.verify_export(_export(tmp_path, newline=False), KEY.verifier)


def test_missing_and_oversized_files_are_refused(tmp_path: Path) -> None:
    directory = _export(tmp_path)
    (directory / audit.CHECKPOINT_FILE).write_bytes(b"x" * (audit.MAX_NOTE_BYTES + 1))
    with pytest.raises(LimitExceededError):
        audit.verify_export(directory, KEY.verifier)
    (directory / audit.ENTRIES_FILE).unlink()
    with pytest.raises(InputMissingError):
        audit.verify_export(directory, KEY.verifier)
    (directory / audit.CHECKPOINT_FILE).unlink()
    (directory / audit.ENTRIES_FILE).write_bytes(b"")
    with pytest.raises(InputMissingError):
        audit.verify_export(directory, KEY.verifier)


def test_a_quorum_needs_a_checkpoint_to_count_on() -> None:
    key = generate_signer("example.com/log").verifier
    witness = CosignerKey("witness.example/w1", bytes(32)).verifier
    assert audit.WitnessPolicy().cosigners(None, key) == []
    with pytest.raises(CheckpointError, match="no checkpoint"):
        audit.WitnessPolicy((witness,), 1).cosigners(None, key)
