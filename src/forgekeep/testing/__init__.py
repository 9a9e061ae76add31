"""Shipped test support: fakes and conformance batteries for every backend protocol."""

from forgekeep.testing.conformance import exercise_blob_store, exercise_key_manager
from forgekeep.testing.fakes import FaultInjectingBlobStore, MemoryBlobStore

__all__ = [
    "FaultInjectingBlobStore",
    "MemoryBlobStore",
    "exercise_blob_store",
    "exercise_key_manager",
]
