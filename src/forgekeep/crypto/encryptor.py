"""Streaming encryption of one stream v1 object.

Security rule: each object gets a fresh random 24-byte salt, so the AEAD key
and base nonce derived from the DEK are single-use; the context (bound to the
header hash) goes into HKDF-Expand ``info`` and the AEAD associated data stays
empty. Full chunks are sealed as soon as they fill; the final chunk is always
shorter than 16 KiB (possibly empty), which is what makes truncation
detectable. The encryptor never sees the plaintext MAC key.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forgekeep.crypto._chunks import (
    Buffer,
    byte_view,
    check_plaintext_budget,
    chunk_nonce,
    output_view,
    spare_buffer,
)
from forgekeep.crypto._kdf import derive_body_keys
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.suite import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, NONCE_SIZE, SALT_SIZE
from forgekeep.errors import UsageError


class StreamEncryptor:
    """Encrypts one object: ``prefix()``, then ``encrypt_batch`` calls, then ``finalize()``.

    Views returned by :meth:`encrypt_batch` over the internal buffer stay valid
    only until the next call; write them out (or copy them) first.
    """

    def __init__(
        self,
        dek: bytes,
        header: StreamHeader,
        context: StreamContext,
        *,
        salt: bytes | None = None,
    ) -> None:
        salt = os.urandom(SALT_SIZE) if salt is None else salt
        header_bytes = header.encode()
        self._context = context.encode(hashlib.sha256(header_bytes).digest())
        keys = derive_body_keys(header.suite, dek, salt, self._context)
        self._aead = AESGCM(keys.key)
        self._base_nonce = keys.base_nonce
        self._prefix = header_bytes + bytes(salt) + keys.commitment
        self._pending = bytearray()
        self._spare = bytearray()
        self._chunks = 0
        self._consumed = 0
        self._finished = False

    @property
    def context_bytes(self) -> bytes:
        """The encoded stream context (input to :func:`~forgekeep.crypto.mac_key`)."""
        return self._context

    @property
    def chunks_written(self) -> int:
        """Chunks sealed so far (including the final one after :meth:`finalize`)."""
        return self._chunks

    @property
    def plaintext_length(self) -> int:
        """Plaintext bytes accepted so far."""
        return self._consumed

    def prefix(self) -> bytes:
        """``header ‖ salt ‖ commitment``: the bytes before chunk 0."""
        return self._prefix

    def encrypt_batch(self, data: Buffer, out: bytearray | None = None) -> memoryview:
        """Accept ``data`` and return the ciphertext of every chunk it completes.

        Bytes that do not fill a chunk are kept for the next call or
        :meth:`finalize`. Batches that are multiples of 16 KiB are sealed
        straight from ``data`` into the output buffer with no extra copy.
        """
        self._check_open()
        src = byte_view(data)
        check_plaintext_budget(self._consumed + len(src))
        full = (len(self._pending) + len(src)) // CHUNK_SIZE
        if out is None:
            self._spare = spare_buffer(self._spare, full * ENCRYPTED_CHUNK_SIZE)
        dst = output_view(out, self._spare, full * ENCRYPTED_CHUNK_SIZE)
        self._consumed += len(src)
        first = 0
        if self._pending and full:
            take = CHUNK_SIZE - len(self._pending)
            self._pending += src[:take]
            src = src[take:]
            with memoryview(self._pending) as whole:
                self._seal_run(whole, dst, 1)
            self._pending.clear()
            first = 1
        used = self._seal_run(src, dst[first * ENCRYPTED_CHUNK_SIZE :], full - first)
        self._pending += src[used:]
        return dst

    def finalize(self) -> bytes:
        """Seal and return the final chunk (always shorter than 16 KiB)."""
        self._check_open()
        self._finished = True
        nonce = chunk_nonce(self._base_nonce, self._chunks)
        self._chunks += 1
        final = self._aead.encrypt(nonce, bytes(self._pending), None)
        self._pending.clear()
        return final

    def _seal_run(self, src: memoryview, dst: memoryview, count: int) -> int:
        """Seal ``count`` full chunks from ``src`` into ``dst``; return bytes consumed."""
        seal = self._aead.encrypt_into
        base = self._base_nonce
        first = self._chunks
        for k in range(count):
            at = k * CHUNK_SIZE
            out_at = k * ENCRYPTED_CHUNK_SIZE
            nonce = (base ^ (first + k)).to_bytes(NONCE_SIZE, "big")
            seal(
                nonce, src[at : at + CHUNK_SIZE], None, dst[out_at : out_at + ENCRYPTED_CHUNK_SIZE]
            )
        self._chunks = first + count
        return count * CHUNK_SIZE

    def _check_open(self) -> None:
        if self._finished:
            raise UsageError("this stream was already finalized")
