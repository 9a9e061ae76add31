"""One flipped byte on disk, through the CLI: get refuses and leaves no output; fsck exits 4.

``fsck --repair`` never deletes a damaged committed version: it is reported for
restore from a replica, and the evidence stays on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fk_cli_harness import PROJECT, REQUEST_ID, SITE, InProcess, Sub, blobs_under, temporaries

CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class Stored:
    home: Path
    data: bytes  # version 2 of blade.bin
    older: bytes  # version 1
    blob: Path  # the stored object of version 2


@pytest.fixture
def stored(fk: InProcess, ws: Path, tmp_path: Path) -> Stored:
    src = tmp_path / "blade.bin"
    older = os.urandom(5 * CHUNK + 99)
    src.write_bytes(older)
    fk("--workspace", str(ws), "put", str(src), "-p", PROJECT).ok()
    data = os.urandom(12 * CHUNK + 1234)
    src.write_bytes(data)
    fk("--workspace", str(ws), "put", str(src), "-p", PROJECT).ok()
    (asset,) = fk("--workspace", str(ws), "ls", "--json").json()
    latest = asset["latest"]
    blob = ws / SITE / "v1" / asset["id"] / latest["version_id"]
    assert blob.is_file()
    return Stored(ws, data, older, blob)


def _flip(blob: Path, where: Callable[[int], int]) -> bytes:
    data = bytearray(blob.read_bytes())
    data[where(len(data))] ^= 0x01
    blob.write_bytes(bytes(data))
    return bytes(data)


FLIPS: dict[str, Callable[[int], int]] = {
    "middle": lambda n: n // 2,
    "first-chunk": lambda _n: 200,  # just past the header, salt and commitment
    "last-byte": lambda n: n - 1,  # the final chunk's tag
}


def _assert_refused_and_kept(fk: InProcess, stored: Stored, damaged: bytes) -> None:
    """fsck finds it (exit 4); repair keeps it; the older version still reads fine."""
    w = ("--workspace", str(stored.home))
    report = fk(*w, "fsck", "--json")
    assert report.code == 4, report
    kinds = {f["kind"] for f in report.parsed()["findings"]}
    assert "hash-mismatch" in kinds or "size-mismatch" in kinds, kinds
    text = fk(*w, "fsck")
    assert text.code == 4
    assert stored.blob.name in text.out

    repaired = fk(*w, "fsck", "--repair", "--grace", "0", "--json")
    assert repaired.code == 4, repaired
    assert repaired.parsed()["repaired"] == []
    assert stored.blob.read_bytes() == damaged  # the evidence is kept
    assert [v["number"] for v in fk(*w, "versions", "blade.bin", "--json").json()] == [1, 2]
    assert [a["versions"] for a in fk(*w, "ls", "--json").json()] == [2]
    assert fk(*w, "fsck").code == 4  # still damaged, still reported

    out = stored.home.parent / "older.bin"
    fk(*w, "get", "blade.bin@1", "-o", str(out)).ok()
    assert out.read_bytes() == stored.older


@pytest.mark.parametrize("where", FLIPS.values(), ids=FLIPS.keys())
def test_flipped_byte_is_refused(
    fk: InProcess, stored: Stored, tmp_path: Path, where: Callable[[int], int]
) -> None:
    damaged = _flip(stored.blob, where)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "blade.bin"

    result = fk("--workspace", str(stored.home), "get", "blade.bin", "-o", str(out))

    result.error("FK-INTEGRITY-", 1)
    assert not out.exists()
    assert list(out_dir.iterdir()) == []
    _assert_refused_and_kept(fk, stored, damaged)


def test_flipped_header_byte_is_refused(fk: InProcess, stored: Stored, tmp_path: Path) -> None:
    damaged = _flip(stored.blob, lambda _n: 12)  # inside the key ring id of the header
    out = tmp_path / "blade.out"
    fk("--workspace", str(stored.home), "get", "blade.bin", "-o", str(out)).error("FK-FORMAT-", 1)
    assert not out.exists()
    kinds = {
        f["kind"]
        for f in fk("--workspace", str(stored.home), "fsck", "--json").parsed()["findings"]
    }
    assert kinds == {"hash-mismatch", "bad-header"}
    _assert_refused_and_kept(fk, stored, damaged)


@pytest.mark.subprocess
def test_flipped_byte_through_the_entry_point(
    fk: InProcess, fk_sub: Sub, stored: Stored, tmp_path: Path
) -> None:
    damaged = _flip(stored.blob, FLIPS["middle"])
    out = tmp_path / "blade.out"
    out.write_bytes(b"previous download")

    result = fk_sub("--workspace", str(stored.home), "get", "blade.bin", "-o", str(out))
    message = result.error("FK-INTEGRITY-", 1)
    assert REQUEST_ID.search(message), message
    assert out.read_bytes() == b"previous download"  # an existing file is not replaced
    assert temporaries(tmp_path) == []

    check = fk_sub("--workspace", str(stored.home), "fsck")
    assert check.code == 4, check
    assert "hash-mismatch" in check.out
    _assert_refused_and_kept(fk, stored, damaged)


@pytest.mark.subprocess
def test_flipped_byte_on_stdout_fails_before_the_damage(fk_sub: Sub, stored: Stored) -> None:
    """``-o -`` is unverified until exit 0: it stops at the damaged chunk and exits 1."""
    _flip(stored.blob, FLIPS["middle"])
    result = fk_sub("--workspace", str(stored.home), "get", "blade.bin", "-o", "-")
    result.error("FK-INTEGRITY-", 1)
    assert len(result.stdout) < len(stored.data)
    assert stored.data.startswith(result.stdout)  # only verified chunks were released


def test_truncated_blob(fk: InProcess, stored: Stored, tmp_path: Path) -> None:
    data = stored.blob.read_bytes()
    stored.blob.write_bytes(data[: -CHUNK // 2])
    out = tmp_path / "blade.out"
    fk("--workspace", str(stored.home), "get", "blade.bin", "-o", str(out)).error(
        "FK-INTEGRITY-", 1
    )
    assert not out.exists()
    _assert_refused_and_kept(fk, stored, data[: -CHUNK // 2])


def test_missing_blob(fk: InProcess, stored: Stored, tmp_path: Path) -> None:
    stored.blob.unlink()
    w = ("--workspace", str(stored.home))
    out = tmp_path / "blade.out"
    fk(*w, "get", "blade.bin", "-o", str(out)).error("FK-STORE-003", 1)
    assert not out.exists()
    report = fk(*w, "fsck", "--json")
    assert report.code == 4
    assert {f["kind"] for f in report.parsed()["findings"]} == {"missing-replica"}
    repaired = fk(*w, "fsck", "--repair", "--grace", "0", "--json")
    assert repaired.code == 4
    assert [v["number"] for v in fk(*w, "versions", "blade.bin", "--json").json()] == [1, 2]


def test_swapped_blobs_are_refused(fk: InProcess, stored: Stored, tmp_path: Path) -> None:
    """A valid ciphertext of another version under this version's name is not accepted."""
    (older_blob,) = (p for p in blobs_under(stored.home / SITE) if not p.endswith(stored.blob.name))
    stored.blob.write_bytes((stored.home / SITE / older_blob).read_bytes())
    out = tmp_path / "blade.out"
    result = fk("--workspace", str(stored.home), "get", "blade.bin", "-o", str(out))
    result.error("FK-INTEGRITY-", 1)
    assert not out.exists()
    assert fk("--workspace", str(stored.home), "fsck").code == 4
