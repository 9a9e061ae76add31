"""Blob storage: the BlobStore protocol, the registry by URI scheme, and sites.

Concrete backends (``forgekeep.storage.file``, later ``s3``) are not imported
here: open a store with :func:`open_blob_store`, or, in
``forgekeep.service.wiring`` only, import the backend directly.
"""

from forgekeep.storage._keys import validate_blob_key, validate_blob_prefix
from forgekeep.storage.protocol import (
    MAX_BLOB_KEY_BYTES,
    MAX_BLOB_KEY_SEGMENT_BYTES,
    BlobInfo,
    BlobStore,
)
from forgekeep.storage.registry import check_store_uri, known_schemes, open_blob_store
from forgekeep.storage.sites import Site

__all__ = [
    "MAX_BLOB_KEY_BYTES",
    "MAX_BLOB_KEY_SEGMENT_BYTES",
    "BlobInfo",
    "BlobStore",
    "Site",
    "check_store_uri",
    "known_schemes",
    "open_blob_store",
    "validate_blob_key",
    "validate_blob_prefix",
]
