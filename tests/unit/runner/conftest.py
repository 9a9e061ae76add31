"""A throw-away PKI for the runner's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgekeep.runner._shed import shed_log
from forgekeep.testing.pki import IssuedCert, TestCA


@pytest.fixture(autouse=True)
def fresh_shed_log() -> None:
    """The shed log's rate limit is per process: no test's lines hide another's."""
    shed_log.reset()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server_cert(ca: TestCA) -> IssuedCert:
    return ca.issue_server()


@pytest.fixture
def ca_file(ca: TestCA) -> Path:
    return ca.cert_path
