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
from forgekeep.service.workspace import InitResult, init_workspace

PASSPHRASE = b"correct horse battery staple"
CHEAP_KDF = KdfSection(memory_kib=64, iterations=1, lanes=1)


@pytest.fixture
def clock() -> ManualClock:
    # Starts at the real time: blob stores stamp files with the real clock.
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def workspace(tmp_path: Path, clock: ManualClock) -> InitResult:
    return init_workspace(
        tmp_path / "ws", passphrase=PASSPHRASE, admin_name="Ada Admin", kdf=CHEAP_KDF, clock=clock
    )


@pytest.fixture
def vault(workspace: InitResult, clock: ManualClock) -> Iterator[Vault]:
    with open_vault(workspace.home, passphrase=PASSPHRASE, clock=clock) as opened:
        opened.create_project("blade", residency="DE")
        yield opened


@pytest.fixture
def passphrase() -> bytes:
    return PASSPHRASE
