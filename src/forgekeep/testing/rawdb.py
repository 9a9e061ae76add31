"""What a thief of the metadata database would hold, on SQLite or PostgreSQL.

Tests use it to show that secrets never reach the database in clear: they
search these bytes for names, passphrases and token secrets.

* SQLite: the database file and its WAL and journal, byte for byte.
* PostgreSQL: every table's rows in COPY's binary format, which carries text
  and ``bytea`` values as they are stored (not hex-encoded).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

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
