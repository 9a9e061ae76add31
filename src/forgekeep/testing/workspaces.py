"""Test workspaces: cheap to make, with an admin the shared test issuer can vet.

The KDF parameters here are far below what `init` defaults to: for tests only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from forgekeep.clock import Clock
from forgekeep.config import KdfSection
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, DatabaseChoice, InitResult, init_workspace
from forgekeep.testing.vetting import ISSUER

TEST_ADMIN: Final = AdminSpec("Ada Admin", ("DE",), "DE", org="home")
CHEAP_KDF: Final = KdfSection(memory_kib=64, iterations=1, lanes=1)


def new_test_workspace(
    home: Path,
    *,
    passphrase: bytes,
    clock: Clock,
    database: DatabaseChoice | None = None,
    vetted: bool = True,
) -> InitResult:
    """A new workspace trusting the test issuer; its admin vetted for a year unless not."""
    created = init_workspace(
        home,
        passphrase=passphrase,
        admin=TEST_ADMIN,
        trusted_issuers=[ISSUER.vkey],
        kdf=CHEAP_KDF,
        clock=clock,
        database=database,
    )
    if vetted:
        with open_vault(created.home, passphrase=passphrase, clock=clock) as opened:
            ISSUER.vet(opened, created.principal_id, clock)
    return created
