"""Transparency-log checkpoints (c2sp.org/tlog-checkpoint@v1.0.0) and their
witness cosignatures (c2sp.org/tlog-cosignature@v1.0.1, Ed25519 type 0x04).

A checkpoint is a signed note whose text is the origin line, the tree size in
decimal, the base64 root hash, and optional non-empty extension lines, each
ending in a newline. The log signs it as an Ed25519 (type 0x01) note signature;
witnesses add cosignature lines whose signature is ``uint64 timestamp ‖
Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" ‖ body``.

Security rules:

* The checkpoint text is used only after the log's signature over the exact
  bytes verified (:func:`verify_checkpoint`); the origin must then equal the
  expected origin, which defaults to the log key's name.
* Parsing is strict: at least three non-empty lines, a tree size with no
  leading zero and at most 2**63 - 1, a 32-byte root in canonical base64, and
  non-empty extension lines. Anything else is :class:`CheckpointError`.
* The witness policy fails closed: quorum is an int from 0 to the number of
  distinct witness keys. A bad cosignature by a trusted witness rejects the
  checkpoint; unknown cosignatures are ignored; one witness counts once.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from forgekeep import limits
from forgekeep.crypto.signed import SignerKey, VerifierKey
from forgekeep.errors import CheckpointError, LimitExceededError, UsageError
from forgekeep.ledger.cosigner_keys import CosignerKey, CosignerVerifierKey
from forgekeep.ledger.note import (
    Note,
    NoteSignature,
    b64decode_strict,
    parse_note,
    sign_note,
    verify_note,
    verify_signatures,
)

HASH_SIZE: Final = 32
MAX_TREE_SIZE: Final = (1 << 63) - 1
_SIZE_RE: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_HINT: Final = "a checkpoint is origin, tree size, base64 root hash and extension lines"


def _line_problem(line: object, what: str) -> str | None:
    if not isinstance(line, str) or not line:
        return f"the {what} is a non-empty string"
    if any(ord(char) < 0x20 for char in line):
        return f"the {what} holds no control character or newline"
    return None


def _field_problem(
    origin: object, size: object, root_hash: object, extensions: object
) -> str | None:
    problem = _line_problem(origin, "origin")
    if problem is not None:
        return problem
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        return "the tree size is an integer from 0 to 2**63 - 1"
    if not isinstance(root_hash, bytes) or len(root_hash) != HASH_SIZE:
        return f"the root hash is {HASH_SIZE} bytes"
    if not isinstance(extensions, tuple):
        return "the extension lines are a tuple of strings"
    for line in extensions:
        problem = _line_problem(line, "extension line")
        if problem is not None:
            return problem
    return None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = _field_problem(self.origin, self.size, self.root_hash, self.extensions)
        if problem is not None:
            raise UsageError(problem, hint=_HINT)

    def body(self) -> bytes:
        """The note text: one newline-terminated line per field."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(f"{line}\n" for line in lines).encode("utf-8")

    @classmethod
    def from_body(cls, body: bytes | str) -> Checkpoint:
        """Parse checkpoint note text strictly; :class:`CheckpointError` when malformed."""
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                raise CheckpointError("a checkpoint is not UTF-8", hint=_HINT) from None
        if len(body) > limits.MAX_NOTE_BYTES:
            raise LimitExceededError(f"a checkpoint is at most {limits.MAX_NOTE_BYTES} bytes")
        if not body.endswith("\n"):
            raise CheckpointError("a checkpoint ends in a newline", hint=_HINT)
        lines = body[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointError("a checkpoint is three or more non-empty lines", hint=_HINT)
        origin, size_text, root64, *extensions = lines
        if _SIZE_RE.fullmatch(size_text) is None or int(size_text) > MAX_TREE_SIZE:
            raise CheckpointError("a tree size is decimal, no leading zeros, < 2**63", hint=_HINT)
        root = b64decode_strict(root64, "the root hash")
        problem = _field_problem(origin, int(size_text), root, tuple(extensions))
        if problem is not None:
            raise CheckpointError(problem, hint=_HINT)
        return cls(origin, int(size_text), root, tuple(extensions))


def _checked(note: Note) -> bytes:
    data = note.to_bytes()
    if len(data) > limits.MAX_NOTE_BYTES:
        raise LimitExceededError(f"a signed note is at most {limits.MAX_NOTE_BYTES} bytes")
    return data


def sign_checkpoint(checkpoint: Checkpoint, signer: SignerKey) -> bytes:
    """The checkpoint as a note signed by the log's Ed25519 key."""
    if not isinstance(checkpoint, Checkpoint) or not isinstance(signer, SignerKey):
        raise UsageError("sign_checkpoint takes a Checkpoint and a SignerKey")
    return _checked(sign_note(checkpoint.body().decode("utf-8"), [signer]))


def cosign(checkpoint_body: bytes, witness_signer: CosignerKey, timestamp: int) -> str:
    """A witness's cosignature line (ending in a newline) for ``checkpoint_body``.

    The body is checked to be a well-formed checkpoint first; a witness should
    only cosign after it checked consistency with what it saw before.
    """
    Checkpoint.from_body(checkpoint_body)
    sig = witness_signer.cosign(checkpoint_body, timestamp)
    return NoteSignature(witness_signer.name, witness_signer.key_hash, sig).line()


def add_signature_lines(note: bytes, lines: Sequence[str]) -> bytes:
    """``note`` with signature ``lines`` appended (a line by a key already present replaces it)."""
    if isinstance(lines, str):
        raise UsageError("add_signature_lines takes a sequence of lines")
    parsed = parse_note(note)
    extra = parse_note(b"x\n\n" + "".join(lines).encode("utf-8")).signatures
    return _checked(parsed.with_signatures(*extra))


def verify_cosignature(checkpoint_body: bytes, line: str, witness: CosignerVerifierKey) -> int:
    """The timestamp of cosignature ``line`` by ``witness`` over ``checkpoint_body``.

    :class:`CheckpointError` when the line is malformed, by another key, or does not verify.
    """
    sig = parse_note(b"x\n\n" + line.encode("utf-8")).signatures
    if len(sig) != 1 or (sig[0].name, sig[0].key_hash) != (witness.name, witness.key_hash):
        raise CheckpointError(f"the line is not one cosignature by {witness.key_id}")
    if not witness.verify(checkpoint_body, sig[0].signature):
        raise CheckpointError(f"the cosignature by {witness.key_id} does not verify")
    return int.from_bytes(sig[0].signature[:8], "big")


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature, and witness quorum, verified."""

    checkpoint: Checkpoint
    note: Note
    #: ``name+hex8`` of each trusted witness that cosigned → its timestamp.
    cosigned_at: Mapping[str, int] = field(default_factory=dict)


def _check_policy(witness_keys: Sequence[CosignerVerifierKey], quorum: int) -> None:
    if not all(isinstance(key, CosignerVerifierKey) for key in witness_keys):
        raise UsageError("witness keys are CosignerVerifierKey objects (parse_cosigner_vkey)")
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 0:
        raise UsageError("the witness quorum is an integer of at least 0")
    if quorum > len({key.public_key for key in witness_keys}):
        raise UsageError(f"quorum {quorum} exceeds the number of distinct witness keys")


def _cosigners(note: Note, witness_keys: Sequence[CosignerVerifierKey]) -> dict[str, int]:
    if not witness_keys:
        return {}
    found = verify_signatures(note, witness_keys)
    return {
        f"{sig.name}+{sig.key_hash:08x}": int.from_bytes(sig.signature[:8], "big")
        for _, sig in found
    }


def verify_checkpoint(
    data: bytes,
    log_key: VerifierKey,
    witness_keys: Sequence[CosignerVerifierKey] = (),
    quorum: int = 0,
    *,
    origin: str | None = None,
    not_before: int | None = None,
) -> VerifiedCheckpoint:
    """Verify a signed checkpoint against the log key and a witness quorum.

    ``origin`` defaults to the log key's name. With ``not_before`` (POSIX
    seconds), a cosignature timestamped earlier is stale: it neither counts
    toward the quorum nor appears in ``cosigned_at``. Raises
    :class:`CheckpointError` when the note or checkpoint is malformed, a trusted
    signature fails, the log did not sign, the origin differs, or fewer than
    ``quorum`` witnesses cosigned (freshly).
    """
    if not isinstance(log_key, VerifierKey):
        raise UsageError("the log key is a VerifierKey (see parse_vkey)")
    _check_policy(witness_keys, quorum)
    note = parse_note(data)
    verify_note(note, [log_key])
    checkpoint = Checkpoint.from_body(note.text)
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointError(
            f"the checkpoint is for origin {checkpoint.origin!r}, expected {expected!r}"
        )
    cosigned_at = _cosigners(note, witness_keys)
    if not_before is not None:
        cosigned_at = {k: at for k, at in cosigned_at.items() if at >= not_before}
    by_key = {key.key_id: key.public_key for key in witness_keys}
    distinct = len({by_key[key_id] for key_id in cosigned_at})
    if distinct < quorum:
        fresh = "" if not_before is None else " fresh"
        raise CheckpointError(
            f"the checkpoint has {distinct} of {quorum} required{fresh} witness cosignatures"
        )
    return VerifiedCheckpoint(checkpoint, note, cosigned_at)
