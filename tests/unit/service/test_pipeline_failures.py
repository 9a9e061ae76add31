"""The pipelines never hang: every failure on either side ends the call with its error."""

from __future__ import annotations

import errno
import io
import threading
from collections.abc import Callable, Iterator

import pytest

from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac
from forgekeep.crypto.stream import decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import Suite
from forgekeep.service.barrier import read_prefix
from forgekeep.service.barrier._pipeline import PLAIN_BATCH, _Pool, decrypt_stream, encrypt_stream

DEK = bytes(32)
HEADER = StreamHeader(Suite.COBBLESTONE_256, "ring", "domain", "dek")
CONTEXT = StreamContext("t-1", "a-1", bytes(16))


class FailingSource(io.RawIOBase):
    def __init__(self, good_batches: int) -> None:
        self.left = good_batches

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.left == 0:
            raise OSError(errno.EIO, "input/output error")
        self.left -= 1
        buffer[:] = b"x" * len(buffer)
        return len(buffer)


def _sink_failing_after(
    items: int, *, at_end: bool = False
) -> Callable[[Iterator[memoryview]], None]:
    def sink(chunks: Iterator[memoryview]) -> None:
        for taken, _ in enumerate(chunks, start=1):
            if not at_end and taken > items:
                raise OSError(errno.ENOSPC, "no space")
        raise OSError(errno.ENOSPC, "no space at fsync")

    return sink


def _run_with_deadline(call: Callable[[], object]) -> BaseException | None:
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "the pipeline hung"
    return outcome[0]


def _encrypt(
    src: io.RawIOBase | io.BytesIO, sink: Callable[[Iterator[memoryview]], None]
) -> Callable[[], object]:
    return lambda: encrypt_stream(
        src,
        StreamEncryptor(DEK, HEADER, CONTEXT),  # type: ignore[arg-type]
        PlaintextMac(bytes(32)),
        sink,
    )


def _swallow(chunks: Iterator[memoryview]) -> None:
    for _ in chunks:
        pass


@pytest.mark.parametrize("good", [0, 1, 5])
def test_a_source_error_ends_the_put(good: int) -> None:
    error = _run_with_deadline(_encrypt(FailingSource(good), _swallow))
    assert isinstance(error, OSError)
    assert error.errno == errno.EIO


@pytest.mark.parametrize("items", [0, 2])
def test_an_early_sink_error_ends_the_put(items: int) -> None:
    data = io.BytesIO(b"y" * (8 * PLAIN_BATCH))
    error = _run_with_deadline(_encrypt(data, _sink_failing_after(items)))
    assert isinstance(error, OSError)
    assert error.errno == errno.ENOSPC


def test_a_sink_error_after_the_last_chunk_ends_the_put() -> None:
    data = io.BytesIO(b"y" * (3 * PLAIN_BATCH + 5))
    error = _run_with_deadline(_encrypt(data, _sink_failing_after(0, at_end=True)))
    assert isinstance(error, OSError)
    assert error.errno == errno.ENOSPC


def test_a_progress_callback_error_ends_the_put() -> None:
    def progress(_n: int) -> None:
        raise KeyboardInterrupt

    data = io.BytesIO(b"z" * (4 * PLAIN_BATCH))

    def call() -> object:
        return encrypt_stream(
            data,
            StreamEncryptor(DEK, HEADER, CONTEXT),
            PlaintextMac(bytes(32)),
            _swallow,
            progress,
        )

    assert isinstance(_run_with_deadline(call), KeyboardInterrupt)


class ReadOnlySource:
    """A source with ``read`` only (no ``readinto``), like some wrapped streams."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)


def test_a_source_without_readinto_still_round_trips() -> None:
    data = bytes(range(256)) * 9000
    chunks: list[bytes] = []

    def sink(views: Iterator[memoryview]) -> None:
        chunks.extend(bytes(v) for v in views)

    digest = encrypt_stream(
        ReadOnlySource(data),
        StreamEncryptor(DEK, HEADER, CONTEXT),  # type: ignore[arg-type]
        PlaintextMac(bytes(32)),
        sink,
    )
    _header, plain = decrypt_bytes(DEK, CONTEXT, b"".join(chunks))
    assert plain == data
    assert digest.size == len(data)


class _BlocksUntil(io.RawIOBase):
    """A source whose first read waits for ``event``, then fails."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        assert self._event.wait(10)
        raise OSError(errno.EIO, "input/output error")


def test_a_source_error_after_a_sink_error_is_the_one_raised() -> None:
    sink_failed = threading.Event()

    def sink(chunks: Iterator[memoryview]) -> None:
        next(chunks)
        sink_failed.set()
        raise OSError(errno.ENOSPC, "no space")

    error = _run_with_deadline(_encrypt(_BlocksUntil(sink_failed), sink))
    assert isinstance(error, OSError)
    assert error.errno == errno.EIO


def test_a_write_error_during_decryption_ends_the_get() -> None:
    data = bytes(3 * PLAIN_BATCH)
    blob = encrypt_bytes(DEK, HEADER, CONTEXT, data)
    decryptor = StreamDecryptor(DEK, CONTEXT)
    source = io.BytesIO(blob)
    decryptor.feed_prefix(read_prefix(source))
    writes: list[int] = []

    def write(view: memoryview) -> None:
        writes.append(len(view))
        raise OSError(errno.ENOSPC, "no space")

    def call() -> object:
        return decrypt_stream(source, decryptor, PlaintextMac(bytes(32)), write)

    error = _run_with_deadline(call)
    assert isinstance(error, OSError)
    assert error.errno == errno.ENOSPC
    assert len(writes) == 1  # the writer stops at its first failure


def test_the_buffer_pool_keeps_at_most_its_limit() -> None:
    pool = _Pool(8, keep=1)
    first, second = pool.take(), pool.take()
    assert first is not second
    pool.give(first)
    pool.give(second)  # over the limit: dropped
    assert pool.take() is first
    assert pool.take() is not second
