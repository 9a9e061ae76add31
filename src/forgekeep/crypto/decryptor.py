"""Streaming and random-access decryption of one stream v1 object.

Security rules:

* The key commitment is checked (in constant time) against the DEK, salt and
  context before any chunk is decrypted; a wrong DEK, a different context or
  a changed header all fail there with :class:`CommitmentMismatchError`.
* No plaintext is released before its chunk's tag verified. A full-size chunk
  is held back until more data follows it, because a stream that ends after a
  full chunk is truncated (the final chunk is always short).
* After any failure the decryptor refuses further use, and the part of the
  output buffer written in the failing call is zeroed.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forgekeep.crypto._chunks import (
    Buffer,
    byte_view,
    check_plaintext_budget,
    chunk_nonce,
    output_view,
    spare_buffer,
)
from forgekeep.crypto._kdf import check_dek, derive_body_keys
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.suite import (
    BODY_PREFIX_SIZE,
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    SALT_SIZE,
    TAG_SIZE,
)
from forgekeep.errors import (
    CommitmentMismatchError,
    IntegrityError,
    TruncatedError,
    UsageError,
)


def _chunk_failed(index: int) -> IntegrityError:
    return IntegrityError(f"chunk {index} failed authentication")


class StreamDecryptor:
    """Decrypts one object: ``feed_prefix``, then ``decrypt_batch`` calls, then ``finalize``.

    Views returned by :meth:`decrypt_batch` over the internal buffer stay valid
    only until the next call.
    """

    def __init__(self, dek: bytes, context: StreamContext) -> None:
        self._dek = check_dek(dek)
        self._context = context
        self._header: StreamHeader | None = None
        self._aead: AESGCM | None = None
        self._base_nonce = 0
        self._pending = bytearray()
        self._spare = bytearray()
        self._chunks = 0
        self._broken = False
        self._finished = False

    @property
    def header(self) -> StreamHeader:
        """The parsed header (after :meth:`feed_prefix`)."""
        if self._header is None:
            raise UsageError("call feed_prefix first")
        return self._header

    @property
    def chunks_read(self) -> int:
        """Chunks verified and released so far by the streaming interface."""
        return self._chunks

    def feed_prefix(self, prefix: Buffer) -> None:
        """Parse ``header ‖ salt ‖ commitment`` (exactly) and verify the commitment."""
        if self._header is not None:
            raise UsageError("feed_prefix was already called")
        raw = bytes(prefix)
        size = StreamHeader.peek_length(raw)
        if len(raw) < size + BODY_PREFIX_SIZE:
            raise TruncatedError("stream prefix is truncated")
        if len(raw) > size + BODY_PREFIX_SIZE:
            raise UsageError("feed_prefix takes exactly header_len + 56 bytes")
        header = StreamHeader.decode(raw[:size])
        salt, commitment = raw[size : size + SALT_SIZE], raw[size + SALT_SIZE :]
        context = self._context.encode(hashlib.sha256(raw[:size]).digest())
        keys = derive_body_keys(header.suite, self._dek, salt, context)
        if not hmac.compare_digest(keys.commitment, commitment):
            raise CommitmentMismatchError("key commitment does not match this key and context")
        self._aead = AESGCM(keys.key)
        self._base_nonce = keys.base_nonce
        self._header = header

    def decrypt_batch(self, data: Buffer, out: bytearray | None = None) -> memoryview:
        """Return the verified plaintext of every chunk known not to be the final one."""
        aead = self._ready()
        src = byte_view(data)
        total = len(self._pending) + len(src)
        count = (total - 1) // ENCRYPTED_CHUNK_SIZE if total else 0
        check_plaintext_budget((self._chunks + count) * CHUNK_SIZE)
        if out is None:
            self._spare = spare_buffer(self._spare, count * CHUNK_SIZE)
        dst = output_view(out, self._spare, count * CHUNK_SIZE)
        try:
            used = self._open_all(aead, src, dst, count)
        except IntegrityError:
            self._broken = True
            dst[:] = bytes(len(dst))
            raise
        self._pending += src[used:]
        return dst

    def finalize(self) -> bytes:
        """Verify and return the final chunk; a missing or full-size final chunk is truncation."""
        aead = self._ready()
        self._finished = True
        size = len(self._pending)
        if size < TAG_SIZE or size == ENCRYPTED_CHUNK_SIZE:
            raise TruncatedError("stream ends without its final short chunk")
        check_plaintext_budget(self._chunks * CHUNK_SIZE + size - TAG_SIZE)
        try:
            plain = aead.decrypt(
                chunk_nonce(self._base_nonce, self._chunks), bytes(self._pending), None
            )
        except InvalidTag:
            raise _chunk_failed(self._chunks) from None
        self._chunks += 1
        return plain

    def decrypt_chunk_at(self, index: int, ciphertext_chunk: Buffer) -> bytes:
        """Verify and decrypt chunk ``index`` alone (bytes at body offset 56 + index * 16400).

        A piece shorter than 16400 bytes is taken as the final chunk, and
        verifying it also proves where the object ends.
        """
        aead = self._keyed()
        size = len(ciphertext_chunk)
        if index < 0 or size > ENCRYPTED_CHUNK_SIZE:
            raise UsageError("chunk index must be >= 0 and the chunk at most 16400 bytes")
        if size < TAG_SIZE:
            raise TruncatedError(f"chunk {index} is shorter than its tag")
        check_plaintext_budget(index * CHUNK_SIZE + size - TAG_SIZE)
        try:
            return aead.decrypt(chunk_nonce(self._base_nonce, index), ciphertext_chunk, None)
        except InvalidTag:
            raise _chunk_failed(index) from None

    def _open_all(self, aead: AESGCM, src: memoryview, dst: memoryview, count: int) -> int:
        """Open ``count`` chunks from pending ‖ ``src`` into ``dst``; return ``src`` bytes used."""
        used = first = 0
        if self._pending and count:
            used = ENCRYPTED_CHUNK_SIZE - len(self._pending)
            self._pending += src[:used]
            with memoryview(self._pending) as whole:
                self._open_run(aead, whole, dst, 1)
            self._pending.clear()
            first = 1
        rest = self._open_run(aead, src[used:], dst[first * CHUNK_SIZE :], count - first)
        return used + rest

    def _open_run(self, aead: AESGCM, src: memoryview, dst: memoryview, count: int) -> int:
        """Open ``count`` full chunks; return ciphertext bytes consumed."""
        open_into = aead.decrypt_into
        base = self._base_nonce
        first = self._chunks
        for k in range(count):
            at = k * ENCRYPTED_CHUNK_SIZE
            nonce = (base ^ (first + k)).to_bytes(NONCE_SIZE, "big")
            try:
                open_into(
                    nonce,
                    src[at : at + ENCRYPTED_CHUNK_SIZE],
                    None,
                    dst[k * CHUNK_SIZE : (k + 1) * CHUNK_SIZE],
                )
            except InvalidTag:
                raise _chunk_failed(first + k) from None
            self._chunks = first + k + 1
        return count * ENCRYPTED_CHUNK_SIZE

    def _keyed(self) -> AESGCM:
        if self._aead is None:
            raise UsageError("call feed_prefix first")
        return self._aead

    def _ready(self) -> AESGCM:
        if self._broken:
            raise IntegrityError("this stream already failed verification")
        if self._finished:
            raise UsageError("this stream was already finalized")
        return self._keyed()
