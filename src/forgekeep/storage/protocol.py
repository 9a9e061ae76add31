"""The BlobStore protocol: the one small interface every blob backend implements.

Blob stores are *untrusted* for confidentiality: they only ever hold stream v1
ciphertext. Their job is availability and placement.

Security and durability rules every backend keeps (checked by
``forgekeep.testing.conformance.exercise_blob_store``):

* Keys are validated: ``[A-Za-z0-9._-]`` segments joined by ``/``, no empty
  segment, no ``.`` or ``..``, at most ``MAX_BLOB_KEY_BYTES``; anything else is
  :class:`~forgekeep.errors.InvalidNameError` (no path tricks reach the backend).
  A segment holds at most ``MAX_BLOB_KEY_SEGMENT_BYTES`` (so every key fits a
  file name on every filesystem, temporary decoration included) and never
  starts with the temporary-file prefix ``.fk-tmp-``, which is reserved.
  ``list`` checks its prefix by the same rules.
* ``put`` is all-or-nothing: when it returns the blob is durable under its key;
  when it raises, nothing under that key changed and no partial object is
  listed. A full disk raises :class:`~forgekeep.errors.DiskFullError`.
* ``get`` of a missing key raises :class:`~forgekeep.errors.BlobNotFoundError`.
* ``list`` reports what really sits in the store, including orphans, never
  in-progress temporary objects.
* Only Forgekeep errors escape a backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

MAX_BLOB_KEY_BYTES = 512
MAX_BLOB_KEY_SEGMENT_BYTES = 200


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    modified_at: dt.datetime


@runtime_checkable
class BlobStore(Protocol):
    """Stores opaque ciphertext blobs under validated keys."""

    @property
    def uri(self) -> str:
        """The backend URI this store was opened from (no credentials in it)."""
        ...

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        """Store the concatenated chunks durably and atomically under ``key``."""
        ...

    def get(self, key: str) -> BinaryIO:
        """Open a blob for streaming, seekable reads (the caller closes it)."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob; missing is not an error (idempotent)."""
        ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Every blob whose key starts with ``prefix``, in key order."""
        ...

    def stat(self, key: str) -> BlobInfo:
        """Size and modification time of one blob."""
        ...


@runtime_checkable
class LocalDirectoryStore(Protocol):
    """An optional feature: a store kept in a local directory. Plaintext output is
    refused inside it, and doctor checks that it is writable."""

    @property
    def root(self) -> Path:
        """The store's root directory, resolved."""
        ...


@runtime_checkable
class TemporaryListing(Protocol):
    """An optional feature: a store that can list the temporaries an interrupted
    write left behind (``fsck`` reports them, ``fsck --repair`` removes them)."""

    def list_temporaries(self) -> Iterator[BlobInfo]:
        """Leftover temporary files, as :class:`BlobInfo` with their keys."""
        ...
