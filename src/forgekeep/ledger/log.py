"""The tenant's transparency log, kept in the metadata database.

Every journal event is a log entry: its canonical bytes (RFC 8785 JSON) are the
leaf, hashed as SHA-256(0x00 ‖ entry) (RFC 6962/9162). The stored Merkle hashes
(``ledger_hashes``) grow with each leaf, so any root and any proof needs only
O(log n) reads.

Security rules:

* An entry and its hashes are written in the transaction of the operation it
  records; under SQLite's ``BEGIN IMMEDIATE`` one writer at a time assigns the
  next index, so the log has no gaps and no two entries share an index.
* Entries carry pseudonyms, ids, codes and counts — never personal attributes,
  key material or plaintext (the journal's rule) — so proofs can be shown to
  partners and auditors, and erasing a person never breaks one.
* Nothing here trusts the database: :func:`recompute` rebuilds every stored
  hash from the entries, so ``ledger verify`` catches an entry that was
  changed, deleted, reordered or a tree that was rebuilt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from forgekeep.crypto.canonical import fast_canonical_json, is_fast_key, is_fast_scalar
from forgekeep.db.bulk import BulkInsert
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event
from forgekeep.errors import ProofError
from forgekeep.ledger import merkle

ENTRY_VERSION: Final = 1
_READ_CHUNK: Final = 500  # SQLite's bound-parameter limit is far above this
_HASH_ROWS: Final = BulkInsert(cast("Table", LedgerHash.__table__), ("tenant_id", "idx", "hash"))


def canonical_entry(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes a leaf hashes: RFC 8785 JSON of the entry, versioned.

    Uses the fast encoder, which property tests prove byte-identical to
    ``rfc8785`` on the subset it accepts (and which falls back to it otherwise).
    """
    return fast_canonical_json({"v": ENTRY_VERSION, **fields})


_STR_FIELDS: Final = ("action", "actor", "at", "outcome", "request", "target", "tenant")
_encode_str = json.JSONEncoder(ensure_ascii=False).encode
_encode_detail = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f]')  # what JSON (and JCS) escape in a string


def event_entry(strings: Mapping[str, str], detail: Mapping[str, Any]) -> tuple[bytes, str]:
    """(entry bytes, detail JSON) of one journal event, each computed once.

    ``strings`` holds exactly the seven string fields of an entry. When every
    value is in the subset where ``json`` output equals JCS, the entry is
    assembled in JCS key order around the detail's JSON; otherwise the general
    encoder is used. A property test proves both paths byte-identical to
    ``rfc8785`` (tests/property/test_ledger_entry_props.py).
    """
    values = [strings[name] for name in _STR_FIELDS]
    if not _in_fast_subset(values, detail):
        entry = canonical_entry({**strings, "detail": dict(detail)})
        return entry, _encode_detail(dict(detail))
    detail_json = _encode_detail(detail if type(detail) is dict else dict(detail))
    if _NEEDS_ESCAPE.search("".join(values)) is None:
        # No character JSON escapes: each string's JSON form is itself in quotes.
        encoded = [f'"{value}"' for value in values]
    else:
        encoded = [_encode_str(value) for value in values]
    action, actor, at, outcome, request, target, tenant = encoded
    text = (
        f'{{"action":{action},"actor":{actor},"at":{at},"detail":{detail_json},'
        f'"outcome":{outcome},"request":{request},"target":{target},"tenant":{tenant},'
        f'"v":{ENTRY_VERSION}}}'
    )
    return text.encode(), detail_json


def _in_fast_subset(values: Sequence[object], detail: Mapping[str, Any]) -> bool:
    """True when every string, key and value is one whose ``json`` form equals JCS.

    One ``isascii`` over all the text decides the common case; anything else
    takes the per-item checks of :mod:`forgekeep.crypto.canonical`.
    """
    texts = [*values, *detail]
    for value in detail.values():
        if type(value) is str:
            texts.append(value)
        elif not is_fast_scalar(value):
            return False
    if not all(type(text) is str for text in texts):
        return False
    if "".join(cast("list[str]", texts)).isascii():
        return True
    return all(is_fast_scalar(v) for v in values) and all(
        is_fast_key(k) and is_fast_scalar(v) for k, v in detail.items()
    )


_HASHES_QUERY: Final = select(LedgerHash.idx, LedgerHash.hash).where(
    LedgerHash.tenant_id == bindparam("tenant"),
    LedgerHash.idx.in_(bindparam("idx", expanding=True)),
)
_SIZE_QUERY: Final = select(func.max(Event.log_index)).where(Event.tenant_id == bindparam("tenant"))


