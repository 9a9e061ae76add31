"""Opening blob stores by URI (storage.registry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forgekeep.errors import ConfigError
from forgekeep.storage import check_store_uri, known_schemes, open_blob_store, registry
from forgekeep.storage.file import FileBlobStore


def test_known_schemes() -> None:
    assert known_schemes() == ["file"]


def test_relative_file_uri_is_below_base_dir(tmp_path: Path) -> None:
    store = open_blob_store("file:sites/local-de", base_dir=tmp_path)
    assert isinstance(store, FileBlobStore)
    assert store.root == tmp_path / "sites" / "local-de"
    assert store.uri == "file:sites/local-de"


def test_absolute_file_uri(tmp_path: Path) -> None:
    store = open_blob_store(f"file://{tmp_path}/abs", base_dir=Path("/nonexistent"))
    assert isinstance(store, FileBlobStore)
    assert store.root == tmp_path / "abs"


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store("ftp://example.org/x")
    assert "'ftp'" in caught.value.message
    assert "file" in caught.value.hint


@pytest.mark.parametrize("uri", ["", "sites/local-de", None, "://x"])
def test_not_a_uri(uri: object) -> None:
    with pytest.raises(ConfigError):
        open_blob_store(uri)  # type: ignore[arg-type]


def test_unparseable_uri() -> None:
    with pytest.raises(ConfigError, match="cannot be parsed"):
        check_store_uri("s3://[bad-ipv6/bucket")


@pytest.mark.parametrize(
    "uri", ["file://user:hunter2@host/x", "s3://AKIAEXAMPLE:s3cr3t@minio:9000/b", "file://u@h/x"]
)
def test_credentials_are_refused_and_not_echoed(uri: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store(uri)
    assert "credentials" in caught.value.message
    for secret in ("hunter2", "s3cr3t", "AKIAEXAMPLE"):
        assert secret not in caught.value.diagnostics()


def test_options_reach_the_backend(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no options"):
        open_blob_store("file:x", base_dir=tmp_path, region="eu")


def test_missing_backend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_BACKENDS", {"file": "forgekeep.storage.no_such:open"})
    with pytest.raises(ConfigError, match="not installed") as caught:
        open_blob_store("file:///x")
    assert "forgekeep[file]" in caught.value.hint


def test_importing_the_registry_imports_no_backend() -> None:
    code = (
        "import sys, forgekeep.storage, forgekeep.storage.registry, forgekeep.storage.sites\n"
        "print(sorted(m for m in sys.modules if m == 'forgekeep.storage.file'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
