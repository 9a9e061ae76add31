"""Shared fixtures: a fresh embedded workspace with cheap KDF parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.config import KdfSection
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace import AdminSpec, InitResult, init_workspace
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"correct horse battery staple"
CHEAP_KDF = KdfSection(memory_kib=64, iterations=1, lanes=1)


@pytest.fixture
def clock() -> ManualClock:
    # Starts at the real time: blob stores stamp files with the real clock.
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


ADMIN = AdminSpec("Ada Admin", ("DE",), "DE", org="home")


@pytest.fixture
def unvetted_workspace(tmp_path: Path, clock: ManualClock) -> InitResult:
    """A new workspace whose admin has no vetting record yet."""
    return init_workspace(
        tmp_path / "ws",
        passphrase=PASSPHRASE,
        admin=ADMIN,
        trusted_issuers=[ISSUER.vkey],
        kdf=CHEAP_KDF,
        clock=clock,
    )


@pytest.fixture
def workspace(unvetted_workspace: InitResult, clock: ManualClock) -> InitResult:
    """A new workspace whose admin (DE, clearance 3) is vetted for a year."""
    with open_vault(unvetted_workspace.home, passphrase=PASSPHRASE, clock=clock) as opened:
        ISSUER.vet(opened, unvetted_workspace.principal_id, clock)
    return unvetted_workspace


@pytest.fixture
def vault(workspace: InitResult, clock: ManualClock) -> Iterator[Vault]:
    with open_vault(workspace.home, passphrase=PASSPHRASE, clock=clock) as opened:
        opened.create_project("blade", residency="DE")
        yield opened


@pytest.fixture
def passphrase() -> bytes:
    return PASSPHRASE
