"""C2SP signed notes: published examples, strict parsing, and the trust rules."""

from __future__ import annotations

import base64
import hashlib

import pytest

from forgekeep import limits
from forgekeep.crypto.signed import (
    SignerKey,
    key_hash,
    parse_signer_key,
    parse_vkey,
)
from forgekeep.errors import CheckpointError, LimitExceededError, UsageError
from forgekeep.ledger.cosigner_keys import typed_key_hash
from forgekeep.ledger.note import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    Note,
    NoteSignature,
    b64decode_strict,
    check_text,
    open_note,
    parse_note,
    sign_note,
    verify_note,
    verify_signatures,
)

# The example in the documentation of golang.org/x/mod/sumdb/note.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01"
    "oOTGwnWLox33WWd1RvMc+QQ=\n"
)
# The example at the top of c2sp.org/signed-note (its public key is not published).
C2SP_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJ"
    "KONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)

SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))


@pytest.fixture
def signer() -> SignerKey:
    return SignerKey("example.com/log", SEED_A)


@pytest.fixture
def other() -> SignerKey:
    return SignerKey("example.com/other", SEED_B)


def test_go_sumdb_note_example_verifies() -> None:
    vkey = parse_vkey(GO_VKEY)
    note = open_note((GO_TEXT + "\n" + GO_SIG).encode(), [vkey])
    assert note.text == GO_TEXT
    assert note.signatures[0].key_hash == 0xC74F20A3
    assert note.to_bytes() == (GO_TEXT + "\n" + GO_SIG).encode()


def test_go_example_signature_is_reproduced_by_our_signer() -> None:
    ours = sign_note(GO_TEXT, [parse_signer_key(GO_SKEY)])
    assert ours.to_bytes() == (GO_TEXT + "\n" + GO_SIG).encode()


def test_go_doubly_signed_example_ignores_the_unknown_key() -> None:
    data = (GO_TEXT + "\n" + GO_SIG + GO_ENOCH_SIG).encode()
    note = parse_note(data)
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    found = verify_signatures(note, [parse_vkey(GO_VKEY)])
    assert [v.name for v, _ in found] == ["PeterNeumann"]


def test_c2sp_example_parses_text_up_to_the_last_blank_line() -> None:
    note = parse_note(C2SP_NOTE.encode())
    assert note.text.endswith("\n\ned è subito sera.\n")
    (sig,) = note.signatures
    assert sig.name == "quasimodo.example/salvatore"
    assert len(sig.signature) == 64
    assert note.to_bytes() == C2SP_NOTE.encode()
    with pytest.raises(CheckpointError, match="no signature by a key you trust"):
        verify_note(note, [parse_vkey(GO_VKEY)])


def test_key_ids_follow_the_spec(signer: SignerKey) -> None:
    pub = signer.verifier.public_key
    digest = hashlib.sha256(b"example.com/log\n\x01" + pub).digest()
    assert typed_key_hash("example.com/log", 1, pub) == int.from_bytes(digest[:4], "big")
    assert key_hash("example.com/log", pub) == typed_key_hash("example.com/log", 1, pub)
    assert Ed25519NoteSigner(signer).key_hash == Ed25519NoteVerifier(signer.verifier).key_hash


def test_sign_parse_verify_round_trip(signer: SignerKey, other: SignerKey) -> None:
    note = sign_note("hello\n\nworld\n", [signer, Ed25519NoteSigner(other)])
    data = note.to_bytes()
    assert data.startswith(b"hello\n\nworld\n\n\xe2\x80\x94 example.com/log ")
    parsed = parse_note(data)
    assert parsed == note
    assert verify_note(parsed, [other.verifier]) == "hello\n\nworld\n"
    raw = base64.b64decode(data.split(b"\n")[4].split(b" ")[2])
    assert int.from_bytes(raw[:4], "big") == signer.verifier.key_hash
    assert len(raw) == 68


def test_memoryview_input_is_accepted(signer: SignerKey) -> None:
    data = sign_note("a\n", [signer]).to_bytes()
    assert open_note(memoryview(data), [signer.verifier]).text == "a\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "UTF-8"),
        (b"a\tb\n\n\xe2\x80\x94 a AAAAAAA=\n", "control"),
        (b"a\n\n\xe2\x80\x94 a AAAAAAA=\r\n", "control"),
        (b"a\n\xe2\x80\x94 a AAAAAAA=\n", "no blank line"),
        (b"a\n\n\xe2\x80\x94 a AAAAAAA=", "end in a newline"),
        (b"a\n\n\n", "end in a newline"),
        (b"a\n\n- a AAAAAAA=\n", "starts with"),
        (b"a\n\n\xe2\x80\x94 a\n", "<name> <base64>"),
        (b"a\n\n\xe2\x80\x94 a \n", "<name> <base64>"),
        (b"a\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "must not contain"),
        (b"a\n\n\xe2\x80\x94  AAAAAAA=\n", "must not be empty"),
        (b"a\n\n\xe2\x80\x94 a AAAA AAA=\n", "standard base64"),
        (b"a\n\n\xe2\x80\x94 a AAAAAAB=\n", "canonical base64"),
        (b"a\n\n\xe2\x80\x94 a AAAAAA==\n", "key ID and a signature"),
        (b"\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 b AAAAAAA=\n\n", "end in a newline"),
    ],
)
def test_malformed_notes_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_note(data)


