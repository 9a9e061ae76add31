"""Opening one stored asset version, and reading a stored object's header.

Security rules:

* The DEK is unwrapped under the same typed
  :class:`~forgekeep.crypto.context.AssetVersionContext` it was wrapped with.
* The key commitment is checked before any chunk is decrypted, and the stored
  header must name the key ring, domain and DEK id the database recorded.
* Every chunk is authenticated before its plaintext reaches the sink.
* The plaintext size and MAC are compared with the recorded ones (in constant
  time) before :func:`open_version` returns; until it returns, what the sink
  received is unverified, so a caller places a file output only afterwards.
* A header is untrusted input: :func:`read_header` checks the preamble and the
  declared length before it reads the ids.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.header import PREAMBLE_SIZE, StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.stream import prefix_size
from forgekeep.errors import DigestMismatchError, IntegrityError
from forgekeep.keys.protocol import KeyManager
from forgekeep.service.barrier._pipeline import Progress, decrypt_stream
from forgekeep.service.barrier._seal import VersionAddress

BlobSource = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


@dataclass(frozen=True, slots=True)
class HeaderNames:
    """The key names a stored object's header carries."""

    key_ring_id: str
    domain_id: str
    dek_id: str


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the database recorded of one version, as opening it needs."""

    address: VersionAddress
    dek_id: str
    wrapped_dek: bytes
    suite: int
    size: int
    plaintext_hmac: str
    label: str  # how messages name the version, e.g. "part.step@3"

    @property
    def names(self) -> HeaderNames:
        """The names its header must carry."""
        return HeaderNames(self.address.key_ring, self.address.domain, self.dek_id)


def read_header(head: bytes) -> HeaderNames:
    """Parse the header at the start of ``head`` (the object's first bytes).

    Raises a :class:`~forgekeep.errors.ForgekeepError` (format, version,
    limit or truncation) when it is not a well-formed stream v1 header.
    """
    length = StreamHeader.peek_length(head[:PREAMBLE_SIZE])
    header = StreamHeader.decode(head[:length])
    return HeaderNames(header.key_ring_id, header.domain_id, header.dek_id)


def read_prefix(blob: BinaryIO) -> bytes:
    """Read ``header ‖ salt ‖ commitment`` from the start of a stored object."""
    head = blob.read(PREAMBLE_SIZE)
    return head + blob.read(prefix_size(head) - len(head))


def _start(
    stored: StoredVersion, dek: bytes, blob: BinaryIO
) -> tuple[StreamDecryptor, PlaintextMac]:
    """Check the commitment and the header's names; the decryptor and MAC to go on with."""
    stream_ctx = stored.address.stream_context()
    decryptor = StreamDecryptor(dek, stream_ctx)
    decryptor.feed_prefix(read_prefix(blob))
    header = decryptor.header
    found = HeaderNames(header.key_ring_id, header.domain_id, header.dek_id)
    if found != stored.names:
        raise IntegrityError("the stored object's header does not match its metadata")
    return decryptor, PlaintextMac(mac_key(dek, stream_ctx.encode(header.hash())))


def open_version(
    km: KeyManager,
    stored: StoredVersion,
    source: BlobSource,
    write: Callable[[memoryview], None],
    progress: Progress,
) -> int:
    """Decrypt the version ``source()`` opens into ``write``; returns the plaintext size.

    The DEK is unwrapped before ``source`` is called. Raises
    :class:`DigestMismatchError` when the size or the MAC differs from the
    record, after the last byte was written but before returning.
    """
    address = stored.address
    dek = km.unwrap(address.key_ref, stored.wrapped_dek, address.wrap_context(stored.suite))
    with source() as blob:
        decryptor, mac = _start(stored, dek, blob)
        size = decrypt_stream(blob, decryptor, mac, write, progress)
    if size != stored.size or not hmac.compare_digest(mac.digest().hex(), stored.plaintext_hmac):
        raise DigestMismatchError(f"{stored.label} failed its HMAC check")
    return size
