"""Write the stream v1 golden vectors (run by hand; the files are committed).

    .venv/bin/python tests/vectors/generate.py

Inputs are derived from each vector's name, so rerunning rewrites identical
files. The format of the files is described in docs/formats/stream-v1.md §9.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from forgekeep.crypto._kdf import derive_body_keys
from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.stream import encrypt_bytes
from forgekeep.crypto.suite import Suite

HERE = Path(__file__).parent
FULL_OBJECT_LIMIT = 64 << 10
EDGE = 64

CASES: list[dict[str, Any]] = [
    {"name": "empty", "length": 0, "tenant": "acme", "asset_id": "asset-0001",
     "comment": "empty plaintext: one empty final chunk"},
    {"name": "one-chunk", "length": 1000, "tenant": "Müller Präzision GmbH",
     "asset_id": "fixtures/bracket rev-C.step", "comment": "one short chunk; UTF-8 tenant"},
    {"name": "chunk-minus-one", "length": 16383, "tenant": "acme", "asset_id": "asset-0002",
     "comment": "longest single-chunk message"},
    {"name": "one-full-chunk", "length": 16384, "tenant": "acme", "asset_id": "asset-0003",
     "comment": "one full chunk, then an empty final chunk"},
    {"name": "chunk-plus-one", "length": 16385, "tenant": "acme", "asset_id": "asset-0004",
     "comment": "one full chunk, then a 1-byte final chunk"},
    {"name": "multi-mib", "length": 3 * (1 << 20) + 5, "tenant": "東京精密",
     "asset_id": "moulds/housing.x_t", "comment": "192 full chunks and a 5-byte final chunk"},
]  # fmt: skip


def mod251(length: int) -> bytes:
    """The vector plaintext: byte i is i mod 251."""
    return (bytes(range(251)) * (length // 251 + 1))[:length]


def _seeded(label: str, name: str, size: int) -> bytes:
    return hashlib.sha256(f"forgekeep/stream-v1/vector/{label}/{name}".encode()).digest()[:size]


def build(case: dict[str, Any]) -> dict[str, Any]:
    """Encrypt one case and describe it as a vector."""
    name = case["name"]
    dek, salt, version_id = (
        _seeded("dek", name, 32),
        _seeded("salt", name, 24),
        _seeded("version", name, 16),
    )
    header = StreamHeader(Suite.COBBLESTONE_256, "ring:acme:eu-1", "project.bracket", f"dek_{name}")
    context = StreamContext(case["tenant"], case["asset_id"], version_id)
    plaintext = mod251(case["length"])
    blob = encrypt_bytes(dek, header, context, plaintext, salt=salt)
    context_bytes = context.encode(header.hash())
    keys = derive_body_keys(header.suite, dek, salt, context_bytes)
    mac = PlaintextMac(mac_key(dek, context_bytes))
    mac.update(plaintext)
    vector: dict[str, Any] = {
        "name": name,
        "comment": case["comment"],
        "suite": int(header.suite),
        "dek": dek.hex(),
        "salt": salt.hex(),
        "tenant": case["tenant"].encode().hex(),
        "asset_id": case["asset_id"].encode().hex(),
        "version_id": version_id.hex(),
        "key_ring_id": header.key_ring_id.encode().hex(),
        "domain_id": header.domain_id.encode().hex(),
        "dek_id": header.dek_id.encode().hex(),
        "plaintext_length": len(plaintext),
        "plaintext_generator": "mod251",
        "header": header.encode().hex(),
        "header_hash": header.hash().hex(),
        "context": context_bytes.hex(),
        "key": keys.key.hex(),
        "base_nonce": keys.base_nonce.to_bytes(12, "big").hex(),
        "commitment": keys.commitment.hex(),
        "mac_key": mac_key(dek, context_bytes).hex(),
        "mac": mac.digest().hex(),
        "object_length": len(blob),
        "object_sha256": hashlib.sha256(blob).hexdigest(),
    }
    if len(blob) <= FULL_OBJECT_LIMIT:
        vector["object"] = blob.hex()
    else:
        vector["object_head"] = blob[:EDGE].hex()
        vector["object_tail"] = blob[-EDGE:].hex()
    return vector


def main() -> None:
    for case in CASES:
        path = HERE / f"stream-v1-{case['name']}.json"
        path.write_text(json.dumps(build(case), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
