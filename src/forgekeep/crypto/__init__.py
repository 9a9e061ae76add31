"""Forgekeep cryptography: the stream v1 content format, contexts, wraps, canonical JSON.

Security rules this package keeps (each module states its own in detail):

* It does no I/O: callers move bytes; this package only transforms them.
* Stream v1 bodies are C2SP chunked-encryption v1 (Cobblestone-256:
  HKDF-Expand SHA-512, AEAD_AES_256_GCM). The key commitment is checked before
  any chunk is decrypted, no plaintext leaves before its tag verified, and a
  stream must end with a short final chunk.
* The stream context (tenant, asset id, version id, header hash) goes into
  HKDF-Expand ``info``, never into AEAD associated data.
* Only Forgekeep errors leave this package.

The format is specified in ``docs/formats/stream-v1.md``.
"""

from __future__ import annotations

from forgekeep.crypto.canonical import canonical_json, fast_canonical_json
from forgekeep.crypto.context import StreamContext, wrap_context
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.signed import (
    Signature,
    SignedObject,
    SignerKey,
    VerifierKey,
    countersign,
    encode_signer_key,
    encode_vkey,
    generate_signer,
    key_hash,
    parse_signer_key,
    parse_vkey,
    sign,
    signed_message,
    verify,
)
from forgekeep.crypto.stream import chunk_offset, decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import (
    BODY_PREFIX_SIZE,
    CHUNK_SIZE,
    DEK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    TAG_SIZE,
    VERSION_ID_SIZE,
    Suite,
)
from forgekeep.crypto.wrap import aead_unwrap, aead_wrap

__all__ = [
    "BODY_PREFIX_SIZE",
    "CHUNK_SIZE",
    "DEK_SIZE",
    "ENCRYPTED_CHUNK_SIZE",
    "TAG_SIZE",
    "VERSION_ID_SIZE",
    "PlaintextMac",
    "Signature",
    "SignedObject",
    "SignerKey",
    "StreamContext",
    "StreamDecryptor",
    "StreamEncryptor",
    "StreamHeader",
    "Suite",
    "VerifierKey",
    "aead_unwrap",
    "aead_wrap",
    "canonical_json",
    "chunk_offset",
    "countersign",
    "decrypt_bytes",
    "encode_signer_key",
    "encode_vkey",
    "encrypt_bytes",
    "fast_canonical_json",
    "generate_signer",
    "key_hash",
    "mac_key",
    "parse_signer_key",
    "parse_vkey",
    "sign",
    "signed_message",
    "verify",
    "wrap_context",
]
