"""The file: blob store passes the shared blob-store battery."""

from __future__ import annotations

from pathlib import Path

from forgekeep.storage import open_blob_store
from forgekeep.storage.file import FileBlobStore
from forgekeep.testing._blob_conformance import exercise_blob_store


def test_file_store_conforms(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "store")
    exercise_blob_store(store)
    assert list(store.list_temporaries()) == []
    assert list(store.root.iterdir()) == []  # the battery cleans up, and delete prunes


def test_file_store_opened_by_uri_conforms(tmp_path: Path) -> None:
    exercise_blob_store(open_blob_store("file:sites/local-de", base_dir=tmp_path))


def test_battery_shares_a_store_with_other_data(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "store")
    store.put("tenant/asset/v1", [b"kept"])
    exercise_blob_store(store)
    assert [info.key for info in store.list()] == ["tenant/asset/v1"]
