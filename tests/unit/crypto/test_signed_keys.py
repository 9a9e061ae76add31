"""Signed-object keys: C2SP signed-note key ids, vkeys and Go sumdb/note signer keys."""

from __future__ import annotations

import base64
import hashlib

import pytest

from forgekeep.crypto.signed import (
    SignerKey,
    VerifierKey,
    encode_signer_key,
    encode_vkey,
    generate_signer,
    key_hash,
    parse_signer_key,
    parse_vkey,
)
from forgekeep.errors import FormatError, UsageError

# The reference key and note of golang.org/x/mod/sumdb/note (note_test.go).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
SEED = bytes(range(32))


def test_go_reference_keys_round_trip() -> None:
    vkey = parse_vkey(GO_VKEY)
    skey = parse_signer_key(GO_SKEY)
    assert vkey.name == "PeterNeumann"
    assert vkey.key_hash == 0xC74F20A3
    assert vkey.key_id == "PeterNeumann+c74f20a3"
    assert skey.verifier == vkey
    assert skey.key_id == vkey.key_id
    assert encode_vkey(vkey) == GO_VKEY
    assert encode_signer_key(skey) == GO_SKEY
    assert parse_signer_key(GO_SKEY + "\n").key_id == skey.key_id  # as a key file holds it
    with pytest.raises(FormatError):
        parse_signer_key(GO_SKEY + "\n\n")


def test_go_reference_note_signature() -> None:
    # A signed-note signature is key hash (4 bytes) ‖ Ed25519 signature over the text.
    blob = base64.b64decode(GO_SIG)
    skey = parse_signer_key(GO_SKEY)
    assert blob[:4] == skey.verifier.key_hash.to_bytes(4, "big")
    assert skey.sign_bytes(GO_TEXT) == blob[4:]


def test_key_hash_rule() -> None:
    key = SignerKey("example.com/signer", SEED).verifier
    digest = hashlib.sha256(b"example.com/signer\n\x01" + key.public_key).digest()
    assert key_hash(key.name, key.public_key) == int.from_bytes(digest[:4], "big")
    assert key.key_id == f"example.com/signer+{digest[:4].hex()}"


def test_generated_signer_round_trips() -> None:
    signer = generate_signer("site-de-1")
    again = parse_signer_key(encode_signer_key(signer))
    assert again.seed() == signer.seed()
    assert again.verifier == signer.verifier
    assert parse_vkey(encode_vkey(signer.verifier)) == signer.verifier
    assert generate_signer("site-de-1").seed() != signer.seed()


def test_repr_and_str_hold_no_secret() -> None:
    signer = SignerKey("release", SEED)
    secret_forms = [SEED.hex(), base64.b64encode(b"\x01" + SEED).decode(), repr(SEED)]
    for text in (repr(signer), str(signer), repr(signer.verifier)):
        assert signer.key_id in text
        for secret in secret_forms:
            assert secret not in text
    assert not hasattr(signer, "__dict__")


def test_error_on_malformed_signer_key_never_echoes_it() -> None:
    bad = GO_SKEY[:-4] + "AAAA"  # a different seed: the key id no longer matches
    with pytest.raises(FormatError) as caught:
        parse_signer_key(bad)
    assert "does not match" in caught.value.message
    assert bad.split("+")[-1] not in caught.value.diagnostics()


_PUB64 = GO_VKEY.split("+", 2)[2]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+" + _PUB64,  # empty name
        "Peter Neumann+c74f20a3+" + _PUB64,  # whitespace in name
        "Peter\u00a0Neumann+c74f20a3+" + _PUB64,  # Unicode space in name
        "x" * 256 + "+c74f20a3+" + _PUB64,  # name too long
        "PeterNeumann+C74F20A3+" + _PUB64,  # upper-case hex
        "PeterNeumann+c74f20a+" + _PUB64,  # 7 hex digits
        "PeterNeumann+c74f20a30+" + _PUB64,  # 9 hex digits
        "PeterNeumann+c74f20ag+" + _PUB64,  # not hex
        "PeterNeumann+c74f20a4+" + _PUB64,  # wrong key id
        "Peter+Neumann+c74f20a3+" + _PUB64,  # '+' in name: splits wrongly
        "PeterNeumann+c74f20a3+" + _PUB64.rstrip("W") + "X",  # non-canonical trailing bits
        "PeterNeumann+c74f20a3+" + _PUB64 + "=",  # bad padding
        "PeterNeumann+c74f20a3+" + _PUB64[:-1],  # missing padding
        "PeterNeumann+c74f20a3+" + _PUB64.replace("/", "_"),  # URL-safe alphabet
        "PeterNeumann+c74f20a3+" + _PUB64 + "\n",  # trailing newline
        "PeterNeumann+c74f20a3+é" + _PUB64,  # non-ASCII base64
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),  # short
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(33)).decode(),  # long
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x04" + bytes(32)).decode(),  # type 4
        GO_SKEY,  # a signer key is not a verifier key
    ],
)
def test_malformed_vkeys_are_format_errors(text: str) -> None:
    with pytest.raises(FormatError):
        parse_vkey(text)


def test_vkey_must_be_text() -> None:
    with pytest.raises(FormatError):
        parse_vkey(GO_VKEY.encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        GO_VKEY,  # no PRIVATE+KEY+ prefix
        "PRIVATE+KEY+",
        "private+key+" + GO_SKEY[12:],
        GO_SKEY.replace("c74f20a3", "c74f20a4"),
        GO_SKEY.replace("+AYEK", "+BYEK"),  # not signature type 0x01
        GO_SKEY + "AAAA",  # long
        "PRIVATE+KEY+ +c74f20a3+" + GO_SKEY.split("+", 4)[4],
    ],
)
def test_malformed_signer_keys_are_format_errors(text: str) -> None:
    with pytest.raises(FormatError):
        parse_signer_key(text)


def test_signer_key_must_be_text() -> None:
    with pytest.raises(FormatError):
        parse_signer_key(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "a\ud800", "x" * 256])
def test_invalid_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError):
        generate_signer(name)
    with pytest.raises(UsageError):
        VerifierKey(name, bytes(32))


def test_key_sizes_are_checked() -> None:
    with pytest.raises(UsageError):
        VerifierKey("ok", bytes(31))
    with pytest.raises(UsageError):
        SignerKey("ok", bytes(33))


def test_names_may_be_any_other_utf8() -> None:
    signer = SignerKey("東京精密/署名", SEED)
    assert parse_vkey(encode_vkey(signer.verifier)) == signer.verifier
    assert parse_signer_key(encode_signer_key(signer)).verifier == signer.verifier
    assert len(("x" * 255).encode()) == 255
    assert VerifierKey("x" * 255, bytes(32)).name == "x" * 255


def test_signer_key_is_read_only() -> None:
    signer = SignerKey("release", SEED)
    with pytest.raises(AttributeError):
        signer.verifier = SignerKey("other", bytes(32)).verifier  # type: ignore[misc]
    assert signer.name == "release"
