"""The shipped fakes pass the blob-store battery, and the battery catches broken stores."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import pytest

from forgekeep.clock import ManualClock
from forgekeep.errors import (
    AccessDeniedError,
    BlobNotFoundError,
    DiskFullError,
    StorageError,
    UsageError,
)
from forgekeep.storage import BlobInfo, BlobStore
from forgekeep.storage._chunks import byte_view
from forgekeep.testing._blob_conformance import exercise_blob_store
from forgekeep.testing.fakes import FaultInjectingBlobStore, MemoryBlobStore


def _read(store: BlobStore, key: str) -> bytes:
    with store.get(key) as handle:
        return handle.read()


# --- the fakes conform ----------------------------------------------------------------------


def test_memory_store_conforms() -> None:
    store = MemoryBlobStore()
    assert isinstance(store, BlobStore)
    assert store.uri == "memory:"
    exercise_blob_store(store)
    assert list(store.list()) == []


def test_disarmed_fault_injector_conforms() -> None:
    store = FaultInjectingBlobStore(MemoryBlobStore(), fail_on=frozenset())
    assert isinstance(store, BlobStore)
    exercise_blob_store(store)
    assert store.faults == 0
    assert store.calls["put"] > 0


def test_memory_store_uses_its_clock() -> None:
    clock = ManualClock(dt.datetime(2030, 5, 1, tzinfo=dt.UTC))
    store = MemoryBlobStore(clock=clock)
    assert store.put("k", [b"x"]).modified_at == clock.now()
    assert store.stat("k").modified_at == clock.now()


# --- fault injection ------------------------------------------------------------------------


def test_put_fails_after_the_byte_budget_and_keeps_the_old_blob() -> None:
    inner = MemoryBlobStore()
    store = FaultInjectingBlobStore(inner, fail_after_bytes=10)
    store.put("k", [b"0123456789"])  # exactly the budget: fine
    with pytest.raises(DiskFullError, match="injected fault in put"):
        store.put("k", [b"01234", memoryview(b"567890")])
    assert _read(inner, "k") == b"0123456789"
    with pytest.raises(DiskFullError):
        store.put("new", [b"x" * 11])
    with pytest.raises(BlobNotFoundError):
        inner.stat("new")
    assert (store.faults, store.calls["put"]) == (2, 3)


def test_put_fails_at_once_without_a_budget() -> None:
    store = FaultInjectingBlobStore(MemoryBlobStore())
    with pytest.raises(DiskFullError):
        store.put("k", [])
    assert list(store.list()) == []


@pytest.mark.parametrize("operation", ["get", "stat", "delete", "list"])
def test_other_operations_fail_at_once(operation: str) -> None:
    inner = MemoryBlobStore()
    inner.put("k", [b"x"])
    store = FaultInjectingBlobStore(inner, error=StorageError, fail_on={operation})
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: store.get("k"),
        "stat": lambda: store.stat("k"),
        "delete": lambda: store.delete("k"),
        "list": lambda: store.list(""),
    }
    with pytest.raises(StorageError, match=f"injected fault in {operation}"):
        calls[operation]()
    assert store.calls[operation] == 1
    store.put("k2", [b"y"])  # put is not armed here
    assert inner.stat("k").size == 1
    assert store.uri == "memory:"


def test_any_forgekeep_error_can_be_injected() -> None:
    store = FaultInjectingBlobStore(MemoryBlobStore(), error=AccessDeniedError, fail_on={"get"})
    with pytest.raises(AccessDeniedError):
        store.get("k")


@pytest.mark.parametrize(
    "options",
    [
        {"fail_on": {"rename"}},
        {"fail_after_bytes": -1},
        {"error": ValueError},
        {"error": "DiskFullError"},
    ],
)
def test_bad_fault_options(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        FaultInjectingBlobStore(MemoryBlobStore(), **options)  # type: ignore[arg-type]


# --- the battery fails broken stores ----------------------------------------------------------


class _KeepsViews(MemoryBlobStore):
    """Holds chunks past their turn (breaks producers that reuse one buffer)."""

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        held = [byte_view(chunk) for chunk in chunks]
        return super().put(key, [bytes(view) for view in held])


class _NoValidation(MemoryBlobStore):
    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        if key.startswith(".."):
            return BlobInfo(key=key, size=0, modified_at=dt.datetime.now(dt.UTC))
        return super().put(key, chunks)


class _Unsorted(MemoryBlobStore):
    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        return iter(sorted(super().list(prefix), key=lambda i: i.key.split("/")))


class _Partial(MemoryBlobStore):
    """Keeps what it received before the producer failed."""

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        received: list[bytes] = []
        try:
            received.extend(bytes(chunk) for chunk in chunks)
        finally:
            super().put(key, received)
        return self.stat(key)


class _LeaksKeyError(MemoryBlobStore):
    def get(self, key: str) -> BinaryIO:
        try:
            return super().get(key)
        except BlobNotFoundError:
            raise KeyError(key) from None


class _SwallowsProducerErrors(MemoryBlobStore):
    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        try:
            return super().put(key, chunks)
        except Exception:  # noqa: BLE001 - the bug under test
            return BlobInfo(key=key, size=0, modified_at=dt.datetime.now(dt.UTC))


class _LeaksCredentials(MemoryBlobStore):
    @property
    def uri(self) -> str:
        return "s3://key:secret@minio/bucket"


class _Corrupts(MemoryBlobStore):
    """Returns bytes that were never put."""

    def get(self, key: str) -> BinaryIO:
        return io.BytesIO(_read_now(self, key) + b"torn")


class _NaiveTimes(MemoryBlobStore):
    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        info = super().put(key, chunks)
        return BlobInfo(key=key, size=info.size, modified_at=info.modified_at.replace(tzinfo=None))


class _WrongStatSize(MemoryBlobStore):
    def stat(self, key: str) -> BlobInfo:
        info = super().stat(key)
        return BlobInfo(key=key, size=info.size + 1, modified_at=info.modified_at)


class _ReplacesProducerErrors(MemoryBlobStore):
    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        try:
            return super().put(key, chunks)
        except Exception as exc:
            raise type(exc)("rewrapped") from exc


class _LeavesTemporaries(MemoryBlobStore):
    """Reports a temporary for every put whose producer failed."""

    def __init__(self) -> None:
        super().__init__()
        self.temporaries: list[BlobInfo] = []

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        try:
            return super().put(key, chunks)
        except Exception:
            self.temporaries.append(BlobInfo(key, 1, dt.datetime.now(dt.UTC)))
            raise

    def list_temporaries(self) -> Iterator[BlobInfo]:
        return iter(self.temporaries)


class _ForgetsDeletes(MemoryBlobStore):
    """get and stat honour deletes, list does not."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: dict[str, BlobInfo] = {}

    def delete(self, key: str) -> None:
        with contextlib.suppress(BlobNotFoundError):
            self.deleted[key] = self.stat(key)
        super().delete(key)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        found = {info.key: info for info in super().list(prefix)}
        found.update({k: v for k, v in self.deleted.items() if k.startswith(prefix)})
        return iter(sorted(found.values(), key=lambda info: info.key))


def _read_now(store: MemoryBlobStore, key: str) -> bytes:
    with MemoryBlobStore.get(store, key) as handle:
        return handle.read()


@pytest.mark.parametrize(
    "broken",
    [
        _KeepsViews,
        _NoValidation,
        _Unsorted,
        _Partial,
        _LeaksKeyError,
        _SwallowsProducerErrors,
        _LeaksCredentials,
        _Corrupts,
        _NaiveTimes,
        _WrongStatSize,
        _ReplacesProducerErrors,
        _LeavesTemporaries,
        _ForgetsDeletes,
    ],
)
def test_battery_catches_broken_stores(broken: type[MemoryBlobStore]) -> None:
    with pytest.raises(AssertionError, match="blob store conformance"):
        exercise_blob_store(broken())
