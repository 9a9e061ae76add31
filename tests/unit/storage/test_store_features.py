"""Optional store features are protocols of their own, found with isinstance."""

from __future__ import annotations

from pathlib import Path

from forgekeep.storage.file import FileBlobStore
from forgekeep.storage.protocol import BlobStore, LocalDirectoryStore, TemporaryListing
from forgekeep.testing import MemoryBlobStore


def test_the_file_store_has_a_root_and_lists_its_temporaries(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "site")
    assert isinstance(store, BlobStore)
    assert isinstance(store, LocalDirectoryStore)
    assert isinstance(store, TemporaryListing)
    assert store.root == (tmp_path / "site").resolve()
    assert list(store.list_temporaries()) == []


def test_a_store_without_the_features_is_told_apart() -> None:
    store = MemoryBlobStore()
    assert isinstance(store, BlobStore)
    assert not isinstance(store, LocalDirectoryStore)
    assert not isinstance(store, TemporaryListing)
