"""Checkpoints (c2sp.org/tlog-checkpoint) and Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from forgekeep import limits
from forgekeep.crypto.signed import SignerKey, encode_vkey
from forgekeep.errors import CheckpointError, FormatError, LimitExceededError, UsageError
from forgekeep.ledger.checkpoint import (
    Checkpoint,
    add_signature_lines,
    cosign,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
)
from forgekeep.ledger.cosigner_keys import (
    CosignerKey,
    CosignerVerifierKey,
    cosigned_message,
    encode_cosigner_vkey,
    parse_cosigner_vkey,
)
from forgekeep.ledger.note import NoteSignature, parse_note, sign_note

ORIGIN = "example.com/log"
ROOT = hashlib.sha256(b"root").digest()
T0 = 1_700_000_000

# The examples in c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature.
SPEC_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_COSIGNATURE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


@pytest.fixture
def log() -> SignerKey:
    return SignerKey(ORIGIN, bytes(range(32)))


@pytest.fixture
def witnesses() -> list[CosignerKey]:
    return [CosignerKey(f"witness{i}.example", bytes([i]) * 32) for i in range(1, 4)]


def _checkpoint(size: int = 7) -> Checkpoint:
    return Checkpoint(ORIGIN, size, ROOT)


def test_body_is_exactly_the_spec_lines() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT, ("ext one", "two"))
    root64 = base64.b64encode(ROOT).decode()
    assert cp.body() == f"{ORIGIN}\n7\n{root64}\next one\ntwo\n".encode()
    assert Checkpoint.from_body(cp.body()) == cp
    assert Checkpoint.from_body(cp.body().decode()) == cp


def test_spec_example_body_parses() -> None:
    cp = Checkpoint.from_body(SPEC_BODY)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.body() == SPEC_BODY


def test_spec_example_cosignature_layout() -> None:
    """The spec's cosignature line is key ID ‖ uint64 time ‖ 64-byte Ed25519 signature."""
    (sig,) = parse_note(b"x\n\n" + SPEC_COSIGNATURE.encode()).signatures
    assert sig.name == "witness.example.com/w1"
    assert len(sig.signature) == 8 + 64
    assert int.from_bytes(sig.signature[:8], "big") == 1679315147  # "time 1679315147"


@pytest.mark.parametrize(
    "body",
    [
        b"o\n1\n",
        b"o\n1\n" + base64.b64encode(ROOT),
        b"o\n01\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n-1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n+1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n\xd9\xa1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n9223372036854775808\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT[:31]) + b"\n",
        b"o\n1\nnot base64!\n",
        b"\n1\n" + base64.b64encode(ROOT) + b"\n",
        b"o\n1\n" + base64.b64encode(ROOT) + b"\n\next\n",
        b"o\n1\n" + base64.b64encode(ROOT) + b"\nbad\x01ext\n",
        b"\xff\n1\n" + base64.b64encode(ROOT) + b"\n",
    ],
)
def test_malformed_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.from_body(body)


def test_largest_and_smallest_sizes() -> None:
    assert Checkpoint.from_body(f"o\n0\n{base64.b64encode(ROOT).decode()}\n").size == 0
    top = Checkpoint("o", (1 << 63) - 1, ROOT)
    assert Checkpoint.from_body(top.body()) == top
    with pytest.raises(LimitExceededError):
        Checkpoint.from_body("o\n" * limits.MAX_NOTE_BYTES)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "a\nb"}, "origin"),
        ({"size": -1}, "tree size"),
        ({"size": True}, "tree size"),
        ({"size": 1 << 63}, "tree size"),
        ({"root_hash": b"short"}, "root hash"),
        ({"extensions": ["x"]}, "tuple"),
        ({"extensions": ("",)}, "extension"),
    ],
)
def test_invalid_fields_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"origin": ORIGIN, "size": 1, "root_hash": ROOT} | kwargs
    with pytest.raises(UsageError, match=message):
        Checkpoint(**fields)  # type: ignore[arg-type]


def test_sign_and_verify(log: SignerKey) -> None:
    data = sign_checkpoint(_checkpoint(), log)
    assert data.startswith(_checkpoint().body() + "\n— example.com/log ".encode())
    verified = verify_checkpoint(data, log.verifier)
    assert verified.checkpoint == _checkpoint()
    assert verified.cosigned_at == {}


def test_origin_must_match(log: SignerKey) -> None:
    other = SignerKey("example.com/other", bytes(range(32)))
    data = sign_checkpoint(_checkpoint(), other)
    with pytest.raises(CheckpointError, match="origin"):
        verify_checkpoint(data, other.verifier)
    assert verify_checkpoint(data, other.verifier, origin=ORIGIN).checkpoint.origin == ORIGIN


