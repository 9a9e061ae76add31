"""The file: blob store: layout, permissions, symlinks, temporaries, conflicts, errors."""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
from pathlib import Path

import pytest

from forgekeep._durable import TEMP_PREFIX
from forgekeep.errors import (
    BlobNotFoundError,
    ConfigError,
    ConflictError,
    DiskFullError,
    InvalidNameError,
    StorageError,
    UsageError,
)
from forgekeep.storage import BlobStore, _fsdir
from forgekeep.storage.file import READ_BUFFER_BYTES, FileBlobStore, open_file_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _read(store: FileBlobStore, key: str) -> bytes:
    with store.get(key) as handle:
        return handle.read()


def _leave_temp(store: FileBlobStore, directory: str, name: str, data: bytes) -> Path:
    """What a process killed mid-put leaves behind."""
    parent = store.root / directory
    parent.mkdir(parents=True, exist_ok=True)
    temp = parent / f"{TEMP_PREFIX}0123456789abcdef-{name}"
    temp.write_bytes(data)
    return temp


# --- layout and permissions -------------------------------------------------------------


def test_is_a_blob_store(store: FileBlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert store.uri == store.root.as_uri()
    assert repr(store) == f"FileBlobStore({str(store.root)!r})"


def test_root_and_directories_are_0700_and_blobs_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)
    try:
        store = FileBlobStore(tmp_path / "deep" / "store")
        store.put("a/b/c", [b"x"])
    finally:
        os.umask(old_umask)
    assert _mode(store.root) == 0o700
    assert _mode(store.root / "a") == 0o700
    assert _mode(store.root / "a" / "b") == 0o700
    assert _mode(store.root / "a" / "b" / "c") == 0o600


def test_key_maps_to_path_below_root(store: FileBlobStore) -> None:
    info = store.put("a/b/c", [b"hello ", memoryview(b"world")])
    assert (store.root / "a" / "b" / "c").read_bytes() == b"hello world"
    assert info.size == 11
    assert info.modified_at.tzinfo is dt.UTC


def test_existing_root_is_reused(tmp_path: Path) -> None:
    FileBlobStore(tmp_path / "s").put("k", [b"1"])
    assert FileBlobStore(tmp_path / "s").stat("k").size == 1


def test_root_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a directory"):
        FileBlobStore(tmp_path / "file")


def test_root_below_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError):
        FileBlobStore(tmp_path / "file" / "store")


def test_root_replaced_after_opening_is_refused(store: FileBlobStore) -> None:
    store.root.rmdir()
    with pytest.raises(StorageError, match="no longer a directory"):
        store.put("k", [b"x"])


def test_get_reads_in_big_buffered_pieces(store: FileBlobStore) -> None:
    store.put("k", [b"abc" * 1000])
    with store.get("k") as handle:
        assert handle.read(3) == b"abc"
        assert handle.seek(2999) == 2999
        assert handle.read() == b"c"
        assert getattr(handle, "raw", None) is not None
        assert os.get_blocking(handle.fileno())
    assert READ_BUFFER_BYTES == 1 << 20


# --- symlinks ----------------------------------------------------------------------------


def test_symlinked_directory_is_never_followed(store: FileBlobStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"outside the root")
    (store.root / "a").symlink_to(outside)
    for call in (
        lambda: store.put("a/secret", [b"overwrite"]),
        lambda: store.get("a/secret"),
        lambda: store.stat("a/secret"),
        lambda: store.delete("a/secret"),
        lambda: list(store.list("a/")),
    ):
        with pytest.raises(StorageError, match="symlink"):
            call()
    assert (outside / "secret").read_bytes() == b"outside the root"
    assert list(store.list()) == []


def test_symlinked_blob_is_never_followed(store: FileBlobStore, tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"outside")
    (store.root / "link").symlink_to(tmp_path / "target")
    with pytest.raises(StorageError, match="symlink"):
        store.get("link")
    with pytest.raises(StorageError, match="symlink"):
        store.stat("link")
    assert [i.key for i in store.list()] == []
    store.put("link", [b"inside"])  # replaces the link itself, never the target
    assert (tmp_path / "target").read_bytes() == b"outside"
    assert not (store.root / "link").is_symlink()


def test_special_files_are_not_blobs(store: FileBlobStore) -> None:
    os.mkfifo(store.root / "fifo")
    with pytest.raises(BlobNotFoundError):
        store.get("fifo")  # opened non-blocking, so a FIFO cannot hang the reader
    with pytest.raises(BlobNotFoundError):
        store.stat("fifo")
    assert list(store.list()) == []


# --- directories and conflicts ------------------------------------------------------------


def test_a_directory_is_not_a_blob(store: FileBlobStore) -> None:
    store.put("a/b", [b"x"])
    with pytest.raises(BlobNotFoundError):
        store.get("a")
    with pytest.raises(BlobNotFoundError):
        store.stat("a")
    store.delete("a")
    assert store.stat("a/b").size == 1


