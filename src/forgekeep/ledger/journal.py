"""The append-only event journal.

Security rules:

* Every operation and every refusal appends one event through :class:`Journal`.
* A write's event is appended in the *same* database transaction as the write's
  metadata, so either both commit or neither does. A read's decision event is
  committed before the first byte is returned.
* If the event cannot be written, the operation fails (:class:`JournalError`).
* Events name people only by pseudonym and never carry personal attributes,
  key material or plaintext; ``detail`` is restricted to flat scalar values.

The Ledger issue turns this table into a per-tenant Merkle log; the interface
stays.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from forgekeep.clock import Clock
from forgekeep.db.models import Event
from forgekeep.errors import JournalError

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


def encode_detail(detail: Mapping[str, Scalar]) -> str:
    """Canonical JSON of a flat detail mapping (sorted keys, no whitespace)."""
    for key, value in detail.items():
        if not isinstance(value, str | int | bool | type(None)):
            raise JournalError(f"journal detail {key!r} is not a scalar")
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SqlJournal:
    """The journal kept in the ``events`` table of the metadata database."""

    def __init__(self, tenant_id: str, clock: Clock) -> None:
        self._tenant_id = tenant_id
        self._clock = clock

    def append(self, session: Session, event: JournalEvent) -> None:
        row = Event(
            tenant_id=self._tenant_id,
            at=self._clock.now(),
            request_id=event.request_id,
            actor=event.actor,
            action=event.action,
            outcome=str(event.outcome),
            target=event.target[:255],
            detail=encode_detail(event.detail),
        )
        try:
            session.add(row)
            session.flush()
        except SQLAlchemyError as exc:
            raise JournalError(f"could not record {event.action}: {type(exc).__name__}") from exc
