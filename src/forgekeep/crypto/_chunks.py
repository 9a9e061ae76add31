"""Helpers shared by the stream encryptor and decryptor.

Security rule: chunk ``i`` is sealed under nonce ``base_nonce XOR i`` (96-bit
big-endian) and no stream may exceed ``MAX_PLAINTEXT_BYTES`` (which keeps the
chunk counter below the C2SP bound of 2**38); the budget is checked before
any chunk is processed.
"""

from __future__ import annotations

from forgekeep.crypto.suite import MAX_PLAINTEXT_BYTES, NONCE_SIZE
from forgekeep.errors import LimitExceededError, UsageError

Buffer = bytes | bytearray | memoryview


def chunk_nonce(base_nonce: int, index: int) -> bytes:
    """The 12-byte nonce of chunk ``index``."""
    return (base_nonce ^ index).to_bytes(NONCE_SIZE, "big")


def check_plaintext_budget(total: int) -> None:
    """Refuse a stream whose plaintext would exceed :data:`MAX_PLAINTEXT_BYTES`."""
    if total > MAX_PLAINTEXT_BYTES:
        raise LimitExceededError(f"a stream holds at most {MAX_PLAINTEXT_BYTES} plaintext bytes")


def byte_view(data: Buffer) -> memoryview:
    """A flat byte view of ``data`` without copying."""
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise UsageError("stream data must be a contiguous bytes-like object") from None


def output_view(out: bytearray | None, spare: bytearray, size: int) -> memoryview:
    """A writable view of ``size`` bytes over ``out`` (grown if needed) or ``spare``.

    ``spare`` must already hold ``size`` bytes when ``out`` is None.
    """
    if out is None:
        return memoryview(spare)[:size]
    if len(out) < size:
        try:
            out.extend(bytes(size - len(out)))
        except BufferError:
            raise UsageError("the output buffer is still viewed; release it first") from None
    return memoryview(out)[:size]


def spare_buffer(spare: bytearray, size: int) -> bytearray:
    """``spare`` if it holds ``size`` bytes, else a fresh buffer (views of the old stay valid)."""
    return spare if len(spare) >= size else bytearray(size)
