"""``forgekeep migrate``: upgrade a workspace's schema, or move its metadata to PostgreSQL.

Security rules:

* Existing databases are migrated here and nowhere else (``init`` migrates only
  the new, empty database it creates). Opening a workspace never migrates, so
  processes and servers sharing one database never race to upgrade it.
* An upgrade is journaled (``workspace.migrate``, with both revisions) in the
  transaction after it; if that event cannot be written the command fails.
* Moving to PostgreSQL copies into a new, empty database at the head schema,
  then checks the copy before anything points at it: every table's row count,
  every tenant's log rebuilt from its entries and compared with the source's
  root and with every stored hash, and every stored checkpoint's signature and
  root. Only then is ``[database]`` in ``forgekeep.toml`` replaced (atomically).
  The SQLite file is left as it was, so nothing is lost if the copy is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from forgekeep._durable import write_atomic
from forgekeep.clock import Clock, SystemClock
from forgekeep.config import CONFIG_NAME, load_settings
from forgekeep.crypto.signed import parse_vkey
from forgekeep.db.engine import (
    HEAD_REVISION,
    check_revision,
    current_revision,
    make_engine,
    make_sessionmaker,
    migrate,
)
from forgekeep.db.failures import database_error
from forgekeep.db.ledger import Checkpoint, LedgerKey
from forgekeep.db.models import Base, Tenant
from forgekeep.errors import (
    ConfigError,
    ConflictError,
    ForgekeepError,
    JournalError,
    ProofError,
    SchemaVersionError,
    UsageError,
)
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.service import wiring
from forgekeep.service.core import new_request_id
from forgekeep.service.workspace.create import DatabaseChoice

_COPY_BATCH: Final = 2000
_DATABASE_TABLE = re.compile(r"(?ms)^\[database\][^\n]*\n(?:(?!\[)[^\n]*\n)*")


@dataclass(frozen=True, slots=True)
class MigrateResult:
    from_revision: str
    to_revision: str
    log_key_missing: bool = False  # made by a release before init created it

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


@dataclass(frozen=True, slots=True)
class MoveResult:
    target: str
    rows: int
    tables: int
    log_entries: int
    previous_config: str


def upgrade_workspace(home: Path, *, clock: Clock | None = None) -> MigrateResult:
    """Bring the workspace's database to this release's schema; idempotent."""
    settings = load_settings(home)
    engine = make_engine(wiring.database_url(home, settings))
    try:
        found = current_revision(engine)
        if found is None:
            raise SchemaVersionError("the metadata database is empty: it is no Forgekeep workspace")
        if found > HEAD_REVISION:
            check_revision(engine)  # raises: a newer release made it
        if found != HEAD_REVISION:
            migrate(engine)
            _journal(engine, settings.workspace.tenant, settings.workspace.principal, found, clock)
        with make_sessionmaker(engine)() as session:
            missing = session.get(LedgerKey, settings.workspace.tenant) is None
        return MigrateResult(found, HEAD_REVISION, missing)
    finally:
        engine.dispose()


def _journal(engine: Engine, tenant: str, actor: str, found: str, clock: Clock | None) -> None:
    event = JournalEvent(
        action="workspace.migrate",
        outcome=Outcome.OK,
        actor=actor,
        target=tenant,
        request_id=new_request_id(),
        detail={"from": found, "to": HEAD_REVISION},
    )
    try:
        with make_sessionmaker(engine).begin() as session:
            SqlJournal(tenant, clock or SystemClock()).append(session, event)
    except (ForgekeepError, SQLAlchemyError) as exc:
        raise JournalError("workspace.migrate could not be journaled") from exc


def move_to_database(home: Path, target: DatabaseChoice) -> MoveResult:
    """Copy an SQLite workspace's metadata into a new PostgreSQL database, checked."""
    settings = load_settings(home)
    source_url = wiring.database_url(home, settings)
    destination = target.resolve(home)
    if source_url.kind != "sqlite" or destination.kind != "postgresql":
        raise UsageError("migrate --to-database moves an SQLite workspace to PostgreSQL")
    source, copy = make_engine(source_url), make_engine(destination)
    try:
        check_revision(source)
        if current_revision(copy) is not None or _has_tables(copy):
            raise ConflictError(
                "the target database already holds tables",
                hint="create a new, empty database for the workspace; nothing was changed",
            )
        migrate(copy)
        rows, tables = _copy_all(source, copy)
        entries = _check_copy(source, copy)
    except SQLAlchemyError as exc:
        raise database_error(exc, "the copy failed; forgekeep.toml still names SQLite") from exc
    finally:
        source.dispose()
        copy.dispose()
    previous = point_config_at(home, target)
    return MoveResult(destination.redacted(), rows, tables, entries, previous)


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.dialect.get_table_names(connection))


