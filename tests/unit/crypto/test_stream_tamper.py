"""Every way a stream v1 object can be wrong is refused, with no unverified plaintext out."""

from __future__ import annotations

import os

import pytest

from forgekeep import limits
from forgekeep.crypto import _chunks, suite
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.stream import decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import (
    BODY_PREFIX_SIZE,
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    TAG_SIZE,
    Suite,
)
from forgekeep.errors import (
    CommitmentMismatchError,
    FormatError,
    HeaderLimitError,
    IntegrityError,
    LimitExceededError,
    TruncatedError,
    UnknownVersionError,
    UsageError,
)

CHUNKS = 4
SIZE = CHUNKS * CHUNK_SIZE + 100


@pytest.fixture
def plaintext() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def blob(dek: bytes, header: StreamHeader, context: StreamContext, plaintext: bytes) -> bytes:
    return encrypt_bytes(dek, header, context, plaintext)


def _split(blob: bytes) -> tuple[bytes, bytes]:
    size = StreamHeader.peek_length(blob) + BODY_PREFIX_SIZE
    return blob[:size], blob[size:]


def _chunk_list(body: bytes) -> list[bytes]:
    return [
        body[at : at + ENCRYPTED_CHUNK_SIZE] for at in range(0, len(body), ENCRYPTED_CHUNK_SIZE)
    ]


def _feed_chunk_by_chunk(decryptor: StreamDecryptor, body: bytes, released: bytearray) -> None:
    for piece in _chunk_list(body):
        released += decryptor.decrypt_batch(piece)
    released += decryptor.finalize()


def _flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("k", range(CHUNKS + 1))
def test_flipped_chunk_releases_nothing_from_it_on(
    dek: bytes, context: StreamContext, blob: bytes, plaintext: bytes, k: int
) -> None:
    prefix, body = _split(blob)
    body = _flip(body, k * ENCRYPTED_CHUNK_SIZE + 5)
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    released = bytearray()
    with pytest.raises(IntegrityError, match=f"chunk {k} "):
        _feed_chunk_by_chunk(decryptor, body, released)
    assert bytes(released) == plaintext[: k * CHUNK_SIZE]


@pytest.mark.parametrize("k", range(CHUNKS))
def test_flipped_chunk_in_one_batch_wipes_caller_buffer(
    dek: bytes, context: StreamContext, blob: bytes, k: int
) -> None:
    prefix, body = _split(blob)
    body = _flip(body, k * ENCRYPTED_CHUNK_SIZE + ENCRYPTED_CHUNK_SIZE - 1)
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    out = bytearray(CHUNKS * CHUNK_SIZE)
    with pytest.raises(IntegrityError, match=f"chunk {k} "):
        decryptor.decrypt_batch(body, out=out)
    assert out == bytearray(len(out))
    with pytest.raises(IntegrityError, match="already failed"):
        decryptor.decrypt_batch(b"")
    with pytest.raises(IntegrityError, match="already failed"):
        decryptor.finalize()


def test_flipped_chunk_completed_from_held_piece(
    dek: bytes, context: StreamContext, blob: bytes
) -> None:
    prefix, body = _split(blob)
    body = _flip(body, 3)
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    assert len(decryptor.decrypt_batch(body[:100])) == 0
    with pytest.raises(IntegrityError, match="chunk 0 "):
        decryptor.decrypt_batch(body[100:])


@pytest.mark.parametrize("chunks_kept", range(1, CHUNKS + 1))
def test_truncated_at_chunk_boundary(
    dek: bytes, context: StreamContext, blob: bytes, chunks_kept: int
) -> None:
    prefix, body = _split(blob)
    with pytest.raises(TruncatedError):
        decrypt_bytes(dek, context, prefix + body[: chunks_kept * ENCRYPTED_CHUNK_SIZE])


def test_truncated_to_no_chunks(dek: bytes, context: StreamContext, blob: bytes) -> None:
    prefix, _ = _split(blob)
    with pytest.raises(TruncatedError):
        decrypt_bytes(dek, context, prefix)


@pytest.mark.parametrize("cut", [1, TAG_SIZE - 1])
def test_truncated_final_piece_shorter_than_tag(
    dek: bytes, context: StreamContext, blob: bytes, cut: int
) -> None:
    prefix, body = _split(blob)
    with pytest.raises(TruncatedError):
        decrypt_bytes(dek, context, prefix + body[: ENCRYPTED_CHUNK_SIZE + cut])


