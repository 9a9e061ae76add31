"""StreamEncryptor / StreamDecryptor: round trips, batching, buffers, random access."""

from __future__ import annotations

import os

import pytest

from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.stream import chunk_offset, decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import BODY_PREFIX_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, TAG_SIZE
from forgekeep.errors import UsageError

SIZES = [0, 1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 5]


def _body_length(size: int) -> int:
    return (
        BODY_PREFIX_SIZE
        + (size // CHUNK_SIZE) * ENCRYPTED_CHUNK_SIZE
        + size % CHUNK_SIZE
        + TAG_SIZE
    )


@pytest.mark.parametrize("size", SIZES)
def test_round_trip(dek: bytes, header: StreamHeader, context: StreamContext, size: int) -> None:
    plaintext = os.urandom(size)
    blob = encrypt_bytes(dek, header, context, plaintext)
    assert len(blob) == len(header.encode()) + _body_length(size)
    assert decrypt_bytes(dek, context, blob) == (header, plaintext)


def test_salt_is_random(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    one = encrypt_bytes(dek, header, context, b"same")
    two = encrypt_bytes(dek, header, context, b"same")
    assert one != two


def test_injected_salt_is_deterministic(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    salt = bytes(24)
    blob = encrypt_bytes(dek, header, context, b"same", salt=salt)
    assert blob == encrypt_bytes(dek, header, context, b"same", salt=salt)
    size = len(header.encode())
    assert blob[size : size + 24] == salt


def _encrypt_in_pieces(
    dek: bytes, header: StreamHeader, context: StreamContext, plaintext: bytes, piece: int
) -> tuple[bytes, StreamEncryptor]:
    encryptor = StreamEncryptor(dek, header, context, salt=bytes(24))
    parts = [encryptor.prefix()]
    parts.extend(
        bytes(encryptor.encrypt_batch(plaintext[at : at + piece]))
        for at in range(0, len(plaintext), piece)
    )
    parts.append(encryptor.finalize())
    return b"".join(parts), encryptor


@pytest.mark.parametrize(
    ("size", "piece"),
    [
        (CHUNK_SIZE + 3, 1),
        (4 * CHUNK_SIZE + 123, 777),
        (4 * CHUNK_SIZE + 123, CHUNK_SIZE - 1),
        (4 * CHUNK_SIZE + 123, CHUNK_SIZE),
        (4 * CHUNK_SIZE, CHUNK_SIZE),
        (4 * CHUNK_SIZE + 123, CHUNK_SIZE + 3),
        (4 * CHUNK_SIZE + 123, 5 * CHUNK_SIZE),
    ],
)
def test_batch_boundaries_do_not_change_bytes(
    dek: bytes, header: StreamHeader, context: StreamContext, size: int, piece: int
) -> None:
    plaintext = os.urandom(size)
    whole = encrypt_bytes(dek, header, context, plaintext, salt=bytes(24))
    blob, encryptor = _encrypt_in_pieces(dek, header, context, plaintext, piece)
    assert blob == whole
    assert encryptor.chunks_written == size // CHUNK_SIZE + 1
    assert encryptor.plaintext_length == size


def test_encrypt_batch_emits_only_full_chunks(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    encryptor = StreamEncryptor(dek, header, context)
    assert len(encryptor.encrypt_batch(bytes(CHUNK_SIZE - 1))) == 0
    assert len(encryptor.encrypt_batch(bytes(2))) == ENCRYPTED_CHUNK_SIZE
    assert encryptor.chunks_written == 1
    assert len(encryptor.finalize()) == 1 + TAG_SIZE
    assert encryptor.chunks_written == 2


def test_encrypt_into_caller_buffer(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    plaintext = os.urandom(2 * CHUNK_SIZE)
    small = bytearray(10)
    encryptor = StreamEncryptor(dek, header, context, salt=bytes(24))
    view = encryptor.encrypt_batch(plaintext, out=small)
    assert len(small) == 2 * ENCRYPTED_CHUNK_SIZE
    blob = encryptor.prefix() + bytes(view) + encryptor.finalize()
    assert blob == encrypt_bytes(dek, header, context, plaintext, salt=bytes(24))
    view.release()
    large = bytearray(10 * ENCRYPTED_CHUNK_SIZE)
    again = StreamEncryptor(dek, header, context, salt=bytes(24))
    assert bytes(again.encrypt_batch(plaintext, out=large)) == bytes(
        large[: 2 * ENCRYPTED_CHUNK_SIZE]
    )


def test_caller_buffer_still_viewed(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    out = bytearray(1)
    held = memoryview(out)
    encryptor = StreamEncryptor(dek, header, context)
    with pytest.raises(UsageError):
        encryptor.encrypt_batch(bytes(CHUNK_SIZE), out=out)
    held.release()
    assert encryptor.plaintext_length == 0
    assert len(encryptor.encrypt_batch(bytes(CHUNK_SIZE), out=out)) == ENCRYPTED_CHUNK_SIZE


def test_internal_buffer_views_survive_a_larger_batch(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    encryptor = StreamEncryptor(dek, header, context)
    first = encryptor.encrypt_batch(bytes(CHUNK_SIZE))
    saved = bytes(first)
    encryptor.encrypt_batch(bytes(3 * CHUNK_SIZE))
    assert bytes(first) == saved


def test_encryptor_accepts_views_and_refuses_strided(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    encryptor = StreamEncryptor(dek, header, context)
    encryptor.encrypt_batch(memoryview(bytearray(10)))
    with pytest.raises(UsageError):
        encryptor.encrypt_batch(memoryview(bytes(20))[::2])


def test_encryptor_context_bytes(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    encryptor = StreamEncryptor(dek, header, context)
    assert encryptor.context_bytes == context.encode(header.hash())
    assert encryptor.prefix().startswith(header.encode())
    assert len(encryptor.prefix()) == len(header.encode()) + BODY_PREFIX_SIZE


def test_encryptor_refuses_use_after_finalize(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    encryptor = StreamEncryptor(dek, header, context)
    encryptor.finalize()
    with pytest.raises(UsageError):
        encryptor.encrypt_batch(b"x")
    with pytest.raises(UsageError):
        encryptor.finalize()


@pytest.mark.parametrize(("bad_dek", "salt"), [(bytes(31), None), (bytes(32), bytes(23))])
def test_encryptor_refuses_bad_key_material(
    header: StreamHeader, context: StreamContext, bad_dek: bytes, salt: bytes | None
) -> None:
    with pytest.raises(UsageError):
        StreamEncryptor(bad_dek, header, context, salt=salt)


def _decrypt_in_pieces(dek: bytes, context: StreamContext, blob: bytes, piece: int) -> bytes:
    decryptor = StreamDecryptor(dek, context)
    prefix_size = StreamHeader.peek_length(blob) + BODY_PREFIX_SIZE
    decryptor.feed_prefix(blob[:prefix_size])
    parts = [
        bytes(decryptor.decrypt_batch(blob[at : at + piece]))
        for at in range(prefix_size, len(blob), piece)
    ]
    parts.append(decryptor.finalize())
    return b"".join(parts)


@pytest.mark.parametrize(
    "piece",
    [97, 100, ENCRYPTED_CHUNK_SIZE - 1, ENCRYPTED_CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE + 1, 1 << 20],
)
@pytest.mark.parametrize("size", [0, CHUNK_SIZE, 3 * CHUNK_SIZE + 5])
def test_decrypt_in_pieces(
    dek: bytes, header: StreamHeader, context: StreamContext, piece: int, size: int
) -> None:
    plaintext = os.urandom(size)
    blob = encrypt_bytes(dek, header, context, plaintext)
    assert _decrypt_in_pieces(dek, context, blob, piece) == plaintext


def test_decrypt_holds_back_a_full_piece(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    plaintext = os.urandom(2 * CHUNK_SIZE + 1)
    blob = encrypt_bytes(dek, header, context, plaintext)
    prefix_size = len(header.encode()) + BODY_PREFIX_SIZE
    body = blob[prefix_size:]
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(blob[:prefix_size])
    assert decryptor.header == header
    assert len(decryptor.decrypt_batch(body[:ENCRYPTED_CHUNK_SIZE])) == 0
    assert (
        bytes(decryptor.decrypt_batch(body[ENCRYPTED_CHUNK_SIZE : ENCRYPTED_CHUNK_SIZE + 1]))
        == (plaintext[:CHUNK_SIZE])
    )
    assert decryptor.chunks_read == 1
    rest = bytes(decryptor.decrypt_batch(body[ENCRYPTED_CHUNK_SIZE + 1 :]))
    assert rest == plaintext[CHUNK_SIZE : 2 * CHUNK_SIZE]
    assert decryptor.finalize() == plaintext[2 * CHUNK_SIZE :]
    assert decryptor.chunks_read == 3


def test_decrypt_into_caller_buffer(
    dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    plaintext = os.urandom(3 * CHUNK_SIZE + 9)
    blob = encrypt_bytes(dek, header, context, plaintext)
    prefix_size = len(header.encode()) + BODY_PREFIX_SIZE
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(blob[:prefix_size])
    out = bytearray()
    view = decryptor.decrypt_batch(blob[prefix_size:], out=out)
    assert bytes(view) == plaintext[: 3 * CHUNK_SIZE]
    view.release()
    assert decryptor.finalize() == plaintext[3 * CHUNK_SIZE :]


@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, 4 * CHUNK_SIZE + 77])
def test_random_access(dek: bytes, header: StreamHeader, context: StreamContext, size: int) -> None:
    plaintext = os.urandom(size)
    blob = encrypt_bytes(dek, header, context, plaintext)
    header_size = len(header.encode())
    body = blob[header_size:]
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(blob[: header_size + BODY_PREFIX_SIZE])
    for k in range(size // CHUNK_SIZE + 1):
        at = chunk_offset(k)
        piece = body[at : at + ENCRYPTED_CHUNK_SIZE]
        expected = plaintext[k * CHUNK_SIZE : (k + 1) * CHUNK_SIZE]
        assert decryptor.decrypt_chunk_at(k, piece) == expected
        assert decryptor.decrypt_chunk_at(k, memoryview(piece)) == expected


def test_chunk_offset() -> None:
    assert chunk_offset(0) == 56
    assert chunk_offset(3) == 56 + 3 * 16400
    with pytest.raises(UsageError):
        chunk_offset(-1)
