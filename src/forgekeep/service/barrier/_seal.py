"""Sealing one asset version: a fresh DEK, its wrap, the header, the stream and its MAC.

Security rules:

* Each version gets a fresh random 256-bit DEK and a fresh random DEK id. The
  DEK is wrapped by the domain key under an
  :class:`~forgekeep.crypto.context.AssetVersionContext` (tenant, key ring,
  domain, asset, version id, suite); only the wrap leaves this module.
* The stream header names the key ring, domain and DEK id; the stream context
  binds tenant, asset, version id and the header's hash.
* The integrity value is HMAC-SHA-256 over the plaintext under a key derived
  from the DEK and the full stream context, never a bare hash of the plaintext.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import BinaryIO, Final

from forgekeep.crypto.context import AssetVersionContext, StreamContext, asset_version_context
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.suite import DEK_SIZE, VERSION_ID_SIZE, Suite
from forgekeep.keys.protocol import DomainKeyRef, KeyManager
from forgekeep.service.barrier._pipeline import BlobSink, Progress, encrypt_stream

#: The suite every new version is sealed with.
SUITE: Final = Suite.COBBLESTONE_256


@dataclass(frozen=True, slots=True)
class VersionAddress:
    """What one version's keys and stream are bound to."""

    tenant: str
    key_ring: str
    domain: str
    asset_id: str
    version_id: bytes

    @property
    def key_ref(self) -> DomainKeyRef:
        """The domain key that wraps the version's DEK."""
        return DomainKeyRef(self.key_ring, self.domain)

    def wrap_context(self, suite: int) -> AssetVersionContext:
        """The context the DEK's wrap binds, for a version sealed with ``suite``."""
        return asset_version_context(
            tenant=self.tenant,
            key_ring=self.key_ring,
            domain=self.domain,
            asset_id=self.asset_id,
            version_id=self.version_id,
            suite=suite,
        )

    def stream_context(self) -> StreamContext:
        """The stream context (bound to a header's hash when encoded)."""
        return StreamContext(self.tenant, self.asset_id, self.version_id)


@dataclass(frozen=True, slots=True)
class SealedVersion:
    """What put stores of a sealed version: its key, header ids, sizes and digests."""

    dek_id: str
    wrapped_dek: bytes
    suite: int
    size: int
    ciphertext_size: int
    ciphertext_sha256: str
    plaintext_hmac: str


def new_version_id() -> bytes:
    """A fresh random 128-bit version id, issued when an upload starts."""
    return secrets.token_bytes(VERSION_ID_SIZE)


def new_dek_id() -> str:
    """A fresh random DEK id, as the header and the data-key row name it."""
    return f"k-{secrets.token_hex(10)}"


def seal_version(
    km: KeyManager,
    address: VersionAddress,
    source: BinaryIO,
    sink: BlobSink,
    progress: Progress,
) -> SealedVersion:
    """Encrypt ``source`` into ``sink`` (a blob store's put) as one new version.

    The DEK is wrapped before a byte is written, so a key manager that refuses
    stops the put before any blob exists.
    """
    dek_id = new_dek_id()
    header = StreamHeader(SUITE, address.key_ring, address.domain, dek_id)
    stream_ctx = address.stream_context()
    dek = secrets.token_bytes(DEK_SIZE)
    wrapped = km.wrap(address.key_ref, dek, address.wrap_context(int(SUITE)))
    encryptor = StreamEncryptor(dek, header, stream_ctx)
    mac = PlaintextMac(mac_key(dek, stream_ctx.encode(header.hash())))
    digest = encrypt_stream(source, encryptor, mac, sink, progress)
    return SealedVersion(
        dek_id,
        wrapped,
        int(SUITE),
        digest.size,
        digest.ciphertext_size,
        digest.ciphertext_sha256,
        digest.plaintext_hmac,
    )
