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
* The stream internals (``suite``, ``header``, ``encryptor``, ``decryptor``,
  ``stream``, ``mac``, ``_chunks``, ``_kdf``) are not re-exported here: outside
  this package only the sealing barrier (``forgekeep.service.barrier``) imports
  them, which an import contract checks. What this package offers everyone
  else is below: typed wrap contexts, small AEAD wraps, signatures and
  canonical JSON.

The format is specified in ``docs/formats/stream-v1.md``.
"""

from __future__ import annotations

from forgekeep.crypto.canonical import canonical_json, fast_canonical_json
from forgekeep.crypto.context import (
    AssetVersionContext,
    LedgerSeedContext,
    RelayedContext,
    SubjectAttributesContext,
    WrapContext,
    asset_version_context,
    ledger_seed_context,
    subject_attributes_context,
)
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
from forgekeep.crypto.wrap import aead_unwrap, aead_wrap

__all__ = [
    "AssetVersionContext",
    "LedgerSeedContext",
    "RelayedContext",
    "Signature",
    "SignedObject",
    "SignerKey",
    "SubjectAttributesContext",
    "VerifierKey",
    "WrapContext",
    "aead_unwrap",
    "aead_wrap",
    "asset_version_context",
    "canonical_json",
    "countersign",
    "encode_signer_key",
    "encode_vkey",
    "fast_canonical_json",
    "generate_signer",
    "key_hash",
    "ledger_seed_context",
    "parse_signer_key",
    "parse_vkey",
    "sign",
    "signed_message",
    "subject_attributes_context",
    "verify",
]
