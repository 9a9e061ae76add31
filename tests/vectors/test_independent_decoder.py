"""The independent decoder (written only from the format document) reads every vector."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _all_vectors() -> list[dict[str, Any]]:
    here = Path(__file__).parent
    return [json.loads(p.read_text(encoding="utf-8")) for p in here.glob("stream-v1-*.json")]


VECTOR_NAMES = {"empty", "one-chunk", "chunk-minus-one", "one-full-chunk", "chunk-plus-one"}


def _h(vector: dict[str, Any], field: str) -> bytes:
    return bytes.fromhex(vector[field])


def _text(vector: dict[str, Any], field: str) -> str:
    return _h(vector, field).decode("utf-8")


def _object(vector: dict[str, Any], decoder: ModuleType) -> bytes:
    """The object bytes: stored in full, or rebuilt by the independent encoder."""
    if "object" in vector:
        return _h(vector, "object")
    ids = (_text(vector, "key_ring_id"), _text(vector, "domain_id"), _text(vector, "dek_id"))
    plaintext = decoder.mod251(vector["plaintext_length"])
    args = (_text(vector, "tenant"), _text(vector, "asset_id"), _h(vector, "version_id"))
    blob: bytes = decoder.encode(_h(vector, "dek"), ids, *args, _h(vector, "salt"), plaintext)
    assert blob[:64] == _h(vector, "object_head")
    assert blob[-64:] == _h(vector, "object_tail")
    return blob


def _decode(vector: dict[str, Any], decoder: ModuleType, blob: bytes) -> Any:
    return decoder.decode(
        blob,
        _h(vector, "dek"),
        _text(vector, "tenant"),
        _text(vector, "asset_id"),
        _h(vector, "version_id"),
    )


def test_decoder_does_not_import_forgekeep(decoder: ModuleType) -> None:
    tree = ast.parse(Path(decoder.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {
        "__future__",
        "cryptography",
        "dataclasses",
        "hashlib",
        "hmac",
        "re",
        "struct",
    }


def test_all_vectors_present(vector: dict[str, Any]) -> None:
    assert vector["name"] in VECTOR_NAMES | {"multi-mib"}


def test_decodes_vector(vector: dict[str, Any], decoder: ModuleType) -> None:
    blob = _object(vector, decoder)
    assert len(blob) == vector["object_length"]
    assert hashlib.sha256(blob).hexdigest() == vector["object_sha256"]
    decoded = _decode(vector, decoder, blob)
    assert decoded.plaintext == decoder.mod251(vector["plaintext_length"])
    assert decoded.suite == vector["suite"]
    assert decoded.key_ring_id == _text(vector, "key_ring_id")
    assert decoded.domain_id == _text(vector, "domain_id")
    assert decoded.dek_id == _text(vector, "dek_id")
    assert decoded.header_hash == _h(vector, "header_hash")
    assert decoded.context == _h(vector, "context")
    mac = decoder.plaintext_mac(_h(vector, "dek"), decoded.context, decoded.plaintext)
    assert mac == _h(vector, "mac")


def test_reencodes_small_vector(small_vector: dict[str, Any], decoder: ModuleType) -> None:
    vector = small_vector
    decoded = _decode(vector, decoder, _h(vector, "object"))
    ids = (decoded.key_ring_id, decoded.domain_id, decoded.dek_id)
    args = (_text(vector, "tenant"), _text(vector, "asset_id"), _h(vector, "version_id"))
    blob = decoder.encode(_h(vector, "dek"), ids, *args, _h(vector, "salt"), decoded.plaintext)
    assert blob == _h(vector, "object")


def test_refuses_tampered_vector(small_vector: dict[str, Any], decoder: ModuleType) -> None:
    vector = small_vector
    blob = bytearray(_h(vector, "object"))
    blob[-1] ^= 0x01
    with pytest.raises(decoder.DecodeError) as caught:
        _decode(vector, decoder, bytes(blob))
    assert caught.value.kind == "integrity"


def test_refuses_truncation_after_full_chunk(decoder: ModuleType) -> None:
    vector = next(v for v in _all_vectors() if v["name"] == "one-full-chunk")
    blob = _h(vector, "object")[:-16]
    with pytest.raises(decoder.DecodeError) as caught:
        _decode(vector, decoder, blob)
    assert caught.value.kind == "truncated"


def test_refuses_wrong_version_id(small_vector: dict[str, Any], decoder: ModuleType) -> None:
    vector = small_vector
    other = bytes(16)
    with pytest.raises(decoder.DecodeError) as caught:
        decoder.decode(
            _h(vector, "object"),
            _h(vector, "dek"),
            _text(vector, "tenant"),
            _text(vector, "asset_id"),
            other,
        )
    assert caught.value.kind == "commitment"
