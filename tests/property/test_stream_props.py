"""Property tests for stream v1 and canonical JSON.

* Any plaintext, encrypted and decrypted through any batch split, round-trips,
  and batch boundaries never change the ciphertext bytes.
* Any single changed byte anywhere in an object is refused with a Forgekeep
  format or integrity error.
* The fast canonical JSON path gives exactly the RFC 8785 bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from forgekeep.crypto import fast_canonical_json
from forgekeep.crypto.canonical import _in_fast_subset
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.stream import decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import BODY_PREFIX_SIZE, CHUNK_SIZE, Suite
from forgekeep.errors import FormatError, IntegrityError

DEK = bytes(range(32))
HEADER = StreamHeader(Suite.COBBLESTONE_256, "ring:acme:eu-1", "project.bracket", "dek_0001")
CONTEXT = StreamContext("acme", "asset-0001", bytes(range(16)))
SALT = bytes(range(24))


def _plaintext(seed: int, size: int) -> bytes:
    return hashlib.shake_256(seed.to_bytes(8, "big")).digest(size)


def _split_points(draw_data: st.DataObject, length: int) -> list[int]:
    cuts = draw_data.draw(st.lists(st.integers(0, length), max_size=8))
    return sorted({0, length, *cuts})


def _pieces(data: bytes, points: list[int]) -> list[bytes]:
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63), size=st.integers(0, 5 * CHUNK_SIZE + 50), data=st.data())
def test_round_trip_with_random_batches(seed: int, size: int, data: st.DataObject) -> None:
    plaintext = _plaintext(seed, size)
    whole = encrypt_bytes(DEK, HEADER, CONTEXT, plaintext, salt=SALT)
    encryptor = StreamEncryptor(DEK, HEADER, CONTEXT, salt=SALT)
    parts = [encryptor.prefix()]
    parts.extend(
        bytes(encryptor.encrypt_batch(p)) for p in _pieces(plaintext, _split_points(data, size))
    )
    parts.append(encryptor.finalize())
    blob = b"".join(parts)
    assert blob == whole
    prefix_size = StreamHeader.peek_length(blob) + BODY_PREFIX_SIZE
    decryptor = StreamDecryptor(DEK, CONTEXT)
    decryptor.feed_prefix(blob[:prefix_size])
    body = blob[prefix_size:]
    out = [bytes(decryptor.decrypt_batch(p)) for p in _pieces(body, _split_points(data, len(body)))]
    out.append(decryptor.finalize())
    assert b"".join(out) == plaintext


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 2 * CHUNK_SIZE + 40), data=st.data())
def test_any_single_byte_change_is_refused(size: int, data: st.DataObject) -> None:
    blob = bytearray(encrypt_bytes(DEK, HEADER, CONTEXT, _plaintext(size, size), salt=SALT))
    position = data.draw(st.integers(0, len(blob) - 1), label="position")
    blob[position] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises((FormatError, IntegrityError)):
        decrypt_bytes(DEK, CONTEXT, bytes(blob))


_SAFE_INT = 2**53 - 1
_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_edge_text = st.text(
    st.sampled_from(
        ["a", "\x00", "\x1f", "\x7f", "\u2028", "\ud800", "\ue000", "\uffff", "\U0001f600"]
    ),
    max_size=6,
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-_SAFE_INT - 2, _SAFE_INT + 2)
    | st.floats()
    | _any_text
    | _edge_text
)
_json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_any_text | _edge_text, children, max_size=4)
    ),
    max_leaves=20,
)

_subset_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
_subset_key = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6)
_subset_values = st.recursive(
    st.none() | st.booleans() | st.integers(-_SAFE_INT, _SAFE_INT) | _subset_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_subset_key, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(_json_values)
def test_fast_canonical_json_equals_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (ValueError, RecursionError):
        with pytest.raises(FormatError):
            fast_canonical_json(value)
        return
    assert fast_canonical_json(value) == expected


@settings(max_examples=500, deadline=None)
@given(_subset_values)
def test_sorted_json_dumps_is_jcs_on_the_subset(value: Any) -> None:
    assert _in_fast_subset(value)
    plain = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert plain == rfc8785.dumps(value)
