"""Our checkpoints, proofs and proof files, checked by an independent Go verifier.

``go/fkverify/main.go`` uses only the Go standard library and
golang.org/x/mod/sumdb/{note,tlog} (Debian's golang-golang-x-mod-dev), built
offline in GOPATH mode. When ``go`` or those sources are missing the tests skip,
except under CI (env ``CI`` set), where they fail: never skip silently in CI.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from forgekeep.crypto.signed import SignerKey, encode_vkey
from forgekeep.ledger import merkle
from forgekeep.ledger.checkpoint import Checkpoint, add_signature_lines, cosign, sign_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.ledger.tlog_proof import write_proof

SOURCE = Path(__file__).parent / "go" / "fkverify" / "main.go"
GOPATH = Path("/usr/share/gocode")
ORIGIN = "forgekeep.example/interop"
LOG = SignerKey(ORIGIN, bytes(range(100, 132)))
VKEY = encode_vkey(LOG.verifier)
WITNESS = CosignerKey("witness.example", bytes(range(200, 232)))
WITNESS_VKEY = encode_cosigner_vkey(WITNESS.verifier)
SIZES = (1, 2, 7, 8, 1000)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the Go interop verifier cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def fkverify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        _unavailable("`go` is not installed")
    if not (GOPATH / "src/golang.org/x/mod/sumdb/note").is_dir():
        _unavailable("golang.org/x/mod sources are missing (apt install golang-golang-x-mod-dev)")
    out = tmp_path_factory.mktemp("go")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(out),
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOFLAGS": "",
        "GOCACHE": str(out / "cache"),
        "GOPROXY": "off",
    }
    binary = out / "fkverify"
    build = subprocess.run(
        [str(go), "build", "-o", str(binary), str(SOURCE)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    return binary


def _log(size: int) -> merkle.MemoryHashes:
    hashes = merkle.MemoryHashes()
    for i in range(size):
        hashes.append(b"entry %d" % i)
    return hashes


def _note(size: int, hashes: merkle.MemoryHashes) -> bytes:
    checkpoint = Checkpoint(ORIGIN, size, merkle.tree_hash(size, hashes))
    data = sign_checkpoint(checkpoint, LOG)
    return add_signature_lines(data, [cosign(checkpoint.body(), WITNESS, 1_700_000_000 + size)])


def _write(tmp: Path, name: str, data: bytes) -> str:
    path = tmp / name
    path.write_bytes(data)
    return str(path)


def _hashes(path: list[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in path)


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize("size", SIZES)
def test_go_accepts_our_checkpoints_and_proofs(fkverify: Path, tmp_path: Path, size: int) -> None:
    hashes = _log(size)
    note = _write(tmp_path, "cp.note", _note(size, hashes))
    result = _run(fkverify, "checkpoint", VKEY, note, WITNESS_VKEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok checkpoint {ORIGIN} {size} ")
    for index in sorted({0, size // 2, size - 1}):
        path = merkle.inclusion_proof(index, size, hashes)
        entry = _write(tmp_path, "entry", b"entry %d" % index)
        proof = _write(tmp_path, "proof", _hashes(path))
        result = _run(fkverify, "inclusion", VKEY, note, str(index), entry, proof)
        assert result.returncode == 0, result.stderr
        tlog = write_proof(_note(size, hashes), index, path, b"entry %d" % index)
        result = _run(fkverify, "tlog-proof", VKEY, _write(tmp_path, "p.tlog-proof", tlog))
        assert result.returncode == 0, result.stderr
    for old in sorted({1, size // 2 or 1, size - 1 or 1, size}):
        old_note = _write(tmp_path, "old.note", _note(old, hashes))
        proof = _write(tmp_path, "cons", _hashes(merkle.consistency_proof(old, size, hashes)))
        result = _run(fkverify, "consistency", VKEY, old_note, note, proof)
        assert result.returncode == 0, (old, size, result.stderr)


def test_go_rejects_tampering(fkverify: Path, tmp_path: Path) -> None:
    size, index = 1000, 417
    hashes = _log(size)
    good = _note(size, hashes)
    path = merkle.inclusion_proof(index, size, hashes)
    entry = _write(tmp_path, "entry", b"entry %d" % index)
    other_entry = _write(tmp_path, "other", b"entry %d" % (index + 1))
    proof = _write(tmp_path, "proof", _hashes(path))
    bad_path = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
    bad_proof = _write(tmp_path, "bad-proof", _hashes(bad_path))
    tampered = _write(tmp_path, "t.note", good.replace(b"\n1000\n", b"\n1001\n"))
    note = _write(tmp_path, "cp.note", good)
    stranger = encode_vkey(SignerKey(ORIGIN, bytes(32)).verifier)
    other_witness = encode_cosigner_vkey(CosignerKey("witness.example", bytes(32)).verifier)
    lines = good.split(b"\n")
    sig = base64.b64decode(lines[-2].split(b" ")[-1])
    lines[-2] = lines[-2].rsplit(b" ", 1)[0] + b" " + base64.b64encode(sig[:12] + bytes(64))
    forged = _write(tmp_path, "forged.note", b"\n".join(lines))
    invalid = "invalid transparency proof"
    failures: list[tuple[str, tuple[str, ...]]] = [
        ("invalid signature for key forgekeep", ("checkpoint", VKEY, tampered)),
        ("invalid signature for key witness", ("checkpoint", VKEY, forged, WITNESS_VKEY)),
        ("no verifiable signatures", ("checkpoint", stranger, note)),
        ("no signature by witness", ("checkpoint", VKEY, note, other_witness)),
        (invalid, ("inclusion", VKEY, note, str(index), other_entry, proof)),
        (invalid, ("inclusion", VKEY, note, str(index + 1), entry, proof)),
        (invalid, ("inclusion", VKEY, note, str(index), entry, bad_proof)),
        ("invalid signature", ("inclusion", VKEY, tampered, str(index), entry, proof)),
    ]
    old_note = _write(tmp_path, "old.note", _note(500, hashes))
    cons = merkle.consistency_proof(500, size, hashes)
    bad_cons = _write(tmp_path, "bad-cons", _hashes([*cons[:-1], bytes(32)]))
    failures.append((invalid, ("consistency", VKEY, old_note, note, bad_cons)))
    wrong_old = _write(tmp_path, "wrong-old.note", _note(499, hashes))
    cons_file = _write(tmp_path, "c", _hashes(cons))
    failures.append((invalid, ("consistency", VKEY, wrong_old, note, cons_file)))
    tlog = write_proof(good, index, path, b"entry %d" % (index + 1))
    failures.append((invalid, ("tlog-proof", VKEY, _write(tmp_path, "x.tlog-proof", tlog))))
    for expected, args in failures:
        result = _run(fkverify, *args)
        assert result.returncode != 0, args
        assert result.stderr.startswith("fkverify: "), args
        assert expected in result.stderr, (args, result.stderr)
