"""Offline-verifiable log proofs in the c2sp.org/tlog-proof@v1 format.

A proof file is newline-separated lines::

    c2sp.org/tlog-proof@v1
    extra <base64 of the canonical log entry>
    index <decimal, no leading zeros>
    <base64 inclusion-proof hash, leaf sibling first> (zero or more)
    <empty line>
    <the checkpoint note, verbatim>

Forgekeep always writes the ``extra`` line, carrying the entry itself: the
spec leaves extra data opaque and unauthenticated, and here it is authenticated
by the inclusion proof of SHA-256(0x00 ‖ entry) under a signed checkpoint.

Security rules:

* A proof file is bounded by ``limits.MAX_TLOG_PROOF_BYTES`` and its inclusion
  proof by ``limits.MAX_INCLUSION_PROOF_HASHES`` before it is decoded or split
  (:class:`LimitExceededError`); the checkpoint note by the note limits.
* Parsing is strict: exact header, optional ``extra`` line, canonical base64,
  32-byte hashes, decimal index with no leading zeros, one empty line. A
  malformed file is :class:`CheckpointError` (FK-LEDGER-002).
* :func:`verify_proof_file` returns the entry only after the checkpoint's log
  signature, the witness quorum and the inclusion proof all verified; a failed
  inclusion proof is :class:`ProofError` (FK-LEDGER-001). The extra data is
  never trusted on its own.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from forgekeep import limits
from forgekeep.crypto.signed import VerifierKey
from forgekeep.errors import CheckpointError, LimitExceededError, UsageError
from forgekeep.ledger import merkle
from forgekeep.ledger.checkpoint import Checkpoint, verify_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey
from forgekeep.ledger.note import b64decode_strict, parse_note

HEADER: Final = "c2sp.org/tlog-proof@v1"
HASH_SIZE: Final = 32
MAX_INDEX: Final = (1 << 63) - 2
_INDEX_RE: Final = re.compile(r"index (0|[1-9][0-9]{0,18})")
_HINT: Final = "a tlog proof is c2sp.org/tlog-proof@v1, extra, index, hashes, blank, checkpoint"


@dataclass(frozen=True, slots=True)
class TlogProof:
    """A parsed proof file; nothing in it is verified."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: bytes
    extra: bytes | None = None


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """A log entry proven included in a checkpoint the log signed and witnesses cosigned."""

    entry: bytes
    index: int
    checkpoint: Checkpoint
    cosigned_at: Mapping[str, int]


def _check_args(index: int, hashes: Sequence[bytes], extra: bytes | None) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise UsageError("a proof index is an integer from 0 to 2**63 - 2")
    if len(hashes) > limits.MAX_INCLUSION_PROOF_HASHES:
        raise UsageError(
            f"an inclusion proof is at most {limits.MAX_INCLUSION_PROOF_HASHES} hashes"
        )
    if not all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes):
        raise UsageError(f"inclusion proof hashes are {HASH_SIZE} bytes each")
    if extra is not None and not isinstance(extra, bytes):
        raise UsageError("extra data is bytes or None")


def write_proof(
    checkpoint_note: bytes, index: int, hashes: Sequence[bytes], extra: bytes | None
) -> bytes:
    """The proof file for entry ``index`` with inclusion proof ``hashes`` under the note."""
    _check_args(index, hashes, extra)
    parse_note(checkpoint_note)  # a proof never carries a malformed note
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {base64.b64encode(extra).decode('ascii')}")
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode("ascii") for h in hashes)
    data = ("\n".join(lines) + "\n\n").encode("ascii") + bytes(checkpoint_note)
    if len(data) > limits.MAX_TLOG_PROOF_BYTES:
        raise LimitExceededError(f"a proof file is at most {limits.MAX_TLOG_PROOF_BYTES} bytes")
    return data


def _split(data: bytes) -> tuple[list[str], bytes]:
    """Header lines (ASCII, non-empty) and the checkpoint note after the first blank line."""
    end = data.find(b"\n\n")
    if end < 0:
        raise CheckpointError("a proof file has no empty line before its checkpoint", hint=_HINT)
    lines = data[:end].split(b"\n")
    if len(lines) > limits.MAX_INCLUSION_PROOF_HASHES + 3:
        raise LimitExceededError(
            f"an inclusion proof is at most {limits.MAX_INCLUSION_PROOF_HASHES} hashes"
        )
    try:
        text = [line.decode("ascii") for line in lines]
    except UnicodeDecodeError:
        raise CheckpointError("proof header lines are ASCII", hint=_HINT) from None
    if any(ord(c) < 0x20 for line in text for c in line):
        raise CheckpointError("proof header lines hold no control characters", hint=_HINT)
    return text, data[end + 2 :]


def parse_proof(data: bytes) -> TlogProof:
    """Parse a proof file strictly. Nothing is verified: see :func:`verify_proof_file`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError("a proof file is read from bytes")
    data = bytes(data)
    if len(data) > limits.MAX_TLOG_PROOF_BYTES:
        raise LimitExceededError(f"a proof file is at most {limits.MAX_TLOG_PROOF_BYTES} bytes")
    lines, note = _split(data)
    if lines[0] != HEADER:
        raise CheckpointError(f"a proof file starts with {HEADER}", hint=_HINT)
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = b64decode_strict(rest.pop(0)[len("extra ") :], "the extra data")
    match = _INDEX_RE.fullmatch(rest[0]) if rest else None
    if match is None or int(match.group(1)) > MAX_INDEX:
        raise CheckpointError("a proof file's index line is 'index <decimal>'", hint=_HINT)
    hashes = tuple(b64decode_strict(line, "a proof hash") for line in rest[1:])
    if any(len(h) != HASH_SIZE for h in hashes):
        raise CheckpointError(f"proof hashes are {HASH_SIZE} bytes each", hint=_HINT)
    if len(hashes) > limits.MAX_INCLUSION_PROOF_HASHES:
        raise LimitExceededError(
            f"an inclusion proof is at most {limits.MAX_INCLUSION_PROOF_HASHES} hashes"
        )
    parse_note(note)
    return TlogProof(int(match.group(1)), hashes, note, extra)


def verify_proof_file(
    data: bytes,
    log_vkey: VerifierKey,
    witness_vkeys: Sequence[CosignerVerifierKey] = (),
    quorum: int = 0,
    *,
    not_before: int | None = None,
) -> VerifiedEntry:
    """The entry in a proof file, once its checkpoint, witness quorum and inclusion verify.

    Raises :class:`CheckpointError` for a malformed file or checkpoint, a bad or
    missing signature, or too few (fresh: see ``not_before`` in
    :func:`verify_checkpoint`) cosignatures; :class:`ProofError` when the
    entry is not included at ``index`` under the checkpoint's root.
    """
    proof = parse_proof(data)
    verified = verify_checkpoint(
        proof.checkpoint_note, log_vkey, witness_vkeys, quorum, not_before=not_before
    )
    if proof.extra is None:
        raise CheckpointError("the proof file carries no entry (no extra line)", hint=_HINT)
    checkpoint = verified.checkpoint
    merkle.verify_inclusion(
        merkle.leaf_hash(proof.extra),
        proof.index,
        checkpoint.size,
        list(proof.hashes),
        checkpoint.root_hash,
    )
    return VerifiedEntry(proof.extra, proof.index, checkpoint, verified.cosigned_at)
