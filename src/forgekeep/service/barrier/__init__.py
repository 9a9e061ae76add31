"""The sealing barrier: the one place that seals and opens asset versions.

It owns everything between plaintext and a stored object: DEK creation and
wrapping, the stream header, the stream context, the plaintext MAC and the
threaded pipeline. Use cases hand it a key manager, a version's address and
byte sources and sinks; they never see a DEK, a header or a chunk.

Security rules:

* Nothing else imports the stream internals of :mod:`forgekeep.crypto`
  (``suite``, ``header``, ``encryptor``, ``decryptor``, ``stream``, ``mac``,
  ``_chunks``, ``_kdf``); an import contract in ``pyproject.toml`` checks it.
* Sealing: a fresh random DEK per version, wrapped under a typed
  :class:`~forgekeep.crypto.context.AssetVersionContext`; the database keeps
  HMAC-SHA-256(K_mac, plaintext), never a bare plaintext hash
  (:mod:`._seal`).
* Opening: the commitment is checked before any chunk, the header must name
  the recorded keys, each chunk is authenticated before its plaintext is
  written, and size and MAC are checked before :func:`open_version` returns,
  so output is placed only after the whole version verified (:mod:`._open`).
* Formats are unchanged: ``docs/formats/stream-v1.md``.
"""

from __future__ import annotations

from forgekeep.service.barrier._open import (
    BlobSource,
    HeaderNames,
    StoredVersion,
    open_version,
    read_header,
    read_prefix,
)
from forgekeep.service.barrier._pipeline import BlobSink, Progress
from forgekeep.service.barrier._seal import (
    SealedVersion,
    VersionAddress,
    new_version_id,
    seal_version,
)

__all__ = [
    "BlobSink",
    "BlobSource",
    "HeaderNames",
    "Progress",
    "SealedVersion",
    "StoredVersion",
    "VersionAddress",
    "new_version_id",
    "open_version",
    "read_header",
    "read_prefix",
    "seal_version",
]