def _tables() -> Iterator[Table]:
    """Every table, parents before children (foreign keys)."""
    yield from Base.metadata.sorted_tables


def _copy_all(source: Engine, copy: Engine) -> tuple[int, int]:
    total = 0
    tables = list(_tables())
    with source.connect() as reader, copy.begin() as writer:
        for table in tables:
            total += _copy_table(reader, writer, table)
        for table in tables:
            _reset_sequence(writer, table)
    return total, len(tables)


def _copy_table(reader: Connection, writer: Connection, table: Table) -> int:
    copied = 0
    result = reader.execute(select(table)).yield_per(_COPY_BATCH)
    for batch in result.mappings().partitions(_COPY_BATCH):
        writer.execute(table.insert(), [dict(row) for row in batch])
        copied += len(batch)
    return copied


def _reset_sequence(writer: Connection, table: Table) -> None:
    """Serial ids continue after the copied rows."""
    for column in table.primary_key.columns:
        if column.autoincrement is True:
            writer.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"  # noqa: S608 (names from our own schema)
                    f" COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL)"
                    f" FROM {table.name}"
                )
            )


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _check_copy(source: Engine, copy: Engine) -> int:
    """Row counts per table, and every tenant's log, checked on the copy."""
    entries = 0
    with source.connect() as before, copy.connect() as after:
        for table in _tables():
            if _count(before, table) != _count(after, table):
                raise ProofError(f"table {table.name} was not copied whole")
    with make_sessionmaker(source)() as old, make_sessionmaker(copy)() as new:
        for tenant in new.scalars(select(Tenant.id)).all():
            size = log.log_size(old, tenant)
            if log.log_size(new, tenant) != size:
                raise ProofError(f"tenant {tenant}'s log was not copied whole")
            rebuilt = audit.rebuild(log.entries(new, tenant, 0, size))
            if merkle.tree_hash(size, rebuilt) != log.root(old, tenant, size):
                raise ProofError(f"tenant {tenant}'s log on the copy has another root")
            stored = log.SqlHashes(new, tenant).read_hashes(range(merkle.stored_hash_count(size)))
            if stored != rebuilt.read_hashes(range(merkle.stored_hash_count(size))):
                raise ProofError(f"tenant {tenant}'s stored hashes differ on the copy")
            key = new.get(LedgerKey, tenant)
            notes = new.scalars(select(Checkpoint.note).where(Checkpoint.tenant_id == tenant))
            for note in notes:
                if key is None:
                    raise ProofError(f"tenant {tenant} has checkpoints but no log key")
                audit.check_checkpoint(rebuilt, note.encode(), parse_vkey(key.vkey))
            entries += size
    return entries


def point_config_at(home: Path, target: DatabaseChoice) -> str:
    """Replace the ``[database]`` table of ``forgekeep.toml``, atomically.

    Returns the file's previous text, for :func:`restore_config`.
    """
    path = home / CONFIG_NAME
    original = path.read_text(encoding="utf-8")
    if len(_DATABASE_TABLE.findall(original)) != 1:
        raise ConfigError(
            f"{CONFIG_NAME} has no single [database] table to replace",
            hint="the copy is complete; set [database] by hand",
        )
    if target.url_file is not None:
        line = f'url_file = "{target.url_file}"\n'
    elif target.url is not None:
        line = f'url = "{target.url.redacted()}"\n'
    else:
        raise UsageError("no database to point the workspace at")
    table = f"[database]  # moved from SQLite by `forgekeep migrate`\n{line}\n"
    write_atomic(path, _DATABASE_TABLE.sub(lambda _m: table, original).encode(), mode=0o600)
    try:
        load_settings(home)
    except ForgekeepError:
        restore_config(home, original)
        raise
    return original


def restore_config(home: Path, original: str) -> None:
    """Put back the config text :func:`point_config_at` replaced."""
    write_atomic(home / CONFIG_NAME, original.encode(), mode=0o600)
