"""tlog-proof@v1 files: layout, strict parsing, verification, and golden bytes.

The golden files in ``tests/vectors/ledger/`` are rebuilt here from fixed seeds
and timestamps (Ed25519 is deterministic) and compared byte for byte. To
rewrite them after an intended format change, run this module with
``FK_REGENERATE_LEDGER_VECTORS=1`` and review the diff.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from forgekeep import limits
from forgekeep.crypto.signed import SignerKey, encode_vkey, parse_vkey
from forgekeep.errors import CheckpointError, LimitExceededError, ProofError, UsageError
from forgekeep.ledger import merkle
from forgekeep.ledger.checkpoint import (
    Checkpoint,
    add_signature_lines,
    cosign,
    sign_checkpoint,
    verify_checkpoint,
)
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey, parse_cosigner_vkey
from forgekeep.ledger.tlog_proof import (
    HEADER,
    TlogProof,
    parse_proof,
    verify_proof_file,
    write_proof,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ledger"
ORIGIN = "forgekeep.example/log"
LOG = SignerKey(ORIGIN, bytes(range(32)))
WITNESSES = (
    CosignerKey("witness-a.example", bytes(range(32, 64))),
    CosignerKey("witness-b.example", bytes(range(64, 96))),
)
T0 = 1_700_000_000


def _entry(i: int) -> bytes:
    return b'{"i":%d,"kind":"test"}' % i


def _log(size: int) -> merkle.MemoryHashes:
    hashes = merkle.MemoryHashes()
    for i in range(size):
        hashes.append(_entry(i))
    return hashes


def _note(size: int, hashes: merkle.MemoryHashes, *, cosigned: bool = True) -> bytes:
    checkpoint = Checkpoint(ORIGIN, size, merkle.tree_hash(size, hashes))
    data = sign_checkpoint(checkpoint, LOG)
    if not cosigned:
        return data
    body = checkpoint.body()
    return add_signature_lines(data, [cosign(body, w, T0 + i) for i, w in enumerate(WITNESSES)])


def _proof(size: int, index: int, *, cosigned: bool = True) -> bytes:
    hashes = _log(size)
    path = merkle.inclusion_proof(index, size, hashes)
    return write_proof(_note(size, hashes, cosigned=cosigned), index, path, _entry(index))


def _build_vectors() -> dict[str, bytes]:
    hashes = _log(7)
    return {
        "log.vkey": (encode_vkey(LOG.verifier) + "\n").encode(),
        "witness-a.vkey": (encode_cosigner_vkey(WITNESSES[0].verifier) + "\n").encode(),
        "witness-b.vkey": (encode_cosigner_vkey(WITNESSES[1].verifier) + "\n").encode(),
        "checkpoint-7.note": _note(7, hashes, cosigned=False),
        "checkpoint-7-cosigned.note": _note(7, hashes),
        "entry-3-of-7.tlog-proof": _proof(7, 3),
    }


def test_golden_vectors_are_reproduced() -> None:
    built = _build_vectors()
    if os.environ.get("FK_REGENERATE_LEDGER_VECTORS"):
        VECTORS.mkdir(parents=True, exist_ok=True)
        for name, data in built.items():
            (VECTORS / name).write_bytes(data)
    for name, data in built.items():
        assert (VECTORS / name).read_bytes() == data, name


def test_golden_proof_verifies_from_the_files_alone() -> None:
    log_key = parse_vkey((VECTORS / "log.vkey").read_text().strip())
    witnesses = [
        parse_cosigner_vkey((VECTORS / f"witness-{x}.vkey").read_text().strip()) for x in "ab"
    ]
    data = (VECTORS / "entry-3-of-7.tlog-proof").read_bytes()
    verified = verify_proof_file(data, log_key, witnesses, 2)
    assert (verified.entry, verified.index, verified.checkpoint.size) == (_entry(3), 3, 7)
    assert sorted(verified.cosigned_at.values()) == [T0, T0 + 1]
    cosigned = (VECTORS / "checkpoint-7-cosigned.note").read_bytes()
    assert verify_checkpoint(cosigned, log_key, witnesses, 2).checkpoint.size == 7


def test_layout_is_exactly_the_spec() -> None:
    hashes = _log(7)
    note = _note(7, hashes)
    path = merkle.inclusion_proof(3, 7, hashes)
    data = _proof(7, 3)
    lines = [HEADER, f"extra {base64.b64encode(_entry(3)).decode()}", "index 3"]
    lines += [base64.b64encode(h).decode() for h in path]
    assert data == ("\n".join(lines) + "\n\n").encode() + note
    assert parse_proof(data) == TlogProof(3, tuple(path), note, _entry(3))


def test_without_extra_the_line_is_omitted() -> None:
    hashes = _log(1)
    note = _note(1, hashes, cosigned=False)
    data = write_proof(note, 0, [], None)
    assert data == f"{HEADER}\nindex 0\n\n".encode() + note
    assert parse_proof(data) == TlogProof(0, (), note, None)
    with pytest.raises(CheckpointError, match="no entry"):
        verify_proof_file(data, LOG.verifier)
    empty = write_proof(note, 0, [], b"")
    assert parse_proof(empty).extra == b""


@pytest.mark.parametrize(("size", "index"), [(1, 0), (2, 1), (7, 6), (8, 0), (1000, 999)])
def test_verify_for_several_sizes(size: int, index: int) -> None:
    data = _proof(size, index)
    verified = verify_proof_file(data, LOG.verifier, [w.verifier for w in WITNESSES], 2)
    assert (verified.entry, verified.index) == (_entry(index), index)


def test_tampering_fails() -> None:
    data = _proof(8, 5)
    text = data.decode()
    witness_keys = [w.verifier for w in WITNESSES]
    wrong_entry = text.replace(
        base64.b64encode(_entry(5)).decode(), base64.b64encode(_entry(4)).decode()
    )
    with pytest.raises(ProofError):
        verify_proof_file(wrong_entry.encode(), LOG.verifier)
    with pytest.raises(ProofError):
        verify_proof_file(text.replace("index 5", "index 4").encode(), LOG.verifier)
    with pytest.raises(ProofError):
        verify_proof_file(text.replace("index 5", "index 8").encode(), LOG.verifier)
    path = merkle.inclusion_proof(5, 8, _log(8))
    flipped = base64.b64encode(bytes([path[0][0] ^ 1]) + path[0][1:]).decode()
    with pytest.raises(ProofError):
        verify_proof_file(
            text.replace(base64.b64encode(path[0]).decode(), flipped).encode(), LOG.verifier
        )
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_proof_file(text.replace("\n8\n", "\n9\n").encode(), LOG.verifier)
    with pytest.raises(CheckpointError, match="0 of 1"):
        verify_proof_file(_proof(8, 5, cosigned=False), LOG.verifier, witness_keys, 1)
    with pytest.raises(CheckpointError, match="no signature by a key you trust"):
        verify_proof_file(data, SignerKey(ORIGIN, bytes(32)).verifier)


def _valid_parts() -> tuple[str, bytes]:
    data = _proof(2, 0, cosigned=False)
    head, _, note = data.partition(b"\n\n")
    return head.decode(), note


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.replace(HEADER, "c2sp.org/tlog-proof@v2"),
        lambda h: h.replace("extra ", "extra  "),
        lambda h: h.replace("extra ", "Extra "),
        lambda h: h.replace("index 0", "index 00"),
        lambda h: h.replace("index 0", "index -1"),
        lambda h: h.replace("index 0", "index 9223372036854775807"),
        lambda h: h.replace("index 0", "index"),
        lambda h: h.replace("index 0\n", ""),
        lambda h: h + "\nAAAA",
        lambda h: h + "\n" + base64.b64encode(bytes(31)).decode(),
        lambda h: h + "\n" + "é",
        lambda h: h + "\n" + "\t",
    ],
)
def test_malformed_proofs_are_rejected(mutate: object) -> None:
    head, note = _valid_parts()
    data = mutate(head).encode() + b"\n\n" + note  # type: ignore[operator]
    with pytest.raises(CheckpointError):
        parse_proof(data)


def test_structural_errors() -> None:
    head, note = _valid_parts()
    with pytest.raises(CheckpointError, match="empty line"):
        parse_proof(head.encode() + b"\n")
    with pytest.raises(CheckpointError):
        parse_proof(head.encode() + b"\n\nnot a note\n")
    with pytest.raises(UsageError, match="from bytes"):
        parse_proof(head)  # type: ignore[arg-type]
    assert parse_proof(memoryview(head.encode() + b"\n\n" + note)).index == 0


def test_limits() -> None:
    head, note = _valid_parts()
    with pytest.raises(LimitExceededError):
        parse_proof(b"x" * (limits.MAX_TLOG_PROOF_BYTES + 1))
    too_many = "\n".join([head] + [base64.b64encode(bytes(32)).decode()] * 64)
    with pytest.raises(LimitExceededError):
        parse_proof(too_many.encode() + b"\n\n" + note)
    zero = base64.b64encode(bytes(32)).decode()
    no_extra = "\n".join([HEADER, "index 0"] + [zero] * (limits.MAX_INCLUSION_PROOF_HASHES + 1))
    with pytest.raises(LimitExceededError):
        parse_proof(no_extra.encode() + b"\n\n" + note)
    at_limit = "\n".join([HEADER, "index 0"] + [zero] * limits.MAX_INCLUSION_PROOF_HASHES)
    assert len(parse_proof(at_limit.encode() + b"\n\n" + note).hashes) == 63
    with pytest.raises(LimitExceededError):
        write_proof(note, 0, [], bytes(limits.MAX_TLOG_PROOF_BYTES))


@pytest.mark.parametrize(
    ("index", "hashes", "extra", "message"),
    [
        (-1, [], None, "index"),
        (True, [], None, "index"),
        (1 << 63, [], None, "index"),
        (0, [bytes(32)] * 64, None, "at most"),
        (0, [bytes(31)], None, "32 bytes"),
        (0, [], "text", "extra"),
    ],
)
def test_write_usage_errors(index: object, hashes: object, extra: object, message: str) -> None:
    _, note = _valid_parts()
    with pytest.raises(UsageError, match=message):
        write_proof(note, index, hashes, extra)  # type: ignore[arg-type]


def test_write_refuses_a_malformed_note() -> None:
    with pytest.raises(CheckpointError):
        write_proof(b"not a note", 0, [], None)
