"""Key derivation for stream v1: the C2SP chunked-encryption keys and the MAC key.

Security rule: every key is derived with HKDF-Expand(SHA-512) from the DEK
with a distinct, NUL-terminated label in ``info`` followed by the context, so
the body key, the commitment and the plaintext MAC key never coincide. The
public commitment keys nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from forgekeep.crypto.suite import (
    AEAD_KEY_SIZE,
    AEAD_NAMES,
    COMMITMENT_SIZE,
    DEK_SIZE,
    NONCE_SIZE,
    SALT_SIZE,
    Suite,
)
from forgekeep.errors import UsageError

C2SP_LABEL: Final = b"c2sp.org/chunked-encryption@v1+"
MAC_LABEL: Final = b"forgekeep/stream-v1/mac\x00"
MAC_KEY_SIZE: Final = 32


@dataclass(frozen=True, slots=True)
class BodyKeys:
    """The per-object AEAD key, base nonce (as an integer) and commitment."""

    key: bytes
    base_nonce: int
    commitment: bytes


def check_dek(dek: bytes) -> bytes:
    """Refuse anything but a 32-byte DEK."""
    if not isinstance(dek, bytes) or len(dek) != DEK_SIZE:
        raise UsageError(f"a data key must be exactly {DEK_SIZE} bytes")
    return dek


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA512(), length, info).derive(prk)


def derive_body_keys(suite: Suite, dek: bytes, salt: bytes, context: bytes) -> BodyKeys:
    """Derive the AEAD key, base nonce and commitment of one object.

    ``key ‖ base_nonce ‖ commitment = HKDF-Expand(DEK, label ‖ aead ‖ 0x00 ‖ salt ‖ context)``.
    """
    if len(salt) != SALT_SIZE:
        raise UsageError(f"salt must be exactly {SALT_SIZE} bytes")
    info = C2SP_LABEL + AEAD_NAMES[suite] + b"\x00" + bytes(salt) + context
    okm = _expand(check_dek(dek), info, AEAD_KEY_SIZE + NONCE_SIZE + COMMITMENT_SIZE)
    nonce = okm[AEAD_KEY_SIZE : AEAD_KEY_SIZE + NONCE_SIZE]
    return BodyKeys(
        key=okm[:AEAD_KEY_SIZE],
        base_nonce=int.from_bytes(nonce, "big"),
        commitment=okm[AEAD_KEY_SIZE + NONCE_SIZE :],
    )


def derive_mac_key(dek: bytes, context: bytes) -> bytes:
    """``K_mac = HKDF-Expand(DEK, "forgekeep/stream-v1/mac" ‖ 0x00 ‖ context, 32)``."""
    return _expand(check_dek(dek), MAC_LABEL + bytes(context), MAC_KEY_SIZE)
