"""Fixtures for the residency unit tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from forgekeep.residency import _data


@pytest.fixture
def raw_data() -> dict[str, Any]:
    """A fresh decoded copy of the packaged data file, safe to mutate."""
    decoded: dict[str, Any] = json.loads(_data.read_data_file())
    return decoded


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Empty the data cache before and after a test that swaps the data file."""
    _data.load_dataset.cache_clear()
    yield
    _data.load_dataset.cache_clear()
