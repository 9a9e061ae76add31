"""The public surface of forgekeep.crypto is exactly what other packages code against."""

from __future__ import annotations

from forgekeep import crypto
from forgekeep.crypto import CHUNK_SIZE, DEK_SIZE, TAG_SIZE, VERSION_ID_SIZE, Suite

EXPECTED = {
    "Signature",
    "SignedObject",
    "SignerKey",
    "VerifierKey",
    "countersign",
    "encode_signer_key",
    "encode_vkey",
    "generate_signer",
    "key_hash",
    "parse_signer_key",
    "parse_vkey",
    "sign",
    "signed_message",
    "verify",
    "BODY_PREFIX_SIZE",
    "CHUNK_SIZE",
    "DEK_SIZE",
    "ENCRYPTED_CHUNK_SIZE",
    "TAG_SIZE",
    "VERSION_ID_SIZE",
    "PlaintextMac",
    "StreamContext",
    "StreamDecryptor",
    "StreamEncryptor",
    "StreamHeader",
    "Suite",
    "aead_unwrap",
    "aead_wrap",
    "canonical_json",
    "chunk_offset",
    "decrypt_bytes",
    "encrypt_bytes",
    "fast_canonical_json",
    "mac_key",
    "wrap_context",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(crypto.__all__) == EXPECTED
    assert all(hasattr(crypto, name) for name in EXPECTED)


def test_constants() -> None:
    assert (CHUNK_SIZE, TAG_SIZE, DEK_SIZE, VERSION_ID_SIZE) == (16384, 16, 32, 16)
    assert crypto.BODY_PREFIX_SIZE == 56
    assert crypto.ENCRYPTED_CHUNK_SIZE == 16400
    assert [int(s) for s in Suite] == [1]
