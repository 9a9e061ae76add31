"""A put and a get of a 2 GiB file each stay under 150 MiB peak RSS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SIZE = 2 << 30
LIMIT = 150 << 20
CHILD = Path(__file__).with_name("_memory_child.py")


def _peak_rss(*args: str) -> int:
    done = subprocess.run(
        [sys.executable, str(CHILD), *args], check=True, capture_output=True, text=True, timeout=600
    )
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_gib_put_and_get_stay_under_150_mib(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    with src.open("wb") as handle:  # sparse: reads cost no disk, the pipeline still runs
        handle.truncate(SIZE)
    home, out = tmp_path / "ws", tmp_path / "out.bin"
    put_rss = _peak_rss("put", str(home), str(src))
    blob = next(p for p in (home / "sites").rglob("*") if p.is_file())
    assert blob.stat().st_size > SIZE
    get_rss = _peak_rss("get", str(home), str(out))
    assert out.stat().st_size == SIZE
    assert put_rss < LIMIT, f"put peaked at {put_rss >> 20} MiB"
    assert get_rss < LIMIT, f"get peaked at {get_rss >> 20} MiB"
