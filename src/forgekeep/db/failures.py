"""Driver errors as our errors: an unreachable database is told apart from a fault.

Security rule: the message names the error's type only, never the statement or
its parameters, which may hold names or ids the caller may not see.
"""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from forgekeep.errors import DatabaseError, DatabaseUnavailableError

# SQLSTATE classes of a lost or refused connection: 08 (connection exception) and
# 57P (the server shut down or is starting). A deadlock or a constraint is a fault.
_UNREACHABLE_STATES = ("08", "57P")


def database_error(exc: SQLAlchemyError, what: str) -> DatabaseError:
    """Our error for a driver error: unreachable (FK-DB-003) or other (FK-DB-001)."""
    if _unreachable(exc):
        reason = type(exc).__name__
        return DatabaseUnavailableError(f"{what}: the database is unreachable ({reason})")
    return DatabaseError(f"{what}: {type(exc).__name__}")


def _unreachable(exc: SQLAlchemyError) -> bool:
    if getattr(exc, "connection_invalidated", False):
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    orig = getattr(exc, "orig", None)
    if not type(orig).__module__.startswith("psycopg"):
        return False  # SQLite's OperationalError is a local fault (a lock, a full disk)
    state = getattr(orig, "sqlstate", None)
    return state is None or str(state).startswith(_UNREACHABLE_STATES)
