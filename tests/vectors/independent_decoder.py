"""A stream v1 decoder written only from docs/formats/stream-v1.md.

It must never import forgekeep: it exists to show that the document alone is
enough to read a Forgekeep object. It uses only the primitives the document
names (HKDF-Expand with SHA-512, AES-256-GCM, HMAC-SHA-256, SHA-256) and reads
the whole object from memory.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

CHUNK = 16384
TAG = 16
SEALED_CHUNK = CHUNK + TAG
ID_BYTES = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")


class DecodeError(Exception):
    """Why an object was refused; ``kind`` names the row of the doc's error table."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass
class Decoded:
    suite: int
    key_ring_id: str
    domain_id: str
    dek_id: str
    header_hash: bytes
    context: bytes
    plaintext: bytes


def mod251(n: int) -> bytes:
    """Doc §9: plaintext byte i is i mod 251."""
    out = bytearray(n)
    pattern = bytes(range(251))
    for start in range(0, n, 251):
        piece = pattern[: n - start]
        out[start : start + len(piece)] = piece
    return bytes(out)


def hkdf_expand_sha512(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA512(), length, info).derive(prk)


def parse_header(obj: bytes) -> tuple[int, list[str], int]:
    """Doc §3.1: return (suite, [key_ring_id, domain_id, dek_id], header_len)."""
    if obj[:6] != b"FKSTRM"[: len(obj[:6])]:
        raise DecodeError("format", "bad magic")
    if len(obj) < 10:
        raise DecodeError("truncated", "short preamble")
    version, suite, header_len = struct.unpack(">BBH", obj[6:10])
    if version != 1 or suite != 1:
        raise DecodeError("version", f"version {version} suite {suite}")
    if header_len < 16 or header_len > 512:
        raise DecodeError("header-limit", f"header_len {header_len}")
    if len(obj) < header_len:
        raise DecodeError("truncated", "short header")
    ids: list[str] = []
    cursor = 10
    while len(ids) < 3:
        if cursor >= header_len:
            raise DecodeError("header-limit", "id length byte beyond header_len")
        n = obj[cursor]
        value = obj[cursor + 1 : cursor + 1 + n]
        if n == 0 or n > 64 or cursor + 1 + n > header_len:
            raise DecodeError("header-limit", "bad id length")
        if not ID_BYTES.fullmatch(value):
            raise DecodeError("format", "bad id byte")
        ids.append(value.decode("ascii"))
        cursor += 1 + n
    if cursor != header_len:
        raise DecodeError("header-limit", "header_len disagrees with the fields")
    return suite, ids, header_len


def stream_context(tenant: str, asset_id: str, version_id: bytes, header_hash: bytes) -> bytes:
    """Doc §4."""
    t = tenant.encode("utf-8")
    a = asset_id.encode("utf-8")
    if len(version_id) != 16 or len(header_hash) != 32:
        raise ValueError("version_id is 16 bytes and header_hash 32")
    ctx = b"forgekeep/stream-v1\x00" + struct.pack(">H", len(t)) + t
    ctx += struct.pack(">H", len(a)) + a + version_id + header_hash
    if len(ctx) > 1024:
        raise ValueError("context over 1024 bytes")
    return ctx


def body_keys(dek: bytes, salt: bytes, context: bytes) -> tuple[bytes, bytes, bytes]:
    """Doc §5.1: (key, base_nonce, commitment)."""
    info = b"c2sp.org/chunked-encryption@v1+" + b"AEAD_AES_256_GCM" + b"\x00" + salt + context
    okm = hkdf_expand_sha512(dek, info, 76)
    return okm[:32], okm[32:44], okm[44:]


def plaintext_mac(dek: bytes, context: bytes, plaintext: bytes) -> bytes:
    """Doc §6."""
    k_mac = hkdf_expand_sha512(dek, b"forgekeep/stream-v1/mac" + b"\x00" + context, 32)
    return hmac.new(k_mac, plaintext, hashlib.sha256).digest()


def _split_body(chunks: bytes) -> list[bytes]:
    """Doc §5.3 steps 3-4: full pieces, then a final piece of 16..16399 bytes."""
    pieces = [chunks[i : i + SEALED_CHUNK] for i in range(0, len(chunks), SEALED_CHUNK)]
    if not pieces or not TAG <= len(pieces[-1]) < SEALED_CHUNK:
        raise DecodeError("truncated", "no short final chunk")
    return pieces


def decode(obj: bytes, dek: bytes, tenant: str, asset_id: str, version_id: bytes) -> Decoded:
    """Verify and decrypt a whole stream v1 object."""
    suite, ids, header_len = parse_header(obj)
    header_hash = hashlib.sha256(obj[:header_len]).digest()
    context = stream_context(tenant, asset_id, version_id, header_hash)
    body = obj[header_len:]
    if len(body) < 56:
        raise DecodeError("truncated", "no salt and commitment")
    key, base_nonce, commitment = body_keys(dek, body[:24], context)
    if not hmac.compare_digest(commitment, body[24:56]):
        raise DecodeError("commitment", "commitment mismatch")
    aead = AESGCM(key)
    nonce_int = int.from_bytes(base_nonce, "big")
    plaintext = bytearray()
    for index, piece in enumerate(_split_body(body[56:])):
        nonce = (nonce_int ^ index).to_bytes(12, "big")
        try:
            plaintext += aead.decrypt(nonce, piece, b"")
        except InvalidTag:
            raise DecodeError("integrity", f"chunk {index}") from None
    return Decoded(suite, ids[0], ids[1], ids[2], header_hash, context, bytes(plaintext))


def encode(
    dek: bytes,
    ids: tuple[str, str, str],
    tenant: str,
    asset_id: str,
    version_id: bytes,
    salt: bytes,
    plaintext: bytes,
) -> bytes:
    """Doc §2-§5.2, the other way round: build an object (to rebuild the large vector)."""
    fields = b"".join(bytes([len(i)]) + i.encode("ascii") for i in ids)
    header = b"FKSTRM" + struct.pack(">BBH", 1, 1, 10 + len(fields)) + fields
    context = stream_context(tenant, asset_id, version_id, hashlib.sha256(header).digest())
    key, base_nonce, commitment = body_keys(dek, salt, context)
    aead = AESGCM(key)
    nonce_int = int.from_bytes(base_nonce, "big")
    out = [header, salt, commitment]
    count = len(plaintext) // CHUNK + 1
    for index in range(count):
        nonce = (nonce_int ^ index).to_bytes(12, "big")
        out.append(aead.encrypt(nonce, plaintext[index * CHUNK : (index + 1) * CHUNK], b""))
    return b"".join(out)
