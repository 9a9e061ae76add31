"""Fixtures for the storage unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgekeep.storage.file import FileBlobStore


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "store")
