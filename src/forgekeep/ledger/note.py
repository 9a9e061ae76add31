"""C2SP signed notes (c2sp.org/signed-note@v1.0.0): parse, sign and verify.

A note is UTF-8 text ending in a newline, a blank line, and one or more
signature lines ``— <key name> base64(uint32 key ID ‖ signature)``. Keys are
identified, as the spec recommends, by SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4];
Ed25519 (type 0x01) keys are the :class:`~forgekeep.crypto.signed.VerifierKey`
keys, and timestamped cosignature keys (type 0x04) live in
:mod:`forgekeep.ledger.cosigner_keys`.

Security rules:

* A note is bounded by ``limits.MAX_NOTE_BYTES`` and
  ``limits.MAX_NOTE_SIGNATURES`` (the spec asks for at least 16) *before* it is
  decoded or split; going over is :class:`LimitExceededError`.
* Parsing is strict: valid UTF-8, no control character but the newline, the
  text is separated from the signatures by the *last* blank line, key names are
  non-empty with no Unicode space and no ``+``, and base64 is standard and
  canonical. Anything else is :class:`CheckpointError` (FK-LEDGER-002).
* :func:`verify_note` has no default trust: an empty verifier list, or two
  different verifiers sharing a name and key ID, is a :class:`UsageError`.
* Signatures whose (name, key ID) is not a known key are ignored, even when
  the name or the ID alone matches one. Every signature by a known key is
  verified, and one that fails rejects the whole note. A note with no verified
  signature by a known key is rejected. Repeated signatures by one key count once.
* The text a verified note returns is exactly the bytes that were verified.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from forgekeep import limits
from forgekeep.crypto.signed import SignerKey, VerifierKey, _name_problem
from forgekeep.errors import CheckpointError, LimitExceededError, UsageError

#: The start of every signature line: EM DASH (U+2014) and a space.
SIGNATURE_PREFIX: Final = "\u2014 "
KEY_ID_SIZE: Final = 4
_HINT: Final = "a signed note is text, a blank line, then lines '— <name> base64(keyid‖sig)'"
_TRUST_HINT: Final = "the note was altered, or is not signed by a key you trust"


class NoteVerifier(Protocol):
    """A key a note signature can be checked against."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) signs ``message``."""
        ...


