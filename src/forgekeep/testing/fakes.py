"""Shipped fakes for unit tests: an in-memory blob store and a fault injector.

Rule: a fake keeps the same contract as the real backends (key validation,
all-or-nothing puts, the same errors) and passes the same conformance battery
(``exercise_blob_store``), so code that passes against a fake does not meet
different rules in production. One documented difference: a real ``file:``
store cannot hold ``a/b`` and ``a/b/c`` at once (it raises ConflictError);
the memory store, like an S3 bucket, can.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from typing import BinaryIO, Final

from forgekeep.clock import Clock, SystemClock
from forgekeep.errors import BlobNotFoundError, DiskFullError, ForgekeepError, UsageError
from forgekeep.storage._chunks import byte_view
from forgekeep.storage._keys import validate_blob_key, validate_blob_prefix
from forgekeep.storage.protocol import BlobInfo, BlobStore

__all__ = ["BLOB_OPERATIONS", "FaultInjectingBlobStore", "MemoryBlobStore"]

#: The operations a FaultInjectingBlobStore can be told to fail.
BLOB_OPERATIONS: Final = frozenset({"put", "get", "delete", "list", "stat"})


def _collect(chunks: Iterable[bytes | memoryview]) -> bytes:
    """Copy each chunk as it arrives (a producer may reuse its buffer)."""
    data = bytearray()
    for chunk in chunks:
        data += byte_view(chunk)
    return bytes(data)


class MemoryBlobStore:
    """A BlobStore held in a dict, with the same key rules and semantics."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._blobs: dict[str, tuple[bytes, BlobInfo]] = {}
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return "memory:"

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        validate_blob_key(key)
        data = _collect(chunks)
        info = BlobInfo(key=key, size=len(data), modified_at=self._clock.now())
        with self._lock:
            self._blobs[key] = (data, info)
        return info

    def _entry(self, key: str) -> tuple[bytes, BlobInfo]:
        validate_blob_key(key)
        with self._lock:
            found = self._blobs.get(key)
        if found is None:
            raise BlobNotFoundError(f"no blob {key!r}")
        return found

    def get(self, key: str) -> BinaryIO:
        return io.BytesIO(self._entry(key)[0])

    def stat(self, key: str) -> BlobInfo:
        return self._entry(key)[1]

    def delete(self, key: str) -> None:
        validate_blob_key(key)
        with self._lock:
            self._blobs.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        validate_blob_prefix(prefix)
        with self._lock:
            found = [info for key, (_, info) in self._blobs.items() if key.startswith(prefix)]
        return iter(sorted(found, key=lambda info: info.key))


class FaultInjectingBlobStore:
    """Wraps a BlobStore and makes chosen operations fail with a Forgekeep error.

    A put in ``fail_on`` raises ``error`` as soon as it has received more than
    ``fail_after_bytes`` bytes (at once when that is ``None``), like a disk
    that fills up mid-write. The failure comes from the producer side, so the
    inner store runs its own clean-up and keeps the old blob under that key.
    Any other operation in ``fail_on`` raises at once. ``calls`` counts every
    operation; ``faults`` counts the failures injected.
    """

    def __init__(
        self,
        inner: BlobStore,
        *,
        fail_after_bytes: int | None = None,
        error: type[ForgekeepError] = DiskFullError,
        fail_on: Collection[str] = frozenset({"put"}),
    ) -> None:
        _check_fault_options(fail_after_bytes, error, fail_on)
        self.inner = inner
        self.fail_after_bytes = fail_after_bytes
        self.error = error
        self.fail_on = frozenset(fail_on)
        self.calls: Counter[str] = Counter()
        self.faults = 0

    @property
    def uri(self) -> str:
        return self.inner.uri

    def _enter(self, operation: str) -> None:
        self.calls[operation] += 1
        if operation != "put" and operation in self.fail_on:
            raise self._fault(operation)

    def _fault(self, operation: str) -> ForgekeepError:
        self.faults += 1
        return self.error(f"injected fault in {operation}")

    def _metered(self, chunks: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview]:
        limit = self.fail_after_bytes
        if limit is None:
            raise self._fault("put")
        received = 0
        for chunk in chunks:
            received += byte_view(chunk).nbytes
            if received > limit:
                raise self._fault("put")
            yield chunk

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        self._enter("put")
        if "put" in self.fail_on:
            chunks = self._metered(chunks)
        return self.inner.put(key, chunks)

    def get(self, key: str) -> BinaryIO:
        self._enter("get")
        return self.inner.get(key)

    def stat(self, key: str) -> BlobInfo:
        self._enter("stat")
        return self.inner.stat(key)

    def delete(self, key: str) -> None:
        self._enter("delete")
        self.inner.delete(key)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        self._enter("list")
        return self.inner.list(prefix)


def _check_fault_options(
    fail_after_bytes: int | None, error: type[ForgekeepError], fail_on: Collection[str]
) -> None:
    unknown = set(fail_on) - BLOB_OPERATIONS
    if unknown:
        raise UsageError(f"cannot inject faults into {sorted(unknown)}")
    if fail_after_bytes is not None and fail_after_bytes < 0:
        raise UsageError("fail_after_bytes must be at least 0")
    if not (isinstance(error, type) and issubclass(error, ForgekeepError)):
        raise UsageError("the injected error must be a ForgekeepError subclass")
