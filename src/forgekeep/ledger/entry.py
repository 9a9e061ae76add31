"""Reading a canonical log entry back: the one source every view of the log trusts.

Security rules:

* The ``events.entry`` bytes are what the Merkle tree hashes; the other
  columns of ``events`` (``actor``, ``outcome``, ``detail`` …) are derived
  copies, kept for indexes and older readers. Views parse the entry and show
  its fields, never the copies; :func:`column_mismatches` lets ``ledger
  verify`` compare every copy with the entry, byte for byte.
* Parsing is strict: an entry that is not exactly one version-1 object with
  the seven string fields and a flat ``detail`` is a :class:`ProofError`, so a
  forged row cannot smuggle in fields a view would show.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from forgekeep.errors import ProofError
from forgekeep.ledger import merkle
from forgekeep.ledger.journal import EVENT_COLUMNS, Scalar, encode_detail
from forgekeep.ledger.log import ENTRY_VERSION, SqlHashes

_STRINGS: Final = ("action", "actor", "at", "outcome", "request", "target", "tenant")
_KEYS: Final = frozenset({*_STRINGS, "detail", "v"})
#: The derived columns of ``events`` that ``ledger verify`` checks against the entry.
CHECKED_COLUMNS: Final = tuple(c for c in EVENT_COLUMNS if c != "entry")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One parsed canonical entry (the fields a view may show)."""

    tenant: str
    at: dt.datetime
    request_id: str
    actor: str
    action: str
    outcome: str
    target: str
    detail: Mapping[str, Scalar]

    def detail_json(self) -> str:
        """The detail as the journal encodes it in the ``detail`` column."""
        return encode_detail(self.detail)


def _object(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ProofError("a log entry is not JSON") from None
    if not isinstance(parsed, dict) or set(parsed) != _KEYS or parsed["v"] != ENTRY_VERSION:
        raise ProofError("a log entry does not have the fields of a version-1 entry")
    return parsed


def parse_entry(data: bytes) -> LogEntry:
    """The fields of one canonical entry; :class:`ProofError` if it is not one."""
    fields = _object(data)
    if not all(isinstance(fields[name], str) for name in _STRINGS):
        raise ProofError("a log entry has a field that is not a string")
    detail = fields["detail"]
    if not isinstance(detail, dict) or not all(
        isinstance(v, str | int | bool | type(None)) for v in detail.values()
    ):
        raise ProofError("a log entry's detail is not a flat object")
    try:
        at = dt.datetime.fromisoformat(fields["at"])
    except ValueError:
        raise ProofError("a log entry's time is not ISO 8601") from None
    if at.tzinfo is None:
        raise ProofError("a log entry's time has no time zone")
    return LogEntry(
        tenant=fields["tenant"],
        at=at,
        request_id=fields["request"],
        actor=fields["actor"],
        action=fields["action"],
        outcome=fields["outcome"],
        target=fields["target"],
        detail=detail,
    )


def column_mismatches(entry: LogEntry, index: int, row: Mapping[str, object]) -> list[str]:
    """The derived columns of ``row`` (an ``events`` row at log position ``index``)
    that differ from the entry, in :data:`CHECKED_COLUMNS` order."""
    expected: dict[str, object] = {
        "tenant_id": entry.tenant,
        "request_id": entry.request_id,
        "actor": entry.actor,
        "action": entry.action,
        "outcome": entry.outcome,
        "target": entry.target,
        "detail": entry.detail_json(),
        "log_index": index,
    }
    wrong = [name for name, value in expected.items() if row.get(name) != value]
    stamp = row.get("at")
    if not isinstance(stamp, dt.datetime) or stamp != entry.at:
        wrong.append("at")
    return sorted(wrong, key=CHECKED_COLUMNS.index)


def needle(field: str, value: str) -> bytes:
    """The exact bytes ``"field":"value"`` as they appear in a canonical entry.

    For narrowing a query on the entry column; callers re-check the parsed
    entry, since the same bytes may also occur inside ``detail``.
    """
    return f"{json.dumps(field)}:{json.dumps(value, ensure_ascii=False)}".encode()


def verified_entries(
    session: Session, tenant_id: str, rows: Sequence[tuple[int, bytes]]
) -> list[LogEntry]:
    """The entries of ``rows`` (index, bytes), once each one's leaf hash is the one the
    tree stores at its index (one query for them all).

    This catches an entry swapped or edited in place; a tree rebuilt around a
    forged entry is caught only by ``ledger verify`` against signed checkpoints.
    """
    wanted = [merkle.stored_hash_count(index) for index, _ in rows]
    stored = SqlHashes(session, tenant_id).read_hashes(wanted)
    for (index, data), leaf in zip(rows, stored, strict=True):
        if merkle.leaf_hash(data) != leaf:
            raise ProofError(
                f"log entry {index} does not match the log's tree",
                hint="run `forgekeep ledger verify`",
            )
    return [parse_entry(data) for _, data in rows]
