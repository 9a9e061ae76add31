"""What a thief of the metadata database would hold, on SQLite or PostgreSQL.

Tests use it to show that secrets never reach the database in clear: they
search these bytes for names, passphrases and token secrets.
:func:`backup` and :func:`restore` roll a workspace's database back, as an
operator restores last night's backup.

* SQLite: the database file and its WAL and journal, byte for byte.
* PostgreSQL: every table's rows in COPY's binary format, which carries text
  and ``bytea`` values as they are stored (not hex-encoded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from forgekeep.config import load_settings
from forgekeep.db.engine import make_engine
from forgekeep.db.models import Base


def workspace_engine(home: Path) -> Engine:
    """An engine on the workspace's database (the caller disposes of it)."""
    from forgekeep.service import wiring  # noqa: PLC0415 (the service only where it is used)

    return make_engine(wiring.database_url(home, load_settings(home)))


def database_bytes(home: Path) -> bytes:
    engine = workspace_engine(home)
    try:
        if engine.dialect.name == "sqlite":
            database = Path(str(engine.url.database))
            return b"".join(
                p.read_bytes() for p in sorted(database.parent.glob(database.name + "*"))
            )
        return _copy_tables(engine)
    finally:
        engine.dispose()


def _copy_tables(engine: Engine) -> bytes:
    chunks: list[bytes] = []
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        for table in Base.metadata.sorted_tables:
            statement = f'COPY "{table.name}" TO STDOUT (FORMAT binary)'
            with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                chunks.extend(bytes(block) for block in copy)
    return b"".join(chunks)


#: Every table's rows, by table name: a logical backup.
Backup = dict[str, list[dict[str, Any]]]


def backup(home: Path) -> Backup:
    """Every row of the workspace's database, table by table (as ``pg_dump`` or
    SQLite's ``.dump`` keeps it), on SQLite and on PostgreSQL alike."""
    engine = workspace_engine(home)
    try:
        with engine.connect() as connection:
            return {
                table.name: [dict(row) for row in connection.execute(select(table)).mappings()]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def restore(home: Path, rows: Backup) -> None:
    """Replace every row of the workspace's database with ``rows``, in one transaction.

    On PostgreSQL each serial id then continues after the restored rows, as it
    would after ``pg_restore``.
    """
    engine = workspace_engine(home)
    tables = Base.metadata.sorted_tables
    try:
        with engine.begin() as connection:
            for table in reversed(tables):
                connection.execute(table.delete())
            for table in tables:
                if rows[table.name]:
                    connection.execute(table.insert(), rows[table.name])
            if engine.dialect.name == "postgresql":
                _continue_sequences(connection)
    finally:
        engine.dispose()


def _continue_sequences(connection: Connection) -> None:
    """Serial ids continue after the rows there are."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                newest = connection.execute(select(func.max(column))).scalar()
                at = {"t": table.name, "c": column.name, "n": newest or 1}
                connection.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, :c), :n, :called)"),
                    {**at, "called": newest is not None},
                )
