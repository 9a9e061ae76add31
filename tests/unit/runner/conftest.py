"""A throw-away PKI for the runner's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgekeep.testing.pki import IssuedCert, TestCA


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server_cert(ca: TestCA) -> IssuedCert:
    return ca.issue_server()


@pytest.fixture
def ca_file(ca: TestCA) -> Path:
    return ca.cert_path