def test_key_below_a_blob_is_missing_or_a_conflict(store: FileBlobStore) -> None:
    store.put("a", [b"x"])
    with pytest.raises(BlobNotFoundError):
        store.get("a/b")
    with pytest.raises(ConflictError):
        store.put("a/b", [b"y"])
    store.delete("a/b")
    assert list(store.list("a/")) == []
    assert store.stat("a").size == 1


def test_key_over_a_directory_is_a_conflict(store: FileBlobStore) -> None:
    store.put("a/b", [b"x"])
    with pytest.raises(ConflictError):
        store.put("a", [b"y"])
    assert list(store.list_temporaries()) == []


def test_delete_prunes_empty_directories_only(store: FileBlobStore) -> None:
    store.put("a/b/c", [b"1"])
    store.put("a/d", [b"2"])
    store.delete("a/b/c")
    assert not (store.root / "a" / "b").exists()
    assert (store.root / "a").is_dir()
    store.delete("a/d")
    assert list(store.root.iterdir()) == []
    assert store.root.is_dir()


# --- temporaries (crash simulation) ---------------------------------------------------------


def test_leftover_temp_is_not_listed_but_found(store: FileBlobStore) -> None:
    store.put("a/real", [b"r"])
    temp = _leave_temp(store, "a", "half", b"half-written")
    assert [i.key for i in store.list()] == ["a/real"]
    leftovers = list(store.list_temporaries())
    assert [i.key for i in leftovers] == [f"a/{temp.name}"]
    assert leftovers[0].size == len(b"half-written")
    with pytest.raises(InvalidNameError):
        store.get(f"a/{temp.name}")
    store.remove_temporary(f"a/{temp.name}")
    assert not temp.exists()
    assert list(store.list_temporaries()) == []


def test_remove_temporary_refuses_blobs(store: FileBlobStore) -> None:
    store.put("a/real", [b"r"])
    with pytest.raises(InvalidNameError):
        store.remove_temporary("a/real")
    with pytest.raises(InvalidNameError):
        store.remove_temporary(f"../{TEMP_PREFIX}x")
    assert store.stat("a/real").size == 1


def test_remove_missing_temporary_is_idempotent(store: FileBlobStore) -> None:
    store.remove_temporary(f"{TEMP_PREFIX}gone")
    store.remove_temporary(f"nowhere/{TEMP_PREFIX}gone")


def test_temp_in_root_is_found(store: FileBlobStore) -> None:
    temp = _leave_temp(store, ".", "x", b"")
    assert [i.key for i in store.list_temporaries()] == [temp.name]


# --- listing ------------------------------------------------------------------------------


def test_list_skips_foreign_names(store: FileBlobStore) -> None:
    store.put("ok", [b"1"])
    (store.root / "bad name").write_bytes(b"")
    (store.root / "bad dir").mkdir()
    (store.root / "bad dir" / "x").write_bytes(b"")
    assert [i.key for i in store.list()] == ["ok"]


def test_list_below_a_missing_or_file_prefix_is_empty(store: FileBlobStore) -> None:
    store.put("f", [b"1"])
    assert list(store.list("missing/")) == []
    assert list(store.list("f/")) == []