class SqlHashes:
    """A :class:`merkle.HashReader` over one tenant's stored hashes."""

    def __init__(self, session: Session, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        found: dict[int, bytes] = {}
        wanted = list(dict.fromkeys(indexes))
        connection = self._session.connection()  # Core, not ORM: a third of the cost
        for start in range(0, len(wanted), _READ_CHUNK):
            chunk = wanted[start : start + _READ_CHUNK]
            rows = connection.execute(_HASHES_QUERY, {"tenant": self._tenant_id, "idx": chunk})
            found.update({idx: bytes(value) for idx, value in rows})
        result = []
        for i in indexes:
            value = found.get(i)
            if value is None:
                raise ProofError(f"stored hash {i} of the log is missing")
            result.append(value)
        return result


def log_size(session: Session, tenant_id: str) -> int:
    """How many entries the tenant's log holds."""
    last = session.connection().execute(_SIZE_QUERY, {"tenant": tenant_id}).scalar()
    return 0 if last is None else int(last) + 1


@dataclass(slots=True)
class LogAppender:
    """Appends leaves for one tenant inside the caller's transaction.

    The tree's right edge is read once (one query); each leaf then costs its
    hashes only. :meth:`write` inserts the new stored hashes (one executemany).
    """

    session: Session
    tenant_id: str
    frontier: merkle.Frontier
    _unwritten: list[tuple[str, int, bytes]]

    @classmethod
    def open(cls, session: Session, tenant_id: str) -> LogAppender:
        size = log_size(session, tenant_id)
        frontier = merkle.Frontier.read(size, SqlHashes(session, tenant_id))
        return cls(session, tenant_id, frontier, [])

    @property
    def size(self) -> int:
        return self.frontier.size

    def append(self, entry: bytes) -> int:
        """Add one leaf; returns its index."""
        index = self.frontier.size
        first = merkle.stored_hash_count(index)
        tenant, rows = self.tenant_id, self._unwritten
        for offset, value in enumerate(self.frontier.append(merkle.leaf_hash(entry))):
            rows.append((tenant, first + offset, value))
        return index

    def write(self) -> None:
        """Insert the stored hashes added since the last write."""
        if self._unwritten:
            _HASH_ROWS.execute(self.session, self._unwritten)
            self._unwritten = []


def root(session: Session, tenant_id: str, size: int) -> bytes:
    return merkle.tree_hash(size, SqlHashes(session, tenant_id))


def entries(session: Session, tenant_id: str, start: int, stop: int) -> Iterable[bytes]:
    """Entries ``start`` ≤ index < ``stop``, in order."""
    result = session.execute(
        select(Event.log_index, Event.entry)
        .where(
            Event.tenant_id == tenant_id,
            Event.log_index >= start,
            Event.log_index < stop,
        )
        .order_by(Event.log_index)
        .execution_options(yield_per=1000)
    )
    expected = start
    with result as rows:  # closed even when the caller stops early (a server-side cursor)
        for index, entry in rows:
            if index != expected or entry is None:
                raise ProofError(f"log entry {expected} is missing or out of order")
            yield bytes(entry)
            expected += 1
    if expected != stop:
        raise ProofError(f"log entry {expected} is missing")


def first_leaf_at(stored: int) -> int:
    """The first entry whose leaf hash sits at stored index ``stored`` or later."""
    lo, hi = 0, stored
    while lo < hi:  # stored_hash_count grows strictly with the size
        mid = (lo + hi) // 2
        if merkle.stored_hash_count(mid) < stored:
            lo = mid + 1
        else:
            hi = mid
    return lo


def leaves_of(stored: int) -> int | None:
    """The tree size whose stored hashes number exactly ``stored``, if there is one."""
    size = first_leaf_at(stored)
    return size if merkle.stored_hash_count(size) == stored else None


@dataclass(frozen=True, slots=True)
class TailState:
    """How the rows of a log agree, counted without reading the entries."""

    entries: int  # rows with a log index
    size: int  # one past the highest log index
    stored_hashes: int
    hashed_size: int | None  # the tree size the stored hashes describe, if any

    @property
    def missing(self) -> range:
        """Entries whose hashes are stored but whose rows are gone (a broken tail)."""
        if self.hashed_size is None or self.hashed_size <= self.size:
            return range(0)
        return range(self.size, self.hashed_size)

    @property
    def intact(self) -> bool:
        return self.entries == self.size and self.hashed_size == self.size


def tail_state(session: Session, tenant_id: str, *, count: bool = True) -> TailState:
    """Counts of the log's rows; no entry is read.

    ``count=False`` reads only the highest index of each table (two index
    lookups, for signers on every command) and so assumes no gap inside; with
    ``count`` the rows are counted too (``doctor``, ``repair``).
    """
    connection = session.connection()
    top = connection.execute(_SIZE_QUERY, {"tenant": tenant_id}).scalar()
    size = 0 if top is None else int(top) + 1
    if count:
        entries = connection.execute(
            select(func.count(Event.log_index)).where(Event.tenant_id == tenant_id)
        ).scalar_one()
        stored = connection.execute(
            select(func.count()).where(LedgerHash.tenant_id == tenant_id)
        ).scalar_one()
    else:
        last = connection.execute(
            select(func.max(LedgerHash.idx)).where(LedgerHash.tenant_id == tenant_id)
        ).scalar()
        entries, stored = size, 0 if last is None else int(last) + 1
    return TailState(int(entries), size, int(stored), leaves_of(int(stored)))


def require_intact_tail(session: Session, tenant_id: str) -> int:
    """The log's size, if its rows and stored hashes agree; else :class:`ProofError`.

    Signing a checkpoint over a log whose newest rows were deleted would make
    the truncation look legitimate, so every signer calls this first.
    """
    state = tail_state(session, tenant_id, count=False)
    if not state.intact:
        missing = state.missing
        where = (
            f"entries {missing.start} to {missing.stop - 1} are missing"
            if missing
            else "its rows and stored hashes disagree"
        )
        raise ProofError(
            f"the log is broken at its tail: {where}",
            hint="run `forgekeep doctor`, then `forgekeep ledger repair` (docs/operations.md)",
        )
    return state.size