def test_wrong_key_or_tampered_checkpoint_fails(log: SignerKey) -> None:
    data = sign_checkpoint(_checkpoint(), log)
    stranger = SignerKey(ORIGIN, bytes(32))
    with pytest.raises(CheckpointError, match="no signature by a key you trust"):
        verify_checkpoint(data, stranger.verifier)
    tampered = data.replace(b"\n7\n", b"\n8\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(tampered, log.verifier)


def test_signed_but_malformed_body_is_rejected(log: SignerKey) -> None:
    data = sign_note(f"{ORIGIN}\n7\n", [log]).to_bytes()
    with pytest.raises(CheckpointError, match="three or more"):
        verify_checkpoint(data, log.verifier)


def test_cosignature_bytes_follow_the_spec(witnesses: list[CosignerKey]) -> None:
    body = _checkpoint().body()
    witness = witnesses[0]
    line = cosign(body, witness, T0)
    (sig,) = parse_note(b"x\n\n" + line.encode()).signatures
    pub = witness.verifier.public_key
    digest = hashlib.sha256(witness.name.encode() + b"\n\x04" + pub).digest()
    assert sig.key_hash == int.from_bytes(digest[:4], "big")
    assert sig.signature[:8] == T0.to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1700000000\n" + body
    assert cosigned_message(body, T0) == message
    Ed25519PublicKey.from_public_bytes(pub).verify(sig.signature[8:], message)
    assert verify_cosignature(body, line, witness.verifier) == T0


def test_cosignature_failures(witnesses: list[CosignerKey]) -> None:
    body = _checkpoint().body()
    line = cosign(body, witnesses[0], T0)
    with pytest.raises(CheckpointError, match="not one cosignature"):
        verify_cosignature(body, line, witnesses[1].verifier)
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_cosignature(_checkpoint(8).body(), line, witnesses[0].verifier)
    with pytest.raises(CheckpointError):
        cosign(b"not a checkpoint\n", witnesses[0], T0)


@pytest.mark.parametrize("timestamp", [-1, 1 << 63, True, 1.5])
def test_cosign_timestamp_range(witnesses: list[CosignerKey], timestamp: object) -> None:
    with pytest.raises(UsageError, match="timestamp"):
        cosign(_checkpoint().body(), witnesses[0], timestamp)  # type: ignore[arg-type]


def test_out_of_range_or_short_cosignature_does_not_verify(witnesses: list[CosignerKey]) -> None:
    key = witnesses[0].verifier
    assert not key.verify(b"body\n", (1 << 63).to_bytes(8, "big") + bytes(64))
    assert not key.verify(b"body\n", bytes(71))
    assert key.timestamp_of(bytes(72)) == 0


def test_largest_timestamp_cosigns(witnesses: list[CosignerKey]) -> None:
    body = _checkpoint().body()
    line = cosign(body, witnesses[0], (1 << 63) - 1)
    assert verify_cosignature(body, line, witnesses[0].verifier) == (1 << 63) - 1


def _cosigned(log: SignerKey, witnesses: list[CosignerKey]) -> bytes:
    data = sign_checkpoint(_checkpoint(), log)
    body = _checkpoint().body()
    lines = [cosign(body, w, T0 + i) for i, w in enumerate(witnesses)]
    return add_signature_lines(data, lines)


def test_witness_quorum(log: SignerKey, witnesses: list[CosignerKey]) -> None:
    data = _cosigned(log, witnesses[:2])
    keys = [w.verifier for w in witnesses]
    verified = verify_checkpoint(data, log.verifier, keys, 2)
    assert verified.cosigned_at == {
        witnesses[0].verifier.key_id: T0,
        witnesses[1].verifier.key_id: T0 + 1,
    }
    with pytest.raises(CheckpointError, match="2 of 3 required"):
        verify_checkpoint(data, log.verifier, keys, 3)
    assert verify_checkpoint(data, log.verifier, keys[2:], 0).cosigned_at == {}


def test_a_witness_key_alone_does_not_verify_the_log(
    log: SignerKey, witnesses: list[CosignerKey]
) -> None:
    """A type 0x04 key never verifies a type 0x01 signature: the key IDs differ."""
    same_key = CosignerKey(ORIGIN, bytes(range(32)))
    assert same_key.key_hash != log.verifier.key_hash
    data = _cosigned(log, witnesses[:1])
    with pytest.raises(CheckpointError, match="0 of 1"):
        verify_checkpoint(data, log.verifier, [same_key.verifier], 1)


def test_bad_cosignature_by_trusted_witness_rejects(
    log: SignerKey, witnesses: list[CosignerKey]
) -> None:
    data = sign_checkpoint(_checkpoint(), log)
    forged = NoteSignature(witnesses[0].name, witnesses[0].key_hash, bytes(72)).line()
    data = add_signature_lines(data, [forged, cosign(_checkpoint().body(), witnesses[1], T0)])
    keys = [w.verifier for w in witnesses]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(data, log.verifier, keys, 1)
    assert verify_checkpoint(data, log.verifier, keys[1:], 1).cosigned_at


def test_duplicate_cosignatures_count_once(log: SignerKey, witnesses: list[CosignerKey]) -> None:
    body = _checkpoint().body()
    line = cosign(body, witnesses[0], T0)
    data = sign_checkpoint(_checkpoint(), log) + line.encode() * 2
    keys = [w.verifier for w in witnesses]
    with pytest.raises(CheckpointError, match="1 of 2"):
        verify_checkpoint(data, log.verifier, keys, 2)
    twin = CosignerVerifierKey("renamed.example", witnesses[0].verifier.public_key)
    renamed = CosignerKey("renamed.example", bytes([1]) * 32)
    data2 = data + cosign(body, renamed, T0).encode()
    with pytest.raises(CheckpointError, match="1 of 2"):
        verify_checkpoint(data2, log.verifier, [keys[0], twin, keys[1]], 2)


def test_policy_usage_errors(log: SignerKey, witnesses: list[CosignerKey]) -> None:
    data = sign_checkpoint(_checkpoint(), log)
    keys = [w.verifier for w in witnesses]
    with pytest.raises(UsageError, match="exceeds"):
        verify_checkpoint(data, log.verifier, keys, 4)
    with pytest.raises(UsageError, match="at least 0"):
        verify_checkpoint(data, log.verifier, keys, -1)
    with pytest.raises(UsageError, match="at least 0"):
        verify_checkpoint(data, log.verifier, keys, True)
    with pytest.raises(UsageError, match="CosignerVerifierKey"):
        verify_checkpoint(data, log.verifier, [log.verifier], 0)  # type: ignore[list-item]
    with pytest.raises(UsageError, match="VerifierKey"):
        verify_checkpoint(data, keys[0], keys, 0)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        sign_checkpoint(_checkpoint(), witnesses[0])  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="sequence"):
        add_signature_lines(data, "— a AAAAAAA=\n")


