"""Locks that serialize writers who would otherwise race, on either database.

Security rule: two writers never assign the same number. The tenant's log
index and an asset's next version number are read-then-written; each writer
takes the lock for that counter first, inside its transaction, and holds it to
commit. On PostgreSQL that is a transaction-scoped advisory lock
(``pg_advisory_xact_lock``), released by COMMIT or ROLLBACK, so a killed
process never leaves one behind. On SQLite every write transaction already
starts with ``BEGIN IMMEDIATE``, which admits one writer at a time, so nothing
more is needed.
"""

from __future__ import annotations

import hashlib
from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session

_ADVISORY_XACT_LOCK: Final = text("SELECT pg_advisory_xact_lock(:key)")


def lock_key(*parts: str) -> int:
    """A signed 64-bit key for ``parts``, as PostgreSQL's advisory locks take."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_until_commit(session: Session, *parts: str) -> None:
    """Serialize with every other transaction that names the same ``parts``."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY_XACT_LOCK, {"key": lock_key(*parts)})


def log_lock(session: Session, tenant_id: str) -> None:
    """The tenant's log: one appender at a time assigns the next indexes."""
    hold_until_commit(session, "ledger", tenant_id)


def version_lock(session: Session, project_id: str, asset_name: str) -> None:
    """An asset name in a project: one writer at a time creates it or numbers its versions."""
    hold_until_commit(session, "asset", project_id, asset_name)
