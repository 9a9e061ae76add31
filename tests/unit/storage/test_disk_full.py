"""A full disk: a put fails with DiskFullError, leaves no temp and keeps the old blob.

The real test mounts a 2 MiB tmpfs (needs root or CAP_SYS_ADMIN). Without that
it is skipped with a reason, except in CI (``CI`` set), where a missing mount
fails the test. The simulated test always runs, through FaultInjectingBlobStore.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from forgekeep.errors import DiskFullError
from forgekeep.storage.file import FileBlobStore
from forgekeep.testing.fakes import FaultInjectingBlobStore
from forgekeep.testing.tmpfs import try_mount_tmpfs, unmount

_MIB = 1 << 20


@pytest.fixture
def full_disk_root(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    problem = try_mount_tmpfs(mount_point, "2m")
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real full-disk test: {problem}")
        pytest.skip(
            f"{problem}; the real full-disk test is skipped here, "
            "test_simulated_full_disk covers the path with FaultInjectingBlobStore"
        )
    try:
        yield mount_point
    finally:
        unmount(mount_point)


def _chunks(total: int) -> Iterator[memoryview]:
    block = memoryview(b"\xab" * _MIB)
    for _ in range(total // _MIB):
        yield block


def _assert_clean_failure(store: FileBlobStore) -> None:
    assert [i.key for i in store.list()] == ["site/blob"]
    assert list(store.list_temporaries()) == []
    with store.get("site/blob") as handle:
        assert handle.read() == b"old content"


def test_real_full_disk(full_disk_root: Path) -> None:
    store = FileBlobStore(full_disk_root / "store")
    store.put("site/blob", [b"old content"])
    with pytest.raises(DiskFullError) as caught:
        store.put("site/blob", _chunks(4 * _MIB))
    assert caught.value.code == "FK-STORE-002"
    _assert_clean_failure(store)
    with pytest.raises(DiskFullError):
        store.put("site/new", _chunks(4 * _MIB))
    _assert_clean_failure(store)
    store.put("site/small", [b"there is room again"])  # the failed puts freed their space
    assert store.stat("site/small").size == 19


def test_simulated_full_disk(tmp_path: Path) -> None:
    inner = FileBlobStore(tmp_path / "store")
    store = FaultInjectingBlobStore(inner, fail_after_bytes=2 * _MIB)
    store.put("site/blob", [b"old content"])
    with pytest.raises(DiskFullError):
        store.put("site/blob", _chunks(4 * _MIB))
    _assert_clean_failure(inner)
    assert store.faults == 1
    assert store.calls["put"] == 2
