"""The signed-object v1 worked example (docs/formats/signed-objects.md §7) is pinned.

``signed-object-v1.json`` was written once from ``forgekeep.crypto.signed``; every
field is recomputed here twice: by the library, and from the format document
alone with ``hashlib``, ``json`` and ``cryptography`` (Ed25519 is deterministic).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from forgekeep.crypto.signed import (
    SignedObject,
    SignerKey,
    encode_signer_key,
    encode_vkey,
    parse_signer_key,
    parse_vkey,
    sign,
    verify,
)

VECTOR_PATH = Path(__file__).parent / "signed-object-v1.json"


@pytest.fixture(scope="module")
def case() -> dict[str, Any]:
    return json.loads(VECTOR_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_library_reproduces_the_vector(case: dict[str, Any]) -> None:
    signer = SignerKey(case["key_name"], bytes.fromhex(case["seed_hex"]))
    assert signer.verifier.public_key.hex() == case["public_key_hex"]
    assert f"{signer.verifier.key_hash:08x}" == case["key_hash_hex"]
    assert signer.key_id == case["key_id"]
    assert encode_vkey(signer.verifier) == case["vkey"]
    assert encode_signer_key(signer) == case["signer_key"]
    obj = sign(signer, case["type"], case["payload"])
    assert obj.payload_json.hex() == case["payload_canonical_hex"]
    assert obj.message().hex() == case["message_hex"]
    assert base64.b64encode(obj.signatures[0].sig).decode() == case["signature_b64"]
    assert obj.to_json() == case["document"].encode("utf-8")


def test_library_reads_the_vector(case: dict[str, Any]) -> None:
    vkey = parse_vkey(case["vkey"])
    assert parse_signer_key(case["signer_key"]).verifier == vkey
    obj = SignedObject.from_json(case["document"].encode("utf-8"))
    assert verify(obj, expected_type=case["type"], trusted=[vkey]) == case["payload"]


def test_vector_follows_the_document(case: dict[str, Any]) -> None:
    """Recompute every value from the rules in the format document, without forgekeep."""
    name = case["key_name"].encode("utf-8")
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(case["seed_hex"]))
    public = private.public_key().public_bytes_raw()
    assert public.hex() == case["public_key_hex"]
    # §3: key hash = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], written as 8 hex digits.
    hash_input = name + b"\n\x01" + public
    assert hash_input.hex() == case["key_hash_input_hex"]
    key_hash = hashlib.sha256(hash_input).digest()[:4].hex()
    assert key_hash == case["key_hash_hex"]
    key_id = f"{case['key_name']}+{key_hash}"
    assert key_id == case["key_id"]
    # §4: vkey and signer key.
    public64 = base64.b64encode(b"\x01" + public).decode()
    assert case["vkey"] == f"{key_id}+{public64}"
    seed64 = base64.b64encode(b"\x01" + bytes.fromhex(case["seed_hex"])).decode()
    assert case["signer_key"] == f"PRIVATE+KEY+{key_id}+{seed64}"
    # §5: the payload here is in the subset where sorted compact json.dumps is RFC 8785.
    canonical = json.dumps(
        case["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert canonical.hex() == case["payload_canonical_hex"]
    message = b"forgekeep/" + case["type"].encode("ascii") + b"/v1\n" + canonical
    assert message.hex() == case["message_hex"]
    signature = private.sign(message)
    assert base64.b64encode(signature).decode() == case["signature_b64"]
    private.public_key().verify(signature, message)
    # §6: the envelope, canonical JSON with members sorted.
    envelope = {
        "type": case["type"],
        "payload": case["payload"],
        "signatures": [{"key_id": key_id, "sig": case["signature_b64"]}],
    }
    document = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert document == case["document"]


def test_format_document_shows_the_vector(case: dict[str, Any]) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "formats" / "signed-objects.md").read_text()
    for field in ("seed_hex", "public_key_hex", "key_id", "vkey", "signer_key", "signature_b64"):
        assert f"`{case[field]}`" in doc, field
