"""The public surface of forgekeep.crypto is exactly what other packages code against.

The stream internals (suite, header, encryptor, decryptor, stream, mac) are
not part of it: only the sealing barrier imports them, from their modules.
"""

from __future__ import annotations

from forgekeep import crypto
from forgekeep.crypto import suite

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
    "AssetVersionContext",
    "LedgerSeedContext",
    "RelayedContext",
    "SubjectAttributesContext",
    "WrapContext",
    "asset_version_context",
    "ledger_seed_context",
    "subject_attributes_context",
    "aead_unwrap",
    "aead_wrap",
    "canonical_json",
    "fast_canonical_json",
}
STREAM_INTERNALS = {
    "CHUNK_SIZE",
    "TAG_SIZE",
    "StreamContext",
    "StreamDecryptor",
    "StreamEncryptor",
    "StreamHeader",
    "PlaintextMac",
    "mac_key",
    "encrypt_bytes",
    "decrypt_bytes",
    "Suite",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(crypto.__all__) == EXPECTED
    assert all(hasattr(crypto, name) for name in EXPECTED)


def test_stream_internals_are_not_re_exported() -> None:
    assert not STREAM_INTERNALS & set(vars(crypto))


def test_constants() -> None:
    sizes = (suite.CHUNK_SIZE, suite.TAG_SIZE, suite.DEK_SIZE, suite.VERSION_ID_SIZE)
    assert sizes == (16384, 16, 32, 16)
    assert suite.BODY_PREFIX_SIZE == 56
    assert suite.ENCRYPTED_CHUNK_SIZE == 16400
    assert [int(s) for s in suite.Suite] == [1]
