"""Bulk inserts at the driver level, for the ledger's hot path.

SQLAlchemy's Core ``executemany`` rebuilds and processes every row's
parameters through its compiler, which cost about a third of a ledger append.
:class:`BulkInsert` compiles the ``INSERT`` once per dialect and hands the rows
to the driver's ``executemany`` in the caller's transaction.

Rule it keeps: values are stored exactly as the ORM would store them: each
column type's own bind processor (for example the UTC check and format of
``UTCDateTime``) is applied, so rows written here read back through the ORM
unchanged (tests/unit/db/test_bulk.py). ``bytes`` for a ``LargeBinary``
column go to the driver as they are: sqlite3 and psycopg 3 bind them as
binary values natively.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    processors: tuple[Processor, ...]
    by_name: bool  # the driver binds by name (psycopg), not by position (sqlite3)
    picks: tuple[int, ...] | None  # positional order when it differs from ``columns``


class BulkInsert:
    """``INSERT INTO table (columns…)`` for many rows in one driver call."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        key = f"{dialect.name}:{dialect.paramstyle}"
        found = self._by_dialect.get(key)
        if found is None:
            compiled = insert(self._table).compile(dialect=dialect, column_keys=self._columns)
            processors = tuple(_processor(self._table, name, dialect) for name in self._columns)
            order = compiled.positiontup
            picks = None
            if order is not None:
                position = {name: i for i, name in enumerate(self._columns)}
                picks = tuple(position[name] for name in order)
                picks = None if picks == tuple(range(len(picks))) else picks
            found = _Compiled(str(compiled), processors, order is None, picks)
            self._by_dialect[key] = found
        return found

    def execute(self, session: Session, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows`` (values in ``columns`` order) in the session's transaction."""
        if not rows:
            return
        connection = session.connection()
        compiled = self._compiled(connection.dialect)
        processed = _processed(compiled.processors, rows)
        params: list[Any] = processed
        if compiled.by_name:
            params = [dict(zip(self._columns, row, strict=True)) for row in processed]
        elif compiled.picks is not None:
            params = [tuple(row[i] for i in compiled.picks) for row in processed]
        connection.exec_driver_sql(compiled.sql, params)


def _processor(table: Table, name: str, dialect: Dialect) -> Processor:
    column_type = table.c[name].type
    if isinstance(column_type, LargeBinary):
        return None  # sqlite3 and psycopg 3 bind ``bytes`` as a binary value natively
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _processed(processors: tuple[Processor, ...], rows: Sequence[Sequence[object]]) -> list[Any]:
    """Rows with each column's bind processor applied (only where a column has one)."""
    active = [(i, fn) for i, fn in enumerate(processors) if fn is not None]
    # Rows of one group often share a value (one timestamp): process it once.
    memo: dict[int, tuple[object, object]] = {}
    result: list[Any] = []
    for row in rows:
        if len(row) != len(processors):
            raise ValueError(f"a row has {len(row)} values for {len(processors)} columns")
        values = list(row)
        for i, fn in active:
            value = values[i]
            seen = memo.get(i)
            if seen is not None and seen[0] is value:
                values[i] = seen[1]
            else:
                values[i] = fn(value)
                memo[i] = (value, values[i])
        result.append(tuple(values))
    return result
