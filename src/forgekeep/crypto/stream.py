"""One-shot helpers over the streaming encryptor and decryptor.

Security rule: :func:`decrypt_bytes` returns plaintext only after the
commitment, every chunk tag and the short final chunk all verified; it never
returns a partial result.
"""

from __future__ import annotations

from forgekeep.crypto._chunks import Buffer, byte_view
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import PREAMBLE_SIZE, StreamHeader
from forgekeep.crypto.suite import BODY_PREFIX_SIZE, ENCRYPTED_CHUNK_SIZE
from forgekeep.errors import TruncatedError, UsageError


def prefix_size(preamble: bytes) -> int:
    """Bytes of ``header ‖ salt ‖ commitment``, from the object's first PREAMBLE_SIZE bytes."""
    return StreamHeader.peek_length(preamble[:PREAMBLE_SIZE]) + BODY_PREFIX_SIZE


def chunk_offset(index: int) -> int:
    """Body offset of chunk ``index``: ``56 + index * (16384 + 16)``."""
    if index < 0:
        raise UsageError("chunk index must be >= 0")
    return BODY_PREFIX_SIZE + index * ENCRYPTED_CHUNK_SIZE


def encrypt_bytes(
    dek: bytes,
    header: StreamHeader,
    context: StreamContext,
    plaintext: Buffer,
    *,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt a whole object held in memory: ``header ‖ salt ‖ commitment ‖ chunks``."""
    encryptor = StreamEncryptor(dek, header, context, salt=salt)
    body = encryptor.encrypt_batch(plaintext)
    return b"".join((encryptor.prefix(), body, encryptor.finalize()))


def decrypt_bytes(dek: bytes, context: StreamContext, blob: Buffer) -> tuple[StreamHeader, bytes]:
    """Verify and decrypt a whole object held in memory; return its header and plaintext."""
    view = byte_view(blob)
    size = prefix_size(bytes(view[:PREAMBLE_SIZE]))
    if len(view) < size:
        raise TruncatedError("stream prefix is truncated")
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(view[:size])
    body = decryptor.decrypt_batch(view[size:])
    return decryptor.header, b"".join((body, decryptor.finalize()))
