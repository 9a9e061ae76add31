"""The front door: :class:`Workspace` (init, open, unlock, lock, doctor, migrate)
and the :class:`Vault` it opens.

This module and :mod:`forgekeep.service.operations` are the public API the CLI
and other callers use; they re-export the request and result types those need.
Each method is a thin call into ``service.workspace`` or ``service.wiring``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from forgekeep.clock import Clock
from forgekeep.config import KdfSection
from forgekeep.service import wiring
from forgekeep.service.vault import Vault
from forgekeep.service.workspace import doctor as doctor_ops
from forgekeep.service.workspace import keyring as keyring_ops
from forgekeep.service.workspace import migrate as migrate_ops
from forgekeep.service.workspace.create import AdminSpec, DatabaseChoice, InitResult, init_workspace
from forgekeep.service.workspace.doctor import Check
from forgekeep.service.workspace.migrate import MigrateResult, MoveResult

__all__ = [
    "AdminSpec",
    "Check",
    "DatabaseChoice",
    "InitResult",
    "MigrateResult",
    "MoveResult",
    "Vault",
    "Workspace",
]


class Workspace:
    """An embedded workspace directory: what can be done to it before and after opening."""

    __slots__ = ("home",)

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home).expanduser().resolve()

    def init(
        self,
        *,
        passphrase: bytes,
        admin: AdminSpec,
        trusted_issuers: Sequence[str] = (),
        operator_jurisdictions: str | None = None,
        kdf: KdfSection | None = None,
        clock: Clock | None = None,
        database: DatabaseChoice | None = None,
    ) -> InitResult:
        """Create the workspace (the directory must be new or empty)."""
        return init_workspace(
            self.home,
            passphrase=passphrase,
            admin=admin,
            trusted_issuers=trusted_issuers,
            operator_jurisdictions=operator_jurisdictions,
            kdf=kdf,
            clock=clock,
            database=database,
        )

    def open(
        self,
        *,
        passphrase: bytes | None,
        principal: str | None = None,
        clock: Clock | None = None,
        token: str | None = None,
    ) -> Vault:
        """Open as ``principal`` (default: the one init recorded), or as a token's principal.

        ``passphrase=None`` uses the user's unlock agent and fails with
        ``FK-KEY-003`` when none is running.
        """
        return wiring.open_vault(
            self.home, passphrase=passphrase, principal=principal, clock=clock, token=token
        )

    def unlocked(self) -> bool:
        """True when an unlock agent serves this workspace's keyring."""
        return wiring.keyring_unlocked(self.home)

    def agent(self) -> Mapping[str, object] | None:
        """The unlock agent's status (pid, expiry), or None when locked."""
        return wiring.agent_info(self.home)

    def unlock(self, passphrase: bytes, ttl_seconds: float) -> int:
        """Start the unlock agent (journaled); returns its pid."""
        return keyring_ops.unlock_keyring(self.home, passphrase, ttl_seconds)

    def lock(self) -> bool:
        """Stop the unlock agent (journaled); False when none was running."""
        return keyring_ops.lock_keyring(self.home)

    def doctor(self) -> list[Check]:
        """Health checks that need no passphrase and write nothing."""
        return doctor_ops.run_checks(self.home)

    def migrate(self, *, clock: Clock | None = None) -> MigrateResult:
        """Upgrade the database schema to this release (journaled; idempotent)."""
        return migrate_ops.upgrade_workspace(self.home, clock=clock)

    def move_to_database(self, target: DatabaseChoice) -> MoveResult:
        """Copy an SQLite workspace's metadata into a new PostgreSQL database."""
        return migrate_ops.move_to_database(self.home, target)

    def restore_config(self, original: str) -> None:
        """Undo :meth:`move_to_database`'s change to the config (its ``previous_config``)."""
        migrate_ops.restore_config(self.home, original)
