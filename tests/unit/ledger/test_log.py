"""The log's SQL hash store: a missing stored hash is a ProofError, never a guess."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import SystemClock
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event, Tenant
from forgekeep.errors import ProofError
from forgekeep.ledger import log, merkle
from forgekeep.ledger.entry import verified_entries
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal


def test_missing_hashes_and_empty_writes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Tenant(id="t-1", name="t-1", created_at=dt.datetime.now(dt.UTC)))
        session.flush()
        appender = log.LogAppender.open(session, "t-1")
        appender.write()  # nothing appended: no statement
        for entry in (b"a", b"b", b"c"):
            appender.append(entry)
        appender.write()
    with sessions() as session:
        reader = log.SqlHashes(session, "t-1")
        assert reader.read_hashes([0, 0]) == [merkle.leaf_hash(b"a")] * 2
        session.execute(delete(LedgerHash).where(LedgerHash.idx == 1))
        with pytest.raises(ProofError, match="stored hash 1 of the log is missing"):
            reader.read_hashes([0, 1])
    engine.dispose()


def _log_of(tmp_path: Path, entries: list[bytes]) -> tuple[Engine, sessionmaker[Session]]:
    """A tenant's log of ``entries`` (events rows and stored hashes, as the journal writes)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    journal = SqlJournal("t-1", SystemClock())
    with sessions.begin() as session:
        session.add(Tenant(id="t-1", name="t-1", created_at=dt.datetime.now(dt.UTC)))
        session.flush()
        journal.append_many(
            session,
            [JournalEvent("test.fill", Outcome.OK, "p-1", e.decode(), f"req-{i:016x}")
             for i, e in enumerate(entries)],
        )  # fmt: skip
    return engine, sessions


def test_entries_past_the_end_of_the_rows_are_missing(tmp_path: Path) -> None:
    engine, sessions = _log_of(tmp_path, [b"a", b"b"])
    with sessions() as session:
        assert len(list(log.entries(session, "t-1", 0, 2))) == 2
        with pytest.raises(ProofError, match="log entry 2 is missing"):
            list(log.entries(session, "t-1", 0, 3))
    engine.dispose()


def test_a_view_refuses_an_entry_that_is_not_the_trees_leaf(tmp_path: Path) -> None:
    engine, sessions = _log_of(tmp_path, [b"a", b"b"])
    with sessions() as session:
        rows = [
            (int(i), bytes(d)) for i, d in session.execute(select(Event.log_index, Event.entry))
        ]
        assert [e.target for e in verified_entries(session, "t-1", rows)] == ["a", "b"]
        forged = [(rows[0][0], rows[0][1].replace(b'"a"', b'"z"'))]
        with pytest.raises(ProofError, match="log entry 0 does not match the log's tree"):
            verified_entries(session, "t-1", forged)
    engine.dispose()


def test_a_gap_in_the_rows_is_caught_where_it_is(tmp_path: Path) -> None:
    engine, sessions = _log_of(tmp_path, [b"a", b"b", b"c"])
    with sessions.begin() as session:
        session.execute(delete(Event).where(Event.log_index == 1))
    with (
        sessions() as session,
        pytest.raises(ProofError, match="log entry 1 is missing or out of order"),
    ):
        list(log.entries(session, "t-1", 0, 3))
    engine.dispose()
