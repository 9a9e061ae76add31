"""The append-only event journal.

Security rules:

* Every operation and every refusal appends one event through :class:`Journal`.
* A write's event is appended in the *same* database transaction as the write's
  metadata, so either both commit or neither does. A read's decision event is
  committed before the first byte is returned.
* If the event cannot be written, the operation fails (:class:`JournalError`).
* Events name people only by pseudonym and never carry personal attributes,
  key material or plaintext; ``detail`` is restricted to flat scalar values.

* Every event is also a leaf of the tenant's transparency log
  (:mod:`forgekeep.ledger.log`): its canonical bytes and log index are written
  with it, in the same transaction, so an event and its leaf cannot part.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, cast

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from forgekeep.clock import Clock
from forgekeep.db.bulk import BulkInsert
from forgekeep.db.failures import database_error
from forgekeep.db.locks import log_lock
from forgekeep.db.models import Event
from forgekeep.errors import DatabaseUnavailableError, JournalError
from forgekeep.ledger.log import LogAppender, event_entry

Scalar = str | int | bool | None
_SCALAR_TYPES: Final = (str, int, bool, type(None))
_EXACT_SCALARS: Final = frozenset(_SCALAR_TYPES)  # the common case, without isinstance

#: The ``events`` columns a journal row fills, in insert order (the entry last).
EVENT_COLUMNS: Final = (
    "tenant_id",
    "at",
    "request_id",
    "actor",
    "action",
    "outcome",
    "target",
    "detail",
    "log_index",
    "entry",
)
# Driver-level executemany: a group of events costs two statements, not one per row.
_EVENT_ROWS: Final = BulkInsert(cast("Table", Event.__table__), EVENT_COLUMNS)


class Outcome(enum.StrEnum):
    OK = "ok"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class JournalEvent:
    action: str
    outcome: Outcome
    actor: str
    target: str
    request_id: str
    detail: Mapping[str, Scalar] = field(default_factory=dict)


class Journal(Protocol):
    """Appends events inside the caller's transaction."""

    def append(self, session: Session, event: JournalEvent) -> None: ...


def check_detail(detail: Mapping[str, Scalar]) -> None:
    """Details are flat: every value a string, integer, boolean or None."""
    for key, value in detail.items():
        if type(value) not in _EXACT_SCALARS and not isinstance(value, _SCALAR_TYPES):
            raise JournalError(f"journal detail {key!r} is not a scalar")


def encode_detail(detail: Mapping[str, Scalar]) -> str:
    """Canonical JSON of a flat detail mapping (sorted keys, no whitespace)."""
    check_detail(detail)
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SqlJournal:
    """The journal kept in the ``events`` table of the metadata database."""

    def __init__(self, tenant_id: str, clock: Clock) -> None:
        self._tenant_id = tenant_id
        self._clock = clock

    def append(self, session: Session, event: JournalEvent) -> None:
        self.append_many(session, [event])

    def append_many(self, session: Session, events: Sequence[JournalEvent]) -> range:
        """Append events as consecutive log leaves, in the caller's transaction.

        Rows go in with one executemany per table: a group of events costs a few
        statements, not one per event and hash. Returns the events' log indexes.
        """
        try:
            log_lock(session, self._tenant_id)  # held to commit: one appender per tenant
            appender = LogAppender.open(session, self._tenant_id)
            first = appender.size
            at = self._clock.now()  # one timestamp per group: the time it was sequenced
            stamp = at.isoformat()
            rows = [self._row(event, appender, at, stamp) for event in events]
            _EVENT_ROWS.execute(session, rows)
            appender.write()
        except SQLAlchemyError as exc:
            names = ",".join(sorted({e.action for e in events}))
            error = database_error(exc, f"could not record {names}")
            if isinstance(error, DatabaseUnavailableError):
                raise error from exc  # an outage, not a journal fault: say so
            raise JournalError(f"could not record {names}: {type(exc).__name__}") from exc
        return range(first, first + len(rows))

    def _row(
        self, event: JournalEvent, appender: LogAppender, at: dt.datetime, stamp: str
    ) -> tuple[object, ...]:
        # Targets may echo refused input; no database stores NUL in text (PostgreSQL
        # refuses it), so it is written as the JSON escape it would have in the entry.
        target = event.target[:255].replace("\x00", "\\u0000")
        check_detail(event.detail)
        outcome = str(event.outcome)
        strings = {
            "tenant": self._tenant_id,
            "at": stamp,
            "request": event.request_id,
            "actor": event.actor,
            "action": event.action,
            "outcome": outcome,
            "target": target,
        }
        entry, detail = event_entry(strings, event.detail)
        index = appender.append(entry)
        # In EVENT_COLUMNS order.
        return (
            self._tenant_id,
            at,
            event.request_id,
            event.actor,
            event.action,
            outcome,
            target,
            detail,
            index,
            entry,
        )
