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

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from forgekeep.clock import Clock
from forgekeep.db.models import Event
from forgekeep.errors import JournalError
from forgekeep.ledger.log import LogAppender, event_entry

Scalar = str | int | bool | None


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
        if not isinstance(value, str | int | bool | type(None)):
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

    def append_many(self, session: Session, events: Sequence[JournalEvent]) -> None:
        """Append events as consecutive log leaves, in the caller's transaction.

        Rows go in with one executemany per table: a group of events costs a few
        statements, not one per event and hash.
        """
        try:
            appender = LogAppender.open(session, self._tenant_id)
            rows = [self._row(event, appender) for event in events]
            # Core, not ORM, insert: half the per-row cost, same transaction.
            session.execute(insert(cast("Table", Event.__table__)), rows)
            appender.hashes.write()
        except SQLAlchemyError as exc:
            names = ",".join(sorted({e.action for e in events}))
            raise JournalError(f"could not record {names}: {type(exc).__name__}") from exc

    def _row(self, event: JournalEvent, appender: LogAppender) -> dict[str, object]:
        at = self._clock.now()
        target = event.target[:255]
        check_detail(event.detail)
        strings = {
            "tenant": self._tenant_id,
            "at": at.isoformat(),
            "request": event.request_id,
            "actor": event.actor,
            "action": event.action,
            "outcome": str(event.outcome),
            "target": target,
        }
        entry, detail = event_entry(strings, event.detail)
        return {
            "tenant_id": self._tenant_id,
            "at": at,
            "request_id": event.request_id,
            "actor": event.actor,
            "action": event.action,
            "outcome": str(event.outcome),
            "target": target,
            "detail": detail,
            "log_index": appender.append(entry),
            "entry": entry,
        }