def test_list_tolerates_concurrent_deletes(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("d/x", [b"1"])
    real_entries = _fsdir._entries

    def with_ghosts(fd: int, starting: str) -> list[tuple[str, bool]]:
        return [("ghost-dir", True), ("ghost-file", False), *real_entries(fd, starting)]

    monkeypatch.setattr(_fsdir, "_entries", with_ghosts)
    assert [i.key for i in store.list()] == ["d/x"]


# --- writing: chunks, batching, partial writes, errors ---------------------------------------


def test_many_small_chunks_are_batched_correctly(store: FileBlobStore) -> None:
    small = [bytes([i % 256]) * 10 for i in range(3000)]  # more chunks than IOV_MAX
    medium = [bytes([i]) * 65536 for i in range(40)]  # more bytes than a batch
    store.put("k", [*small, *medium])
    assert (store.root / "k").read_bytes() == b"".join([*small, *medium])


def test_odd_buffers_are_accepted(store: FileBlobStore) -> None:
    words = memoryview(bytearray(b"abcdefgh")).cast("H")
    strided = memoryview(b"0123456789")[::2]
    store.put("k", [words, strided, bytearray(b"!")])  # type: ignore[list-item]
    assert (store.root / "k").read_bytes() == b"abcdefgh02468!"


def test_non_bytes_chunk_is_a_usage_error(store: FileBlobStore) -> None:
    store.put("k", [b"old"])
    with pytest.raises(UsageError, match="bytes-like"):
        store.put("k", [b"new", "text"])  # type: ignore[list-item]
    assert _read(store, "k") == b"old"
    assert list(store.list_temporaries()) == []


def test_partial_writes_are_completed(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_writev = os.writev

    def stingy(fd: int, buffers: list[memoryview]) -> int:
        return real_writev(fd, [buffers[0][:3]])

    monkeypatch.setattr(os, "writev", stingy)
    store.put("k", [b"abcdefgh", b"", b"ij", memoryview(bytearray(b"klmnop"))])
    monkeypatch.undo()
    assert (store.root / "k").read_bytes() == b"abcdefghijklmnop"


@pytest.mark.parametrize(
    ("code", "error"),
    [(errno.EIO, StorageError), (errno.ENOSPC, DiskFullError), (errno.EDQUOT, DiskFullError)],
)
def test_write_errors_remove_the_temp(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch, code: int, error: type[Exception]
) -> None:
    store.put("k", [b"old"])

    def broken(fd: int, buffers: list[memoryview]) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "writev", broken)
    with pytest.raises(error):
        store.put("k", [b"new"])
    monkeypatch.undo()
    assert (store.root / "k").read_bytes() == b"old"
    assert list(store.list_temporaries()) == []


def test_producer_exception_propagates_unchanged(store: FileBlobStore) -> None:
    failure = OSError(errno.EIO, "the producer's own I/O error")

    def producer() -> object:
        yield b"partial"
        raise failure

    with pytest.raises(OSError, match="own I/O error") as caught:
        store.put("k", producer())  # type: ignore[arg-type]
    assert caught.value is failure
    assert list(store.list()) == []
    assert list(store.list_temporaries()) == []


def test_keyboard_interrupt_removes_the_temp(store: FileBlobStore) -> None:
    def producer() -> object:
        yield b"partial"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.put("k", producer())  # type: ignore[arg-type]
    assert list(store.list_temporaries()) == []


def test_failed_temp_cleanup_is_left_for_fsck(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_unlink(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    def producer() -> object:
        yield b"partial"
        monkeypatch.setattr(os, "unlink", no_unlink)
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        store.put("k", producer())  # type: ignore[arg-type]
    monkeypatch.undo()
    assert len(list(store.list_temporaries())) == 1


def test_fsync_failure_is_a_storage_error(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(StorageError, match="could not write"):
        store.put("k", [b"x"])
    monkeypatch.undo()
    assert list(store.list_temporaries()) == []
    assert list(store.list()) == []


# --- races with concurrent deletes and writers -----------------------------------------------


def _open_failing(monkeypatch: pytest.MonkeyPatch, times: int, code: int) -> None:
    """Make the next ``times`` temp-file creations fail with ``code``."""
    real_open = os.open
    left = [times]

    def flaky(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT and left[0] > 0:
            left[0] -= 1
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", flaky)


def test_put_walks_again_when_its_directory_was_pruned(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_failing(monkeypatch, times=2, code=errno.ENOENT)
    store.put("a/b", [b"x"])
    monkeypatch.undo()
    assert _read(store, "a/b") == b"x"


def test_put_gives_up_when_its_directory_keeps_vanishing(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_failing(monkeypatch, times=100, code=errno.ENOENT)
    with pytest.raises(StorageError, match="kept disappearing"):
        store.put("a/b", [b"x"])


def test_temp_creation_failure_is_translated(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_failing(monkeypatch, times=1, code=errno.ENOSPC)
    with pytest.raises(DiskFullError):
        store.put("a/b", [b"x"])


def test_directory_made_by_a_concurrent_writer_is_used(
    store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = os.mkdir

    def racing(path: str, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        real_mkdir(path, mode, dir_fd=dir_fd)
        raise FileExistsError(errno.EEXIST, "made by someone else")

    monkeypatch.setattr(os, "mkdir", racing)
    store.put("a/b/c", [b"x"])
    monkeypatch.undo()
    assert _read(store, "a/b/c") == b"x"


def test_failed_walk_closes_its_descriptors(store: FileBlobStore) -> None:
    store.put("a", [b"x"])
    before = len(list(Path("/proc/self/fd").iterdir()))
    for _ in range(20):
        with pytest.raises(ConflictError):
            store.put("a/b/c", [b"y"])
    assert len(list(Path("/proc/self/fd").iterdir())) == before


# --- URIs -----------------------------------------------------------------------------------


def test_relative_uri_is_below_base_dir(tmp_path: Path) -> None:
    store = open_file_store("file:sites/local-de", base_dir=tmp_path)
    assert store.root == tmp_path / "sites" / "local-de"
    assert store.uri == "file:sites/local-de"


def test_absolute_uri(tmp_path: Path) -> None:
    root = tmp_path / "with space"
    store = open_file_store(root.as_uri())
    assert store.root == root
    assert open_file_store(f"file:{tmp_path}/single-slash").root == tmp_path / "single-slash"


@pytest.mark.parametrize(
    "uri",
    [
        "file:",
        "file://host/x",
        "file:///x?mode=1",
        "file:///x#frag",
        "file:///a%00b",
        "memory:",
    ],
)
def test_bad_file_uris(uri: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_file_store(uri, base_dir=tmp_path)


def test_relative_uri_needs_a_base_dir() -> None:
    with pytest.raises(ConfigError, match="base directory"):
        open_file_store("file:sites/x")


def test_unknown_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no options"):
        open_file_store("file:x", base_dir=tmp_path, region="eu")
