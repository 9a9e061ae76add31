"""Benchmark: FileBlobStore.put against a plain open/write/fsync loop.

Writes SIZE bytes (default 1 GiB) as memoryview chunks (default 1 MiB) both
ways, alternating for ROUNDS rounds, and prints the best MB/s of each (MB is
10**6 bytes) and the ratio put/plain. The put path adds a temporary name, a
rename and a directory fsync; with small chunks it also batches into writev.

    .venv/bin/python bench/blob_write.py [--size-mib 1024] [--chunk-kib 1024]
                                         [--rounds 3] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from forgekeep.storage.file import FileBlobStore


def _chunks(total: int, chunk: int) -> Iterator[memoryview]:
    block = memoryview(os.urandom(chunk))
    for _ in range(total // chunk):
        yield block


def _plain(path: Path, total: int, chunk: int) -> None:
    with path.open("wb") as handle:
        for piece in _chunks(total, chunk):
            handle.write(piece)
        handle.flush()
        os.fsync(handle.fileno())


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (a disk, not tmpfs)")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    total, chunk = args.size_mib << 20, args.chunk_kib << 10
    work = Path(tempfile.mkdtemp(prefix="fk-bench-", dir=args.dir))
    store = FileBlobStore(work / "store")
    plain_path = work / "plain.bin"
    best_plain = best_put = float("inf")
    try:
        for _ in range(args.rounds):
            best_plain = min(best_plain, _timed(lambda: _plain(plain_path, total, chunk)))
            plain_path.unlink()
            best_put = min(best_put, _timed(lambda: store.put("bench/blob", _chunks(total, chunk))))
            store.delete("bench/blob")
    finally:
        shutil.rmtree(work)
    print(
        f"wrote {args.size_mib} MiB in {args.chunk_kib} KiB memoryview chunks,"
        f" best of {args.rounds}"
    )
    print(f"plain open/write/fsync : {total / best_plain / 1e6:8.1f} MB/s  ({best_plain:.2f} s)")
    print(f"FileBlobStore.put      : {total / best_put / 1e6:8.1f} MB/s  ({best_put:.2f} s)")
    print(f"ratio put/plain        : {best_plain / best_put:8.2f}")


if __name__ == "__main__":
    main()
