"""The sealing barrier's streaming encrypt/decrypt pipelines, with constant memory.

Work is spread over three threads so that hashing overlaps with encryption and
I/O (AES-GCM, SHA-256, HMAC and file writes all release the GIL):

* the calling thread reads and encrypts (or decrypts) in 1 MiB batches;
* a MAC thread keeps HMAC-SHA-256(K_mac, plaintext);
* a sink thread hashes the ciphertext (put) and writes.

Queues are bounded, so at most ``QUEUE_DEPTH`` batches per stage are in
flight, and batch buffers are recycled through small pools instead of being
allocated per batch: memory stays constant whatever the file size (fresh
1 MiB buffers per batch let the C heap fragment and grow under load).

Security rule (get): plaintext of a chunk reaches the sink only after the
chunk's tag verified, and the MAC thread sees exactly what the sink saw.
:func:`~forgekeep.service.barrier.open_version` compares that MAC with the
recorded one before it returns, so a file output renamed into place after it
returns was verified whole.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.mac import PlaintextMac
from forgekeep.crypto.suite import CHUNK_SIZE, TAG_SIZE

BATCH_CHUNKS = 64
PLAIN_BATCH = BATCH_CHUNKS * CHUNK_SIZE
CIPHER_BATCH = BATCH_CHUNKS * (CHUNK_SIZE + TAG_SIZE)
QUEUE_DEPTH = 4
_OVERHEAD = 2 * (CHUNK_SIZE + TAG_SIZE)  # room for a chunk buffered from the previous batch
_DONE = object()

Progress = Callable[[int], None]


def _no_progress(_n: int) -> None:
    return None


Release = Callable[[], None]


def _nothing() -> None:
    return None


class _Pool:
    """Recycles batch buffers; never blocks (the bounded queues give back-pressure)."""

    def __init__(self, size: int, keep: int = 2 * QUEUE_DEPTH + 4) -> None:
        self._size = size
        self._keep = keep
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()

    def take(self) -> bytearray:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return bytearray(self._size)

    def give(self, buffer: bytearray) -> None:
        if self._free.qsize() < self._keep:
            self._free.put(buffer)

    def shared(self, buffer: bytearray, holders: int) -> Release:
        """A release callback that returns ``buffer`` once ``holders`` called it."""
        left = [holders]
        lock = threading.Lock()

        def release() -> None:
            with lock:
                left[0] -= 1
                done = left[0] == 0
            if done:
                self.give(buffer)

        return release


class _Worker:
    """A thread draining a bounded queue through ``handle``; re-raises its failure."""

    def __init__(self, handle: Callable[[memoryview], None], name: str) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._handle = handle
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            view, release = cast("tuple[memoryview, Release]", item)
            if self.error is None:
                try:
                    self._handle(view)
                except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
                    self.error = exc
            release()

    def submit(self, item: memoryview, release: Release = _nothing) -> None:
        self.check()
        self._queue.put((item, release))

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self.check()

    def abandon(self) -> None:
        """Stop after a failure elsewhere; the worker's own error is dropped."""
        self.error = self.error or RuntimeError("abandoned")
        self._queue.put(_DONE)
        self._thread.join()


@dataclass(frozen=True, slots=True)
class PutDigest:
    """What sealing one stream measured: plaintext and ciphertext sizes, and digests."""

    size: int
    ciphertext_size: int
    ciphertext_sha256: str
    plaintext_hmac: str


class BlobSink(Protocol):
    def __call__(self, chunks: Iterator[memoryview]) -> object: ...