@pytest.mark.parametrize("cut", [TAG_SIZE, 1000, ENCRYPTED_CHUNK_SIZE - 1])
def test_truncated_inside_a_chunk(
    dek: bytes, context: StreamContext, blob: bytes, cut: int
) -> None:
    prefix, body = _split(blob)
    with pytest.raises(IntegrityError, match="chunk 1 "):
        decrypt_bytes(dek, context, prefix + body[: ENCRYPTED_CHUNK_SIZE + cut])


def test_final_chunk_tag_failure(dek: bytes, context: StreamContext, blob: bytes) -> None:
    with pytest.raises(IntegrityError, match=f"chunk {CHUNKS} "):
        decrypt_bytes(dek, context, _flip(blob, len(blob) - 1))


def test_extended_with_extra_bytes(dek: bytes, context: StreamContext, blob: bytes) -> None:
    with pytest.raises(IntegrityError):
        decrypt_bytes(dek, context, blob + b"\x00" * 20)


def test_chunks_reordered(dek: bytes, context: StreamContext, blob: bytes) -> None:
    prefix, body = _split(blob)
    chunks = _chunk_list(body)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(IntegrityError, match="chunk 0 "):
        decrypt_bytes(dek, context, prefix + b"".join(chunks))


def test_chunk_dropped(dek: bytes, context: StreamContext, blob: bytes) -> None:
    prefix, body = _split(blob)
    chunks = _chunk_list(body)
    del chunks[1]
    with pytest.raises(IntegrityError, match="chunk 1 "):
        decrypt_bytes(dek, context, prefix + b"".join(chunks))


def test_splice_between_versions_same_dek(
    dek: bytes, header: StreamHeader, context: StreamContext, blob: bytes
) -> None:
    other_context = StreamContext(context.tenant, context.asset_id, os.urandom(16))
    other = encrypt_bytes(dek, header, other_context, os.urandom(SIZE))
    prefix, body = _split(blob)
    other_prefix, other_body = _split(other)
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, other)
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, other_prefix + body)
    mixed = _chunk_list(body)
    mixed[1] = _chunk_list(other_body)[1]
    with pytest.raises(IntegrityError, match="chunk 1 "):
        decrypt_bytes(dek, context, prefix + b"".join(mixed))


def test_blob_of_another_asset(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    other = StreamContext(context.tenant, "asset-0002", context.version_id)
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, encrypt_bytes(dek, header, other, b"secret"))


def test_blob_of_another_tenant(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    other = StreamContext("other", context.asset_id, context.version_id)
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, encrypt_bytes(dek, header, other, b"secret"))


def test_wrong_dek(context: StreamContext, blob: bytes) -> None:
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(os.urandom(32), context, blob)


def test_changed_header_id_fails_commitment(
    dek: bytes, context: StreamContext, blob: bytes
) -> None:
    at = blob.index(b"dek_0001")
    changed = blob[:at] + b"dek_0002" + blob[at + 8 :]
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, changed)


@pytest.mark.parametrize("offset", [0, 23, 24, 55])
def test_changed_salt_or_commitment(
    dek: bytes, context: StreamContext, blob: bytes, offset: int
) -> None:
    size = StreamHeader.peek_length(blob)
    with pytest.raises(CommitmentMismatchError):
        decrypt_bytes(dek, context, _flip(blob, size + offset))


def test_unknown_version(dek: bytes, context: StreamContext, blob: bytes) -> None:
    with pytest.raises(UnknownVersionError):
        decrypt_bytes(dek, context, blob[:6] + b"\x02" + blob[7:])


def test_unknown_suite(dek: bytes, context: StreamContext, blob: bytes) -> None:
    with pytest.raises(UnknownVersionError):
        decrypt_bytes(dek, context, blob[:7] + b"\x02" + blob[8:])


def test_bad_magic(dek: bytes, context: StreamContext, blob: bytes) -> None:
    with pytest.raises(FormatError):
        decrypt_bytes(dek, context, b"XKSTRM" + blob[6:])


def test_header_len_mismatch(dek: bytes, context: StreamContext, blob: bytes) -> None:
    size = StreamHeader.peek_length(blob)
    with pytest.raises(HeaderLimitError):
        decrypt_bytes(dek, context, blob[:8] + (size + 1).to_bytes(2, "big") + blob[10:])
    with pytest.raises(HeaderLimitError):
        decrypt_bytes(dek, context, blob[:8] + (600).to_bytes(2, "big") + blob[10:])


