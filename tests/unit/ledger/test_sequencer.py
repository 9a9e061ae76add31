"""Group commit: grouping, durability before acknowledgement, failures and checkpoints."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import ManualClock
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.models import Event, Tenant
from forgekeep.errors import JournalError, UsageError
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, SequencerLimits

TENANT = "t-1"
LONG = 60.0  # a window no test waits for: groups close by size or on close()


def _event(i: int, **detail: object) -> JournalEvent:
    return JournalEvent(
        "asset.get", Outcome.OK, "p-1", f"blade/{i}", f"req-{i}", detail or {"i": i}
    )  # type: ignore[arg-type]


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'seq.db'}")
    migrate(engine)
    made = make_sessionmaker(engine)
    with made.begin() as session:
        session.add(Tenant(id=TENANT, name=TENANT, created_at=dt.datetime.now(dt.UTC)))
    yield made
    engine.dispose()


@pytest.fixture
def journal() -> SqlJournal:
    return SqlJournal(TENANT, ManualClock())


def _stored(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        rows = session.execute(select(Event.log_index, Event.request_id).order_by(Event.seq))
        return [(int(i), r) for i, r in rows]


def _sequencer(
    sessions: sessionmaker[Session],
    journal: SqlJournal,
    checkpointer: Callable[[], None] | None = None,
    **limits: float,
) -> Sequencer:
    return Sequencer(
        sessions,
        journal,
        checkpointer=checkpointer,
        limits=SequencerLimits(**limits),  # type: ignore[arg-type]
    )


def test_groups_close_at_the_batch_size_and_keep_submission_order(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    sequencer = _sequencer(sessions, journal, max_batch=100, max_delay=LONG)
    sequencer._state = "running"  # queue everything before the thread takes any
    tickets = [sequencer.submit([_event(i)]) for i in range(250)]
    sequencer._state = "new"
    with sequencer:
        pass  # the last group of 50 closes when the sequencer stops
    indexes = [t.wait(0) for t in tickets]
    assert indexes == [range(i, i + 1) for i in range(250)]
    assert (sequencer.stats.groups, sequencer.stats.largest_group) == (3, 100)
    assert _stored(sessions) == [(i, f"req-{i}") for i in range(250)]


def test_the_time_window_closes_a_group(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    with _sequencer(sessions, journal, max_batch=1000, max_delay=0.05) as sequencer:
        first = sequencer.submit([_event(0), _event(1)])
        second = sequencer.submit([_event(2)])
        assert first.wait(30) == range(2)  # closed by the 50 ms window, not by size
        assert second.wait(30) == range(2, 3)
    assert sequencer.stats.entries == 3


def test_acknowledged_means_committed(sessions: sessionmaker[Session], journal: SqlJournal) -> None:
    with _sequencer(sessions, journal) as sequencer:
        indexes = sequencer.append([_event(7)], timeout=30)
        # Another connection sees it: the group's transaction has committed.
        assert _stored(sessions) == [(indexes.start, "req-7")]


def test_another_writer_between_groups_never_causes_a_gap(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    with _sequencer(sessions, journal) as sequencer:
        sequencer.append([_event(0)], timeout=30)
        with sessions.begin() as session:  # a CLI command writing on its own
            journal.append(session, _event(1))
        assert sequencer.append([_event(2)], timeout=30) == range(2, 3)
    with sessions() as session:
        size = log.log_size(session, TENANT)
        rebuilt = audit.rebuild(log.entries(session, TENANT, 0, size))
        assert (size, rebuilt.size) == (3, 3)
        assert merkle.tree_hash(3, rebuilt) == log.root(session, TENANT, 3)


def test_a_failed_group_fails_every_caller_and_leaves_nothing(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    with sessions.begin() as session:  # the database refuses every append
        session.connection().exec_driver_sql("DROP TABLE ledger_hashes")
    sequencer = _sequencer(sessions, journal, max_batch=3, max_delay=LONG)
    sequencer._state = "running"
    tickets = [sequencer.submit([_event(i)]) for i in range(3)]
    sequencer._state = "new"
    with sequencer:
        for ticket in tickets:
            with pytest.raises(JournalError, match=r"could not record asset\.get"):
                ticket.wait(30)
    assert sequencer.stats.failed_groups == 1
    assert _stored(sessions) == []  # the group's events rolled back with it


def test_a_malformed_event_fails_only_its_caller(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    with _sequencer(sessions, journal) as sequencer:
        with pytest.raises(JournalError, match="not a scalar"):
            sequencer.submit([_event(0, nested={"no": 1})])
        with pytest.raises(UsageError, match="nothing"):
            sequencer.submit([])
        assert sequencer.append([_event(1)], timeout=30) == range(1)


def test_oversized_appends_and_a_full_queue_are_refused(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    sequencer = _sequencer(sessions, journal, max_batch=2, max_queued=3, submit_wait=0.01)
    with pytest.raises(JournalError, match="at most 2 events"):
        sequencer.submit([_event(i) for i in range(3)])
    sequencer._state = "running"  # running, but its thread is not taking groups
    sequencer.submit([_event(0), _event(1)])
    with pytest.raises(JournalError, match="overloaded"):
        sequencer.submit([_event(2), _event(3)])
    sequencer._state = "new"
    with sequencer:
        pass  # close() still appends what was queued
    assert [r for _, r in _stored(sessions)] == ["req-0", "req-1"]


def test_a_stopped_sequencer_refuses_and_cannot_restart(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    sequencer = _sequencer(sessions, journal)
    with pytest.raises(JournalError, match="is new"):
        sequencer.submit([_event(0)])
    sequencer.close()  # closing one that never started is harmless
    with sequencer, pytest.raises(UsageError, match="starts once"):
        sequencer.start()
    with pytest.raises(JournalError, match="is stopped"):
        sequencer.submit([_event(0)])
    with pytest.raises(UsageError, match="positive"):
        SequencerLimits(max_batch=10, max_queued=5).check()


def test_a_waiter_that_times_out_is_told(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    sequencer = _sequencer(sessions, journal)
    sequencer._state = "running"
    ticket = sequencer.submit([_event(0)])
    with pytest.raises(JournalError, match="in time"):
        ticket.wait(0.01)
    sequencer._state = "new"
    with sequencer:
        assert ticket.wait(30) == range(1)


class _Checkpoints:
    def __init__(self, sessions: sessionmaker[Session], fail_first: int = 0) -> None:
        self.sessions, self.sizes, self.fail_first = sessions, list[int](), fail_first
        self.signed = threading.Event()

    def __call__(self) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise JournalError("the key manager is unreachable")
        with self.sessions() as session:
            self.sizes.append(log.log_size(session, TENANT))
        self.signed.set()


def test_a_checkpoint_follows_new_entries_within_the_interval(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    checkpoints = _Checkpoints(sessions, fail_first=1)
    with _sequencer(sessions, journal, checkpoints, checkpoint_interval=0.05) as sequencer:
        sequencer.append([_event(0), _event(1)], timeout=30)
        assert checkpoints.signed.wait(30)  # signed by the cadence, not by close()
        assert sequencer.stats.checkpoint_failures == 1  # retried at the next tick
        signed_so_far = sequencer.stats.checkpoints
    assert checkpoints.sizes[0] == 2
    assert sequencer.stats.checkpoints == signed_so_far  # no new entries: none at close


def test_close_signs_the_entries_no_checkpoint_covers_yet(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    checkpoints = _Checkpoints(sessions)
    with _sequencer(sessions, journal, checkpoints, checkpoint_interval=LONG) as sequencer:
        sequencer.append([_event(0)], timeout=30)
        assert checkpoints.sizes == []
    assert checkpoints.sizes == [1]


def test_a_bug_in_the_thread_fails_waiters_closed(
    sessions: sessionmaker[Session], journal: SqlJournal
) -> None:
    def broken() -> None:
        raise RuntimeError("bug")

    sequencer = _sequencer(sessions, journal, broken, checkpoint_interval=LONG)
    sequencer._state = "running"
    tickets = [sequencer.submit([_event(0)])]
    sequencer._state = "new"
    sequencer.start()
    tickets[0].wait(30)
    sequencer._state = "running"
    queued = sequencer.submit([_event(1)])  # queued behind the coming failure
    sequencer._state = "stopping"
    sequencer.close()  # the final checkpoint raises RuntimeError in the thread
    assert sequencer._state == "failed"
    with pytest.raises(JournalError, match="failed"):
        sequencer.submit([_event(2)])
    assert queued.done


def test_a_bug_while_committing_fails_the_group_in_flight(
    sessions: sessionmaker[Session], journal: SqlJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> range:
        raise ValueError("bug")

    monkeypatch.setattr(journal, "append_many", broken)
    with _sequencer(sessions, journal) as sequencer:
        with pytest.raises(JournalError, match="ValueError"):
            sequencer.append([_event(0)], timeout=30)  # told at once, not after a timeout
        with pytest.raises(JournalError, match="failed"):
            sequencer.submit([_event(1)])
