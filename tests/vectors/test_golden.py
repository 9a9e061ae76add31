"""forgekeep.crypto reproduces the stream v1 golden vectors byte for byte."""

from __future__ import annotations

import hashlib
from typing import Any

from forgekeep.crypto._kdf import derive_body_keys
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.stream import decrypt_bytes, encrypt_bytes
from forgekeep.crypto.suite import Suite


def _h(vector: dict[str, Any], field: str) -> bytes:
    return bytes.fromhex(vector[field])


def _plaintext(vector: dict[str, Any]) -> bytes:
    assert vector["plaintext_generator"] == "mod251"
    length = vector["plaintext_length"]
    return (bytes(range(251)) * (length // 251 + 1))[:length]


def _inputs(vector: dict[str, Any]) -> tuple[StreamHeader, StreamContext]:
    header = StreamHeader(
        Suite(vector["suite"]),
        _h(vector, "key_ring_id").decode("ascii"),
        _h(vector, "domain_id").decode("ascii"),
        _h(vector, "dek_id").decode("ascii"),
    )
    context = StreamContext(
        _h(vector, "tenant").decode("utf-8"),
        _h(vector, "asset_id").decode("utf-8"),
        _h(vector, "version_id"),
    )
    return header, context


def test_intermediate_values(vector: dict[str, Any]) -> None:
    header, context = _inputs(vector)
    assert header.encode() == _h(vector, "header")
    assert header.hash() == _h(vector, "header_hash")
    context_bytes = context.encode(header.hash())
    assert context_bytes == _h(vector, "context")
    keys = derive_body_keys(header.suite, _h(vector, "dek"), _h(vector, "salt"), context_bytes)
    assert keys.key == _h(vector, "key")
    assert keys.base_nonce.to_bytes(12, "big") == _h(vector, "base_nonce")
    assert keys.commitment == _h(vector, "commitment")
    assert mac_key(_h(vector, "dek"), context_bytes) == _h(vector, "mac_key")


def test_object_bytes(vector: dict[str, Any]) -> None:
    header, context = _inputs(vector)
    plaintext = _plaintext(vector)
    blob = encrypt_bytes(_h(vector, "dek"), header, context, plaintext, salt=_h(vector, "salt"))
    assert len(blob) == vector["object_length"]
    assert hashlib.sha256(blob).hexdigest() == vector["object_sha256"]
    if "object" in vector:
        assert blob == _h(vector, "object")
    else:
        assert blob[:64] == _h(vector, "object_head")
        assert blob[-64:] == _h(vector, "object_tail")
    decoded_header, decoded = decrypt_bytes(_h(vector, "dek"), context, blob)
    assert decoded_header == header
    assert decoded == plaintext


def test_mac(vector: dict[str, Any]) -> None:
    header, context = _inputs(vector)
    mac = PlaintextMac(mac_key(_h(vector, "dek"), context.encode(header.hash())))
    mac.update(_plaintext(vector))
    assert mac.digest() == _h(vector, "mac")
    mac.verify(_h(vector, "mac"))


def test_streaming_decrypt_of_stored_object(small_vector: dict[str, Any]) -> None:
    _, context = _inputs(small_vector)
    blob = _h(small_vector, "object")
    prefix_size = StreamHeader.peek_length(blob) + 56
    decryptor = StreamDecryptor(_h(small_vector, "dek"), context)
    decryptor.feed_prefix(blob[:prefix_size])
    parts = [
        bytes(decryptor.decrypt_batch(blob[at : at + 777]))
        for at in range(prefix_size, len(blob), 777)
    ]
    parts.append(decryptor.finalize())
    assert b"".join(parts) == _plaintext(small_vector)