def test_short_objects(dek: bytes, context: StreamContext, blob: bytes) -> None:
    for size in (0, 5, 9):
        with pytest.raises(TruncatedError):
            decrypt_bytes(dek, context, blob[:size])
    prefix, _ = _split(blob)
    with pytest.raises(TruncatedError):
        decrypt_bytes(dek, context, prefix[:-1])


def test_feed_prefix_misuse(dek: bytes, context: StreamContext, blob: bytes) -> None:
    prefix, body = _split(blob)
    decryptor = StreamDecryptor(dek, context)
    with pytest.raises(UsageError):
        _ = decryptor.header
    with pytest.raises(UsageError):
        decryptor.decrypt_batch(body)
    with pytest.raises(UsageError):
        decryptor.decrypt_chunk_at(0, body[:ENCRYPTED_CHUNK_SIZE])
    with pytest.raises(TruncatedError):
        decryptor.feed_prefix(prefix[:-1])
    with pytest.raises(UsageError):
        decryptor.feed_prefix(prefix + b"\x00")
    decryptor.feed_prefix(prefix)
    with pytest.raises(UsageError):
        decryptor.feed_prefix(prefix)


def test_decryptor_refuses_bad_dek(context: StreamContext) -> None:
    with pytest.raises(UsageError):
        StreamDecryptor(b"short", context)


def test_use_after_finalize(dek: bytes, header: StreamHeader, context: StreamContext) -> None:
    prefix, body = _split(encrypt_bytes(dek, header, context, b"abc"))
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    decryptor.decrypt_batch(body)
    assert decryptor.finalize() == b"abc"
    with pytest.raises(UsageError):
        decryptor.finalize()
    with pytest.raises(UsageError):
        decryptor.decrypt_batch(b"")


def test_random_access_refusals(dek: bytes, context: StreamContext, blob: bytes) -> None:
    prefix, body = _split(blob)
    chunks = _chunk_list(body)
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    with pytest.raises(IntegrityError, match="chunk 2 "):
        decryptor.decrypt_chunk_at(2, chunks[1])
    with pytest.raises(IntegrityError, match="chunk 1 "):
        decryptor.decrypt_chunk_at(1, chunks[1][:-1])
    with pytest.raises(TruncatedError):
        decryptor.decrypt_chunk_at(1, chunks[1][: TAG_SIZE - 1])
    with pytest.raises(UsageError):
        decryptor.decrypt_chunk_at(-1, chunks[0])
    with pytest.raises(UsageError):
        decryptor.decrypt_chunk_at(0, chunks[0] + b"\x00")
    assert decryptor.decrypt_chunk_at(CHUNKS, chunks[CHUNKS]) == blob_tail(dek, context, blob)


def blob_tail(dek: bytes, context: StreamContext, blob: bytes) -> bytes:
    return decrypt_bytes(dek, context, blob)[1][CHUNKS * CHUNK_SIZE :]


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    budget = 2 * CHUNK_SIZE + 10
    monkeypatch.setattr(_chunks, "MAX_PLAINTEXT_BYTES", budget)
    return budget


def test_encrypt_over_budget(
    small_budget: int, dek: bytes, header: StreamHeader, context: StreamContext
) -> None:
    encrypt_bytes(dek, header, context, bytes(small_budget))
    with pytest.raises(LimitExceededError):
        encrypt_bytes(dek, header, context, bytes(small_budget + 1))


def test_decrypt_over_budget(
    dek: bytes, header: StreamHeader, context: StreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = encrypt_bytes(dek, header, context, bytes(3 * CHUNK_SIZE + 5))
    short = encrypt_bytes(dek, header, context, bytes(2 * CHUNK_SIZE + 11))
    monkeypatch.setattr(_chunks, "MAX_PLAINTEXT_BYTES", 2 * CHUNK_SIZE + 10)
    with pytest.raises(LimitExceededError):
        decrypt_bytes(dek, context, full)
    with pytest.raises(LimitExceededError):
        decrypt_bytes(dek, context, short)
    prefix, body = _split(full)
    decryptor = StreamDecryptor(dek, context)
    decryptor.feed_prefix(prefix)
    with pytest.raises(LimitExceededError):
        decryptor.decrypt_chunk_at(3, _chunk_list(body)[3])


def test_format_bound_is_below_c2sp_chunk_limit() -> None:
    assert suite.MAX_PLAINTEXT_BYTES == limits.MAX_ASSET_BYTES
    assert suite.MAX_PLAINTEXT_BYTES // CHUNK_SIZE < suite.MAX_CHUNKS
    assert Suite.COBBLESTONE_256 == 1
