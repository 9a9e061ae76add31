"""Fixtures shared by the forgekeep.crypto unit tests."""

from __future__ import annotations

import pytest

from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.suite import Suite


@pytest.fixture
def dek() -> bytes:
    return bytes(range(32))


@pytest.fixture
def header() -> StreamHeader:
    return StreamHeader(Suite.COBBLESTONE_256, "ring:acme:eu-1", "project.bracket", "dek_0001")


@pytest.fixture
def context() -> StreamContext:
    return StreamContext("acme", "asset-0001", bytes(range(16)))
