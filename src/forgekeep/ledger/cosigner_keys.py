"""Witness (cosigner) keys: timestamped Ed25519 cosignatures, signature type 0x04.

c2sp.org/tlog-cosignature@v1.0.1 reuses the signed-note key naming with type
byte 0x04: key ID = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte Ed25519 key)[:4], and a
vkey is ``name+hex8(key ID)+base64(0x04 ‖ key)``. This module is the minimal
generalisation of :mod:`forgekeep.crypto.signed` (type 0x01) to that type; names
and key sizes are validated by the same code.

Security rules:

* A cosignature signs ``"cosignature/v1\\n" ‖ "time " ‖ decimal(t) ‖ "\\n" ‖
  checkpoint body``, never the bare body, so an Ed25519 note signature and a
  cosignature by one key can never be confused; the key IDs differ as well.
* Timestamps are POSIX seconds in 0 … 2**63 - 1, as the spec requires.
* Parsing a vkey is strict (canonical base64, lower-case hex, matching key ID);
  anything else is :class:`FormatError`, as for type 0x01 vkeys.
* Private key bytes never appear in a repr, a str or an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from forgekeep.crypto.signed import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, SignerKey, VerifierKey
from forgekeep.errors import FormatError, UsageError

#: Signature type byte of timestamped Ed25519 cosignatures (tlog-cosignature v1).
ALG_COSIGNATURE_V1: Final = 0x04
#: Largest timestamp a cosignature may carry.
MAX_TIMESTAMP: Final = (1 << 63) - 1
TIMESTAMP_SIZE: Final = 8
COSIGNATURE_SIZE: Final = TIMESTAMP_SIZE + SIGNATURE_SIZE
_HEX8_RE: Final = re.compile(r"[0-9a-f]{8}")
_KEY_HINT: Final = "a witness key is name+hex8(keyid)+base64(0x04‖key) (c2sp.org/tlog-cosignature)"


def typed_key_hash(name: str, alg: int, public_key: bytes) -> int:
    """The signed-note key ID: SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """The bytes an Ed25519 v1 cosignature covers for checkpoint ``body`` at ``timestamp``."""
    return b"cosignature/v1\ntime " + str(timestamp).encode("ascii") + b"\n" + body


def check_timestamp(timestamp: int) -> None:
    """:class:`UsageError` unless ``timestamp`` is an int in 0 … 2**63 - 1."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise UsageError("a cosignature timestamp is an integer (POSIX seconds)")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise UsageError("a cosignature timestamp is between 0 and 2**63 - 1")


@dataclass(frozen=True, slots=True)
class CosignerVerifierKey:
    """A witness's public key for type 0x04 cosignatures; usable as a note verifier."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        VerifierKey(self.name, self.public_key)  # the same name and size rules

    @property
    def key_hash(self) -> int:
        """The 32-bit key ID, with type byte 0x04."""
        return typed_key_hash(self.name, ALG_COSIGNATURE_V1, self.public_key)

    @property
    def key_id(self) -> str:
        """``name+hex8(key ID)``."""
        return f"{self.name}+{self.key_hash:08x}"

    def timestamp_of(self, signature: bytes) -> int | None:
        """The timestamp in ``signature`` (timestamp ‖ Ed25519 sig), or None if malformed."""
        if len(signature) != COSIGNATURE_SIZE:
            return None
        timestamp = int.from_bytes(signature[:TIMESTAMP_SIZE], "big")
        return timestamp if timestamp <= MAX_TIMESTAMP else None

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` cosigns checkpoint body ``message`` (note-verifier protocol)."""
        timestamp = self.timestamp_of(signature)
        if timestamp is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature[TIMESTAMP_SIZE:], cosigned_message(message, timestamp)
            )
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"CosignerVerifierKey({self.key_id!r})"


class CosignerKey:
    """A witness's private Ed25519 key for type 0x04 cosignatures."""

    __slots__ = ("_signer", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        self._signer = SignerKey(name, seed)
        self._verifier = CosignerVerifierKey(name, self._signer.verifier.public_key)

    @property
    def name(self) -> str:
        """The witness name."""
        return self._signer.name

    @property
    def verifier(self) -> CosignerVerifierKey:
        """The matching public key."""
        return self._verifier

    @property
    def key_hash(self) -> int:
        """The 32-bit key ID, with type byte 0x04."""
        return self._verifier.key_hash

    def cosign(self, body: bytes, timestamp: int) -> bytes:
        """``uint64 timestamp ‖ Ed25519 signature`` over the cosigned message for ``body``."""
        check_timestamp(timestamp)
        sig = self._signer.sign_bytes(cosigned_message(body, timestamp))
        return timestamp.to_bytes(TIMESTAMP_SIZE, "big") + sig

    def __repr__(self) -> str:
        return f"CosignerKey({self._verifier.key_id!r})"

    __str__ = __repr__


def encode_cosigner_vkey(key: CosignerVerifierKey) -> str:
    """The vkey ``name+hex8(key ID)+base64(0x04 ‖ public key)``."""
    raw = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + key.public_key).decode("ascii")
    return f"{key.key_id}+{raw}"


def parse_cosigner_vkey(text: str) -> CosignerVerifierKey:
    """Parse a type 0x04 vkey; :class:`FormatError` on anything malformed."""
    if not isinstance(text, str):
        raise FormatError("a witness key is text", hint=_KEY_HINT)
    parts = text.split("+", 2)
    if len(parts) != 3 or _HEX8_RE.fullmatch(parts[1]) is None:
        raise FormatError("a witness key is name+hex8+base64", hint=_KEY_HINT)
    name, hash_hex, key64 = parts
    try:
        raw = base64.b64decode(key64.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise FormatError("a witness key is not standard base64", hint=_KEY_HINT) from None
    if base64.b64encode(raw).decode("ascii") != key64:
        raise FormatError("a witness key is not canonical base64", hint=_KEY_HINT)
    if len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] != ALG_COSIGNATURE_V1:
        raise FormatError("a witness key is 0x04 ‖ a 32-byte Ed25519 key", hint=_KEY_HINT)
    try:
        key = CosignerVerifierKey(name, raw[1:])
    except UsageError as exc:
        raise FormatError(f"a witness key: {exc.message}", hint=_KEY_HINT) from None
    if key.key_hash != int(hash_hex, 16):
        raise FormatError("witness key ID does not match its name and key", hint=_KEY_HINT)
    return key
