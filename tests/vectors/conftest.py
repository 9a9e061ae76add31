"""Load the stream v1 golden vectors and the independent decoder for the tests here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

VECTOR_DIR = Path(__file__).parent


def _load_vectors() -> list[dict[str, Any]]:
    paths = sorted(VECTOR_DIR.glob("stream-v1-*.json"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


VECTORS = _load_vectors()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vector" in metafunc.fixturenames:
        metafunc.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
    if "small_vector" in metafunc.fixturenames:
        small = [v for v in VECTORS if "object" in v]
        metafunc.parametrize("small_vector", small, ids=[v["name"] for v in small])


@pytest.fixture(scope="session")
def decoder() -> ModuleType:
    """``independent_decoder.py``, loaded by path (it is not a package module)."""
    path = VECTOR_DIR / "independent_decoder.py"
    spec = importlib.util.spec_from_file_location("forgekeep_vectors_independent_decoder", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