def test_empty_text_line_is_a_valid_note() -> None:
    note = parse_note(b"\n\n\xe2\x80\x94 a AAAAAAA=\n")
    assert note.text == "\n"
    assert note.signatures == (NoteSignature("a", 0, b"\x00"),)


def test_size_limits(signer: SignerKey) -> None:
    with pytest.raises(LimitExceededError):
        parse_note(b"a" * limits.MAX_NOTE_BYTES + b"\n\n")
    line = NoteSignature("w", 1, bytes(64)).line()
    many = ("a\n\n" + line * (limits.MAX_NOTE_SIGNATURES + 1)).encode()
    with pytest.raises(LimitExceededError):
        parse_note(many)
    sixteen = sign_note("a\n", [SignerKey(f"w{i}", SEED_B) for i in range(15)] + [signer])
    assert open_note(sixteen.to_bytes(), [signer.verifier]).text == "a\n"


def test_unknown_keys_are_ignored_even_with_a_shared_name_or_id(
    signer: SignerKey, other: SignerKey
) -> None:
    good = sign_note("t\n", [signer])
    impostor_name = NoteSignature(signer.name, 0x12345678, bytes(64))
    impostor_id = NoteSignature("someone", signer.verifier.key_hash, bytes(64))
    note = Note(good.text, (impostor_name, impostor_id, *good.signatures))
    assert verify_note(note, [signer.verifier]) == "t\n"
    with pytest.raises(CheckpointError, match="no signature by a key you trust"):
        verify_note(note, [other.verifier])


def test_a_bad_signature_by_a_known_key_rejects_the_note(
    signer: SignerKey, other: SignerKey
) -> None:
    note = sign_note("t\n", [signer, other])
    forged = NoteSignature(other.name, other.verifier.key_hash, bytes(64))
    tampered = note.with_signatures(forged)
    assert verify_note(tampered, [signer.verifier]) == "t\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(tampered, [signer.verifier, other.verifier])
    altered = Note("u\n", note.signatures)
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(altered.to_bytes(), [signer.verifier])


def test_repeated_signatures_count_once(signer: SignerKey) -> None:
    note = sign_note("t\n", [signer])
    doubled = Note(note.text, note.signatures * 3)
    found = verify_signatures(doubled, [signer.verifier, signer.verifier])
    assert len(found) == 1


def test_with_signatures_replaces_a_signature_by_the_same_key(
    signer: SignerKey, other: SignerKey
) -> None:
    note = sign_note("t\n", [signer, other])
    replacement = NoteSignature(signer.name, signer.verifier.key_hash, b"x")
    assert note.with_signatures(replacement).signatures == (note.signatures[1], replacement)


def test_trust_policy_fails_closed(signer: SignerKey) -> None:
    note = sign_note("t\n", [signer])
    with pytest.raises(UsageError, match="no default trust"):
        verify_note(note, [])

    class Colliding:
        name = signer.name
        key_hash = signer.verifier.key_hash

        def verify(self, message: bytes, signature: bytes) -> bool:
            return True

    with pytest.raises(UsageError, match="share the name"):
        verify_note(note, [signer.verifier, Colliding()])


def test_sign_note_usage_errors(signer: SignerKey) -> None:
    with pytest.raises(UsageError, match="at least one signer"):
        sign_note("t\n", [])
    with pytest.raises(CheckpointError, match="end in a newline"):
        sign_note("t", [signer])
    with pytest.raises(CheckpointError, match="control"):
        sign_note("t\x00\n", [signer])
    with pytest.raises(UsageError, match="from bytes"):
        parse_note("t\n\n")  # type: ignore[arg-type]


def test_text_must_be_encodable() -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        check_text("\ud800\n")


def test_strict_base64_helper() -> None:
    assert b64decode_strict("AA==", "x") == b"\x00"
    with pytest.raises(CheckpointError, match="standard"):
        b64decode_strict("é", "x")
