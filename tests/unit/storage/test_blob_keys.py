"""Blob key and prefix validation (storage._keys)."""

from __future__ import annotations

import pytest

from forgekeep.errors import InvalidNameError
from forgekeep.storage import (
    MAX_BLOB_KEY_BYTES,
    MAX_BLOB_KEY_SEGMENT_BYTES,
    validate_blob_key,
    validate_blob_prefix,
)
from forgekeep.storage._keys import is_blob_segment, validate_temporary_key

GOOD_KEYS = [
    "a",
    "a/b/c",
    "tenant-1/asset_2/v.3",
    "...",
    "a/..b/c..",
    ".hidden",
    "s" * MAX_BLOB_KEY_SEGMENT_BYTES,
    "/".join(["x" * 100] * 5) + "/" + "y" * (MAX_BLOB_KEY_BYTES - 505),  # exactly the maximum
]
BAD_KEYS = [
    "",
    ".",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    "/abs",
    "a//b",
    "a/",
    "a\x00b",
    "a\\b",
    "a b",
    "caf\u00e9",
    "a\n",
    ".fk-tmp-x",
    "a/.fk-tmp-0011-b",
    "x" * (MAX_BLOB_KEY_BYTES + 1),
    "s" * (MAX_BLOB_KEY_SEGMENT_BYTES + 1),
]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys_are_returned_unchanged(key: str) -> None:
    assert len(key) <= MAX_BLOB_KEY_BYTES
    assert validate_blob_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_blob_key(key)
    assert "segments" in caught.value.hint


@pytest.mark.parametrize("key", [None, b"a", 3])
def test_non_strings_are_refused(key: object) -> None:
    with pytest.raises(InvalidNameError, match="must be a string"):
        validate_blob_key(key)  # type: ignore[arg-type]


def test_an_over_long_key_is_not_echoed() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_blob_key("k" * 10_000)
    assert "kkkk" not in caught.value.message


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/b/", "a/.", "a/..", "a/.fk", "."])
def test_good_prefixes(prefix: str) -> None:
    assert validate_blob_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix", ["/", "/a", "../", "a/../", "a//", "a/./", "a\x00", "a\\", "\u00e9", "a/b c"]
)
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_blob_prefix(prefix)


def test_segment_predicate() -> None:
    assert is_blob_segment("abc")
    assert not is_blob_segment("..")
    assert not is_blob_segment(".fk-tmp-1")


def test_temporary_keys() -> None:
    assert validate_temporary_key("a/b/.fk-tmp-00ff-c") == ["a", "b", ".fk-tmp-00ff-c"]
    assert validate_temporary_key(".fk-tmp-00ff-c") == [".fk-tmp-00ff-c"]
    for bad in ["a/b/c", "../.fk-tmp-1", "a//.fk-tmp-1", "a/.fk-tmp-/x", ".fk-tmp-a b"]:
        with pytest.raises(InvalidNameError):
            validate_temporary_key(bad)
