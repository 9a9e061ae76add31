"""The blob-store conformance battery: every BlobStore backend must pass it.

A backend's tests call ``exercise_blob_store(store)`` on a fresh, writable
store. The battery works below one random first segment (``fk-conformance-…``)
and deletes what it wrote, so it can run against a shared bucket too.

Rule: this module ships in the package, so its checks are plain
``if …: raise AssertionError(…)``; ``python -O`` must not strip them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Final, NoReturn
from urllib.parse import urlsplit

from forgekeep.errors import (
    BlobNotFoundError,
    ForgekeepError,
    InvalidNameError,
)
from forgekeep.storage.protocol import (
    MAX_BLOB_KEY_BYTES,
    MAX_BLOB_KEY_SEGMENT_BYTES,
    BlobStore,
    TemporaryListing,
)

__all__ = ["exercise_blob_store"]

_MIB: Final = 1 << 20
_BAD_KEYS: Final = (
    "",
    ".",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    "/abs",
    "a//b",
    "a/",
    "a\x00b",
    "a\\b",
    "a b",
    "caf\u00e9",
    ".fk-tmp-0123456789abcdef-x",
    "a/.fk-tmp-x",
    "x" * (MAX_BLOB_KEY_BYTES + 1),
    "x" * (MAX_BLOB_KEY_SEGMENT_BYTES + 1),
)
_BAD_PREFIXES: Final = ("/", "/abs", "../", "a/../", "a//", "a/./", "a\x00", "a\\", "\u00e9")


class _ProducerFailedError(Exception):
    """Raised by a test producer; a store must let it through unchanged."""


def _fail(check: str, message: str) -> NoReturn:
    raise AssertionError(f"blob store conformance [{check}]: {message}")


def _expect(
    check: str, error: type[ForgekeepError], call: Callable[..., object], *args: object
) -> ForgekeepError:
    """``call(*args)`` must raise ``error`` (and nothing that is not a Forgekeep error)."""
    try:
        call(*args)
    except error as exc:
        return exc
    except Exception as exc:
        raise AssertionError(
            f"blob store conformance [{check}]: expected {error.__name__}, "
            f"got {type(exc).__name__}: {exc}"
        ) from exc
    _fail(check, f"expected {error.__name__}, nothing was raised")


def _read(store: BlobStore, key: str) -> bytes:
    with store.get(key) as handle:
        return b"".join(iter(lambda: handle.read(_MIB), b""))


def _pattern(size: int) -> bytes:
    """Deterministic, non-repeating bytes (so a misplaced chunk shows)."""
    blocks = (hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _mixed_chunks(data: bytes) -> Iterator[bytes | memoryview]:
    """Yield ``data`` as bytes, memoryview slices and views of one reused buffer.

    The reused buffer is scribbled over as soon as the store asks for the next
    chunk: a store that keeps a mutable chunk past its turn stores garbage.
    """
    sizes = (1, 7, 4096, 65536, _MIB + 5, 3, 16384)
    scratch = bytearray(_MIB + 5)
    offset, turn = 0, 0
    while offset < len(data):
        piece = data[offset : offset + sizes[turn % len(sizes)]]
        offset, turn = offset + len(piece), turn + 1
        if turn % 3 == 0:
            yield piece
        elif turn % 3 == 1:
            yield memoryview(data)[offset - len(piece) : offset]
        else:
            scratch[: len(piece)] = piece
            yield memoryview(scratch)[: len(piece)]
            scratch[: len(piece)] = b"\xff" * len(piece)


def _failing_producer(data: bytes, error: Exception) -> Iterator[bytes]:
    yield data
    raise error


def _check_put(
    check: str, store: BlobStore, key: str, chunks: Iterable[bytes | memoryview], expected: bytes
) -> None:
    info = store.put(key, chunks)
    if info.key != key or info.size != len(expected):
        _fail(check, f"put returned {info!r} for {len(expected)} bytes under {key!r}")
    if info.modified_at.tzinfo is None or info.modified_at.utcoffset():
        _fail(check, "modified_at must be an aware UTC datetime")
    if store.stat(key).size != len(expected):
        _fail(check, "stat reports another size than put")
    if _read(store, key) != expected:
        _fail(check, f"get does not return what put stored under {key!r}")


def _check_round_trips(store: BlobStore, ns: str) -> None:
    big = _pattern(3 * _MIB + 123)
    _check_put("round-trip empty", store, f"{ns}/empty", [], b"")
    _check_put("round-trip empty chunk", store, f"{ns}/empty-chunk", [b""], b"")
    _check_put("round-trip small", store, f"{ns}/small", [b"hello"], b"hello")
    _check_put("round-trip many chunks", store, f"{ns}/big", _mixed_chunks(big), big)
    with store.get(f"{ns}/big") as handle:
        handle.seek(_MIB + 3)
        if handle.read(10) != big[_MIB + 3 : _MIB + 13]:
            _fail("seekable get", "a read after seek returned the wrong bytes")


def _check_overwrite(store: BlobStore, ns: str) -> None:
    key, old, new = f"{ns}/over", b"old content", _pattern(2 * _MIB)
    store.put(key, [old])
    with store.get(key) as reader:
        store.put(key, [new])
        seen = reader.read()
    if seen not in (old, new):
        _fail("overwrite", "a reader saw a mixture of the old and the new blob")
    if _read(store, key) != new or store.stat(key).size != len(new):
        _fail("overwrite", "the new content did not replace the old")
    failure = _ProducerFailedError("producer failed")
    try:
        store.put(key, _failing_producer(b"partial", failure))
    except _ProducerFailedError as exc:
        if exc is not failure:
            _fail("failed overwrite", "the producer's exception was replaced")
    else:
        _fail("failed overwrite", "a producer's exception was swallowed")
    if _read(store, key) != new:
        _fail("failed overwrite", "a failed put changed the existing blob")


def _listed(store: BlobStore, prefix: str) -> list[str]:
    return [info.key for info in store.list(prefix)]


def _check_missing_and_delete(store: BlobStore, ns: str) -> None:
    key = f"{ns}/gone"
    _expect("get missing", BlobNotFoundError, store.get, key)
    _expect("stat missing", BlobNotFoundError, store.stat, key)
    store.delete(key)
    store.put(key, [b"x"])
    store.delete(key)
    store.delete(key)
    _expect("get deleted", BlobNotFoundError, store.get, key)
    if key in _listed(store, f"{ns}/"):
        _fail("delete", "a deleted blob is still listed")


def _check_list(store: BlobStore, ns: str) -> None:
    names = ("b", "a0", "a/c/d", "a/b", "a.d", "a-c")  # '-' < '.' < '/' < '0'
    for index, name in enumerate(names):
        store.put(f"{ns}/l/{name}", [b"z" * index])
    expected = [f"{ns}/l/{name}" for name in sorted(names)]
    infos = list(store.list(f"{ns}/l/"))
    if [info.key for info in infos] != expected:
        _fail("list order", f"expected {expected}, listed {[info.key for info in infos]}")
    if any(info.size != names.index(info.key.split("/l/", 1)[1]) for info in infos):
        _fail("list sizes", "listed sizes differ from what was put")
    cases = {"a": expected[:5], "a/": expected[2:4], "a/c": [expected[3]], "zz": [], "a/b/": []}
    for partial, want in cases.items():
        if _listed(store, f"{ns}/l/{partial}") != want:
            _fail("list prefix", f"prefix {partial!r} listed {_listed(store, f'{ns}/l/{partial}')}")


def _check_bad_keys(store: BlobStore, ns: str) -> None:
    before = _listed(store, f"{ns}/")
    for key in _BAD_KEYS:
        check = f"bad key {key[:40]!r}"
        _expect(check, InvalidNameError, store.put, key, [b"x"])
        _expect(check, InvalidNameError, store.get, key)
        _expect(check, InvalidNameError, store.stat, key)
        _expect(check, InvalidNameError, store.delete, key)
    for prefix in (*_BAD_PREFIXES, "x" * (MAX_BLOB_KEY_BYTES + 1)):
        _expect(f"bad prefix {prefix[:40]!r}", InvalidNameError, _listed, store, prefix)
    if _listed(store, f"{ns}/") != before:
        _fail("bad keys", "a refused key changed what the store holds")


def _check_longest_key(store: BlobStore, ns: str) -> None:
    room = MAX_BLOB_KEY_BYTES - len(ns) - 1
    segments = ["s" * MAX_BLOB_KEY_SEGMENT_BYTES] * (room // (MAX_BLOB_KEY_SEGMENT_BYTES + 1))
    tail = room - sum(len(s) + 1 for s in segments)
    key = "/".join([ns, *segments, "t" * tail])
    if len(key) != MAX_BLOB_KEY_BYTES:
        _fail("longest key", "the namespace is too long to build a maximal key")
    _check_put("longest key", store, key, [b"long"], b"long")
    store.delete(key)


def _check_failed_put(store: BlobStore, ns: str) -> None:
    key, failure = f"{ns}/failed", _ProducerFailedError("integrity check failed")
    try:
        store.put(key, _failing_producer(_pattern(_MIB), failure))
    except _ProducerFailedError as exc:
        if exc is not failure:
            _fail("failed put", "the producer's exception was replaced")
    else:
        _fail("failed put", "a producer's exception was swallowed")
    _expect("failed put", BlobNotFoundError, store.stat, key)
    _expect("non-bytes chunk", ForgekeepError, store.put, key, [b"ok", 42])
    _expect("non-bytes chunk", BlobNotFoundError, store.stat, key)
    if _listed(store, f"{ns}/failed"):
        _fail("failed put", "a failed put left a listed object")
    if isinstance(store, TemporaryListing) and any(
        i.key.startswith(f"{ns}/") for i in store.list_temporaries()
    ):
        _fail("failed put", "a failed put left a temporary file")


def _check_prefix_collision(store: BlobStore, ns: str) -> None:
    """``c`` and ``c/d`` may coexist or be refused, but never harm each other."""
    inner, outer = f"{ns}/c/d", f"{ns}/c"
    store.put(inner, [b"inner"])
    try:
        store.put(outer, [b"outer"])
    except ForgekeepError:
        pass
    except Exception as exc:
        raise AssertionError(f"prefix collision raised {type(exc).__name__}") from exc
    if _read(store, inner) != b"inner":
        _fail("prefix collision", "putting a key's prefix harmed the key")
    store.delete(inner)
    store.delete(outer)
    _check_put("key after its children left", store, outer, [b"outer"], b"outer")


_CHECKS: Final = (
    _check_round_trips,
    _check_overwrite,
    _check_missing_and_delete,
    _check_list,
    _check_bad_keys,
    _check_longest_key,
    _check_failed_put,
    _check_prefix_collision,
)


def exercise_blob_store(store: BlobStore) -> None:
    """Run the whole battery on ``store``; raise AssertionError at the first breach."""
    if "@" in urlsplit(store.uri).netloc:
        _fail("uri", "the store's URI carries credentials")
    ns = f"fk-conformance-{secrets.token_hex(6)}"
    try:
        for check in _CHECKS:
            check(store, ns)
    finally:
        for info in list(store.list(f"{ns}/")):
            store.delete(info.key)