class NoteSigner(Protocol):
    """A key that can add a signature line to a note."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """The signature of ``message`` (without the key ID)."""
        ...


@dataclass(frozen=True, slots=True)
class Ed25519NoteVerifier:
    """A type 0x01 (plain Ed25519) note verifier for a :class:`VerifierKey`."""

    key: VerifierKey

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_hash(self) -> int:
        return self.key.key_hash

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.key.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Ed25519NoteSigner:
    """A type 0x01 (plain Ed25519) note signer for a :class:`SignerKey`."""

    key: SignerKey

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_hash(self) -> int:
        return self.key.verifier.key_hash

    def sign(self, message: bytes) -> bytes:
        return self.key.sign_bytes(message)


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard, padded, canonical base64; :class:`CheckpointError` otherwise."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise CheckpointError(f"{what} is not standard base64", hint=_HINT) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64", hint=_HINT)
    return raw


def check_key_name(name: str) -> None:
    """:class:`CheckpointError` unless ``name`` is a valid signed-note key name."""
    problem = _name_problem(name)
    if problem is not None:
        raise CheckpointError(f"signature line: {problem}", hint=_HINT)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 32-bit key ID, and the signature after the ID."""

    name: str
    key_hash: int
    signature: bytes

    def line(self) -> str:
        """The signature line, ending in a newline, as it appears in a note."""
        raw = self.key_hash.to_bytes(KEY_ID_SIZE, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(raw).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (ending in a newline) and its signatures, unverified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        """The encoded note: text, a blank line, one line per signature."""
        lines = "".join(sig.line() for sig in self.signatures)
        return (self.text + "\n" + lines).encode("utf-8")

    def with_signatures(self, *new: NoteSignature) -> Note:
        """This note with ``new`` appended; an old signature by the same key is dropped."""
        keys = {(sig.name, sig.key_hash) for sig in new}
        kept = tuple(s for s in self.signatures if (s.name, s.key_hash) not in keys)
        return Note(self.text, kept + tuple(new))


def check_text(text: str) -> None:
    """:class:`CheckpointError` unless ``text`` is valid note text."""
    if not text.endswith("\n"):
        raise CheckpointError("note text must end in a newline", hint=_HINT)
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise CheckpointError("a note holds no control character but newline", hint=_HINT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("note text is not valid UTF-8", hint=_HINT) from None


def sign_note(text: str, signers: Iterable[NoteSigner | SignerKey]) -> Note:
    """``text`` signed by each of ``signers`` (:class:`SignerKey` signs as Ed25519)."""
    check_text(text)
    message = text.encode("utf-8")
    signatures: list[NoteSignature] = []
    for item in signers:
        signer = Ed25519NoteSigner(item) if isinstance(item, SignerKey) else item
        signatures.append(NoteSignature(signer.name, signer.key_hash, signer.sign(message)))
    if not signatures:
        raise UsageError("a note needs at least one signer")
    note = Note(text, ())
    return note.with_signatures(*signatures)


def _check_size(data: bytes) -> None:
    if len(data) > limits.MAX_NOTE_BYTES:
        raise LimitExceededError(f"a signed note is at most {limits.MAX_NOTE_BYTES} bytes")


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError("a signature line starts with '— '", hint=_HINT)
    name, space, sig64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space or not sig64:
        raise CheckpointError("a signature line is '— <name> <base64>'", hint=_HINT)
    check_key_name(name)
    raw = b64decode_strict(sig64, "note signature")
    if len(raw) <= KEY_ID_SIZE:
        raise CheckpointError("a note signature is a key ID and a signature", hint=_HINT)
    return NoteSignature(name, int.from_bytes(raw[:KEY_ID_SIZE], "big"), raw[KEY_ID_SIZE:])


def parse_note(data: bytes) -> Note:
    """Parse a signed note strictly. Nothing is verified here: see :func:`verify_note`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError("a signed note is read from bytes")
    data = bytes(data)
    _check_size(data)
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("a signed note is not valid UTF-8", hint=_HINT) from None
    split = decoded.rfind("\n\n")
    if split < 0:
        raise CheckpointError("a signed note has no blank line before its signatures", hint=_HINT)
    text, block = decoded[: split + 1], decoded[split + 2 :]
    check_text(text)
    if not block.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in block):
        raise CheckpointError("signature lines end in a newline; no control chars", hint=_HINT)
    lines = block[:-1].split("\n")
    if len(lines) > limits.MAX_NOTE_SIGNATURES:
        raise LimitExceededError(
            f"a signed note carries at most {limits.MAX_NOTE_SIGNATURES} signatures"
        )
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _as_verifier(item: NoteVerifier | VerifierKey) -> NoteVerifier:
    return Ed25519NoteVerifier(item) if isinstance(item, VerifierKey) else item


def verifier_table(
    verifiers: Sequence[NoteVerifier | VerifierKey],
) -> dict[tuple[str, int], NoteVerifier]:
    """Verifiers by (name, key ID); fails closed when empty or ambiguous."""
    if not verifiers:
        raise UsageError("verifying a note needs at least one key; there is no default trust")
    table: dict[tuple[str, int], NoteVerifier] = {}
    for item in verifiers:
        verifier = _as_verifier(item)
        if table.setdefault((verifier.name, verifier.key_hash), verifier) != verifier:
            raise UsageError(
                f"two different keys share the name {verifier.name!r} and key ID "
                f"{verifier.key_hash:08x}"
            )
    return table


def verify_signatures(
    note: Note, verifiers: Sequence[NoteVerifier | VerifierKey]
) -> list[tuple[NoteVerifier, NoteSignature]]:
    """Each known key that signed ``note``, once, with its first signature.

    Unknown signatures are ignored; a known key's signature that fails raises
    :class:`CheckpointError`. The list may be empty.
    """
    table = verifier_table(verifiers)
    message = note.text.encode("utf-8")
    found: dict[tuple[str, int], tuple[NoteVerifier, NoteSignature]] = {}
    for sig in note.signatures:
        verifier = table.get((sig.name, sig.key_hash))
        if verifier is None:
            continue
        if not verifier.verify(message, sig.signature):
            raise CheckpointError(
                f"the signature by {sig.name}+{sig.key_hash:08x} does not verify",
                hint=_TRUST_HINT,
            )
        found.setdefault((sig.name, sig.key_hash), (verifier, sig))
    return list(found.values())


def verify_note(note: Note, verifiers: Sequence[NoteVerifier | VerifierKey]) -> str:
    """The text of ``note`` once at least one of ``verifiers`` signed it (see module rules)."""
    if not verify_signatures(note, verifiers):
        raise CheckpointError("the note has no signature by a key you trust", hint=_TRUST_HINT)
    return note.text


def open_note(data: bytes, verifiers: Sequence[NoteVerifier | VerifierKey]) -> Note:
    """Parse and verify a signed note in one step; returns the parsed note."""
    note = parse_note(data)
    verify_note(note, verifiers)
    return note
