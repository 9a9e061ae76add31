"""Checks of a log that need only its entries and its key: the parts that
:mod:`forgekeep.ledger.verifier` puts together for a live log and an export.

Security rule: nothing here trusts stored hashes or checkpoints it did not
verify itself. The tree is rebuilt from the entries; a checkpoint counts only
when its signature verifies under the key the auditor supplies, and a trusted
checkpoint the log no longer contains — unchanged — is a :class:`ForkError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from forgekeep.crypto.signed import VerifierKey
from forgekeep.errors import (
    CheckpointError,
    ForkError,
    InputMissingError,
    LimitExceededError,
    ProofError,
)
from forgekeep.ledger import merkle
from forgekeep.ledger.checkpoint import verify_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey

ENTRIES_FILE: Final = "entries.jsonl"
CHECKPOINT_FILE: Final = "checkpoint.note"
KEY_FILE: Final = "log.vkey"
MAX_ENTRY_BYTES: Final = 1 << 20


def rebuild(leaves: Iterable[bytes]) -> merkle.MemoryHashes:
    """Every stored hash rebuilt from the entries alone."""
    rebuilt = merkle.MemoryHashes()
    for entry in leaves:
        rebuilt.append(entry)
    return rebuilt


def check_checkpoint(rebuilt: merkle.MemoryHashes, note: bytes, key: VerifierKey) -> int:
    """A signed checkpoint of this log must describe a prefix of the rebuilt tree."""
    checkpoint = verify_checkpoint(note, key).checkpoint
    if checkpoint.size > rebuilt.size:
        raise ForkError(
            f"the log has {rebuilt.size} entries but a checkpoint it signed has"
            f" {checkpoint.size}: it was rolled back"
        )
    if merkle.tree_hash(checkpoint.size, rebuilt) != checkpoint.root_hash:
        raise ForkError(
            f"the first {checkpoint.size} entries do not give the checkpoint's root:"
            " history was rewritten"
        )
    return checkpoint.size


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Witness keys taken out of band, and how many of them must have cosigned."""

    keys: Sequence[CosignerVerifierKey] = ()
    quorum: int = 0
    not_before: int | None = None  # POSIX seconds: older cosignatures are stale

    def cosigners(self, note: bytes | None, key: VerifierKey) -> list[str]:
        """The trusted witnesses that cosigned ``note``; fewer than the quorum fails."""
        if note is None:
            if self.quorum:
                raise CheckpointError("there is no checkpoint to check the witness quorum on")
            return []
        verified = verify_checkpoint(note, key, self.keys, self.quorum, not_before=self.not_before)
        return sorted(verified.cosigned_at)


def read_bounded(path: Path, limit: int) -> bytes:
    """A file of at most ``limit`` bytes (an export's checkpoint)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > limit:
        raise LimitExceededError(f"{path} is larger than {limit} bytes")
    return data


def export_entries(directory: Path) -> Iterator[bytes]:
    """The entries of an export, in order, one canonical JSON document per line."""
    path = directory / ENTRIES_FILE
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(handle):
            if len(line) > MAX_ENTRY_BYTES or not line.endswith(b"\n"):
                raise ProofError(f"{ENTRIES_FILE} line {number + 1} is cut short or too long")
            yield line[:-1]