def test_oversize_checkpoint_is_refused(log: SignerKey) -> None:
    big = Checkpoint(ORIGIN, 1, ROOT, ("x" * limits.MAX_NOTE_BYTES,))
    with pytest.raises(LimitExceededError):
        sign_checkpoint(big, log)


def test_add_signature_lines_replaces_same_key(
    log: SignerKey, witnesses: list[CosignerKey]
) -> None:
    data = sign_checkpoint(_checkpoint(), log)
    body = _checkpoint().body()
    once = add_signature_lines(data, [cosign(body, witnesses[0], T0)])
    twice = add_signature_lines(once, [cosign(body, witnesses[0], T0 + 5)])
    assert len(parse_note(twice).signatures) == 2
    assert verify_checkpoint(twice, log.verifier, [witnesses[0].verifier], 1).cosigned_at == {
        witnesses[0].verifier.key_id: T0 + 5
    }


def test_cosigner_vkeys(witnesses: list[CosignerKey]) -> None:
    key = witnesses[0].verifier
    text = encode_cosigner_vkey(key)
    name, hash_hex, key64 = text.split("+", 2)
    assert (name, int(hash_hex, 16)) == (key.name, key.key_hash)
    assert base64.b64decode(key64) == b"\x04" + key.public_key
    assert parse_cosigner_vkey(text) == key
    assert "CosignerKey('witness1.example+" in repr(witnesses[0])
    assert witnesses[0].verifier.public_key.hex() not in repr(witnesses[0])
    assert repr(key).startswith("CosignerVerifierKey(")
    assert str(witnesses[0]) == repr(witnesses[0])


def test_cosigner_vkey_parse_errors(log: SignerKey, witnesses: list[CosignerKey]) -> None:
    good = encode_cosigner_vkey(witnesses[0].verifier)
    name, hash_hex, key64 = good.split("+", 2)
    raw = base64.b64decode(key64)
    bad = [
        encode_vkey(log.verifier),  # type 0x01
        f"{name}+{hash_hex}",
        f"{name}+{hash_hex.upper()}+{key64}",
        f"{name}+{hash_hex}+é",
        f"{name}+{hash_hex}+AB==",
        f"{name}+{hash_hex}+{base64.b64encode(raw[:-1]).decode()}",
        f"{name}+00000000+{key64}",
        f"+{hash_hex}+{key64}",
        f"a b+{hash_hex}+{key64}",
    ]
    for text in bad:
        with pytest.raises(FormatError):
            parse_cosigner_vkey(text)
    with pytest.raises(FormatError):
        parse_cosigner_vkey(b"bytes")  # type: ignore[arg-type]


def test_stale_cosignatures_do_not_count(log: SignerKey, witnesses: list[CosignerKey]) -> None:
    checkpoint = _checkpoint()
    note = add_signature_lines(
        sign_checkpoint(checkpoint, log),
        [
            cosign(checkpoint.body(), witnesses[0], T0 - 100),
            cosign(checkpoint.body(), witnesses[1], T0),
        ],
    )
    keys = [w.verifier for w in witnesses[:2]]
    assert len(verify_checkpoint(note, log.verifier, keys, 2).cosigned_at) == 2
    fresh = verify_checkpoint(note, log.verifier, keys, 1, not_before=T0 - 50)
    assert list(fresh.cosigned_at.values()) == [T0]
    with pytest.raises(CheckpointError, match="1 of 2 required fresh witness cosignatures"):
        verify_checkpoint(note, log.verifier, keys, 2, not_before=T0 - 50)