class _CipherFeed:
    """Hands ciphertext batches from the encrypting thread to a blob store's ``put``."""

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.ended = False  # the end marker or the producer's error was taken

    def push(self, item: memoryview | bytes, release: Release = _nothing) -> None:
        self._queue.put((item, release))

    def finish(self) -> None:
        self._queue.put(_DONE)

    def abort(self, exc: BaseException) -> None:
        self._queue.put(exc)

    def __iter__(self) -> Iterator[memoryview]:
        # A store uses a chunk only until it asks for the next one (BlobStore rule),
        # so the previous batch's buffer is recycled when the next is requested.
        while (item := self._queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                self.ended = True
                raise item
            data, release = cast("tuple[memoryview | bytes, Release]", item)
            view = memoryview(data)
            self.sha256.update(view)
            self.size += len(view)
            yield view
            release()
        self.ended = True


def _read_into(src: BinaryIO, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``src`` as far as it goes; 0 at the end."""
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        return int(readinto(buffer))
    data = src.read(len(buffer))
    buffer[: len(data)] = data
    return len(data)


def encrypt_stream(
    src: BinaryIO,
    encryptor: StreamEncryptor,
    mac: PlaintextMac,
    sink: BlobSink,
    progress: Progress = _no_progress,
) -> PutDigest:
    """Encrypt ``src`` into ``sink`` (a blob store's put); returns sizes and digests."""
    feed = _CipherFeed()
    result: list[BaseException] = []
    writer = threading.Thread(target=_drive_sink, args=(sink, feed, result), daemon=True)
    writer.start()
    mac_worker = _Worker(mac.update, "fk-mac")
    plain_pool, cipher_pool = _Pool(PLAIN_BATCH), _Pool(CIPHER_BATCH + _OVERHEAD)
    size = 0
    try:
        feed.push(encryptor.prefix())
        while not result:
            plain = plain_pool.take()
            count = _read_into(src, plain)
            if not count:
                break
            view, cipher = memoryview(plain)[:count], cipher_pool.take()
            feed.push(
                encryptor.encrypt_batch(view, cipher), functools.partial(cipher_pool.give, cipher)
            )
            mac_worker.submit(view, plain_pool.shared(plain, 1))
            size += count
            progress(count)
        feed.push(encryptor.finalize())
        mac_worker.close()
        feed.finish()
    except BaseException as exc:
        mac_worker.abandon()
        feed.abort(exc)
        writer.join()
        raise
    writer.join()
    if result:
        raise result[0]
    return PutDigest(size, feed.size, feed.sha256.hexdigest(), mac.digest().hex())


def _drive_sink(sink: BlobSink, feed: _CipherFeed, result: list[BaseException]) -> None:
    try:
        sink(iter(feed))
    except BaseException as exc:  # noqa: BLE001 (handed back to the encrypting thread)
        result.append(exc)
        _drain(feed)


def _drain(feed: _CipherFeed) -> None:
    """After a sink failure, consume until the producer's end, so it never blocks."""
    if feed.ended:
        return
    try:
        for _ in feed:
            pass
    except BaseException:  # noqa: BLE001, S110 (the producer's own error is raised there)
        pass


def decrypt_stream(
    src: BinaryIO,
    decryptor: StreamDecryptor,
    mac: PlaintextMac,
    write: Callable[[memoryview], None],
    progress: Progress = _no_progress,
) -> int:
    """Decrypt ``src`` (positioned after the prefix) into ``write``; returns plaintext size."""
    writer = _Worker(write, "fk-out")
    mac_worker = _Worker(mac.update, "fk-mac")
    size, pool, cipher = 0, _Pool(CIPHER_BATCH + _OVERHEAD), bytearray(CIPHER_BATCH)
    try:
        while count := _read_into(src, cipher):
            buffer = pool.take()
            plain = decryptor.decrypt_batch(memoryview(cipher)[:count], buffer)
            _emit(plain, writer, mac_worker, pool.shared(buffer, 2))
            size += len(plain)
            progress(count)
        final = memoryview(decryptor.finalize())
        _emit(final, writer, mac_worker, _nothing)
        size += len(final)
    except BaseException:
        mac_worker.abandon()
        writer.abandon()
        raise
    try:
        mac_worker.close()
    finally:
        writer.close()
    return size


def _emit(plain: memoryview, writer: _Worker, mac_worker: _Worker, release: Release) -> None:
    mac_worker.submit(plain, release)
    writer.submit(plain, release)
