"""Unlocking and locking the workspace keyring, journaled.

Security rules: ``unlock`` and ``lock`` change who can use the keys without a
passphrase, so both are journaled as the workspace's principal, refusals
included (a wrong passphrase is an ``error`` event with its code). If the
unlock event cannot be written, the agent is stopped again and the request
fails.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from forgekeep.clock import SystemClock
from forgekeep.config import load_settings
from forgekeep.db.engine import make_sessionmaker
from forgekeep.errors import ForgekeepError, JournalError
from forgekeep.ledger.journal import JournalEvent, Outcome, Scalar, SqlJournal
from forgekeep.service import wiring
from forgekeep.service.core import new_request_id


def _record(home: Path, action: str, outcome: Outcome, detail: dict[str, Scalar]) -> str:
    settings = load_settings(home)
    request_id = new_request_id()
    engine = wiring.open_database(home, settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            SqlJournal(settings.workspace.tenant, SystemClock()).append(
                session,
                JournalEvent(
                    action=action,
                    outcome=outcome,
                    actor=settings.workspace.principal,
                    target=settings.keys.uri,
                    request_id=request_id,
                    detail=detail,
                ),
            )
    except (ForgekeepError, SQLAlchemyError) as exc:
        raise JournalError(f"{action} could not be journaled; refused") from exc
    finally:
        engine.dispose()
    return request_id


def unlock_keyring(home: Path, passphrase: bytes, ttl_seconds: float) -> int:
    """Start the unlock agent and journal it; returns the agent's pid."""
    try:
        pid = wiring.unlock(home, passphrase, ttl_seconds)
    except ForgekeepError as exc:
        exc.request_id = _record(home, "keyring.unlock", Outcome.ERROR, {"code": exc.code})
        raise
    try:
        _record(home, "keyring.unlock", Outcome.OK, {"ttl_seconds": int(ttl_seconds)})
    except JournalError:
        wiring.lock(home)
        raise
    return pid


def lock_keyring(home: Path) -> bool:
    """Stop the unlock agent (if any) and journal it."""
    stopped = wiring.lock(home)
    _record(home, "keyring.lock", Outcome.OK, {"agent_was_running": stopped})
    return stopped
