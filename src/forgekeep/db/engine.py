"""Database engine creation and migrations.

Security rules:

* The schema comes only from Alembic migrations, never from
  ``metadata.create_all``, so that every deployment's schema has a history an
  auditor can read.
* Migrations run only when asked (``forgekeep init`` and ``forgekeep migrate``).
  Opening a database whose revision is not the code's is refused
  (:func:`check_revision`), so several processes or servers never race to
  migrate, and old code never writes to a newer schema.
* SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed
  transaction survives a crash; write transactions start with ``BEGIN
  IMMEDIATE`` so two processes never interleave a read-then-write. PostgreSQL
  runs at READ COMMITTED; where two writers could race (the log's next index,
  an asset's next version number), they take the locks of :mod:`forgekeep.db.locks`.
* A connection the database dropped (a restart) is detected before use
  (``pool_pre_ping``), so the request after an outage gets a fresh connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.db.failures import database_error
from forgekeep.db.url import DatabaseUrl, parse_database_url
from forgekeep.errors import DatabaseError, SchemaVersionError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0005"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | DatabaseUrl) -> Engine:
    """An engine for ``url``: durable on SQLite, outage-tolerant on PostgreSQL."""
    checked = url if isinstance(url, DatabaseUrl) else parse_database_url(url, allow_password=True)
    options: dict[str, Any] = {}
    if checked.kind != "sqlite":
        options = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
    try:
        engine = create_engine(checked.url, **options)
    except (SQLAlchemyError, ValueError) as exc:
        raise DatabaseError(f"cannot open the metadata database: {type(exc).__name__}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (Alembic only when migrating: opening stays fast)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command  # noqa: PLC0415 (see _alembic_config)

    try:
        command.upgrade(_alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migration failed: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    try:
        if "alembic_version" not in inspect(engine).get_table_names():
            return None
        with engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    except SQLAlchemyError as exc:
        raise database_error(exc, "cannot read the metadata database") from exc
    return None if row is None else str(row[0])


def check_revision(engine: Engine) -> None:
    """Refuse a database whose schema is not exactly the code's (never migrate here)."""
    found = current_revision(engine)
    if found == HEAD_REVISION:
        return
    if found is None:
        raise SchemaVersionError(
            "the metadata database is empty: it is no Forgekeep workspace",
            hint="check [database] in forgekeep.toml; `forgekeep init` makes a new workspace",
        )
    if found < HEAD_REVISION:
        raise SchemaVersionError(
            f"the metadata database is at schema {found}; this forgekeep needs {HEAD_REVISION}",
            hint="take a backup, then run `forgekeep migrate`",
        )
    raise SchemaVersionError(
        f"the metadata database is at schema {found}, newer than this forgekeep ({HEAD_REVISION})",
        hint="a newer forgekeep migrated it: use that release (downgrades are not supported)",
    )
