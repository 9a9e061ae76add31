"""Durable writes: atomic replace, and create-only publishing that never overwrites."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from forgekeep._durable import TEMP_PREFIX, write_atomic, write_new


def test_write_new_creates_with_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "signer.key"
    write_new(target, b"secret\n", mode=0o600)
    assert target.read_bytes() == b"secret\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []


def test_write_new_never_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "signer.key"
    write_atomic(target, b"first")
    with pytest.raises(FileExistsError):
        write_new(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["signer.key"]
