"""Group commit for a tenant's log: one sequencer thread, one fsync per group.

A long-running host (a server, a benchmark) appends events through a
:class:`Sequencer` instead of one transaction each. The sequencer takes what
callers have submitted, up to ``max_batch`` entries or ``max_delay`` after the
oldest one arrived (1,000 entries or 10 ms by default), appends the whole group
in one transaction (:meth:`SqlJournal.append_many`), commits it, and only then
acknowledges every caller in the group. While entries arrive, it signs a
checkpoint at least every ``checkpoint_interval`` (1 s).

Security rules:

* An append is acknowledged only after the transaction holding it has
  committed (SQLite WAL with ``synchronous=FULL``: after the fsync). A caller
  holding its indexes holds durable entries.
* A group is one transaction: if anything in it fails (a full disk, a killed
  process, a database error), the whole group rolls back, every caller in it
  gets :class:`JournalError`, and nothing of the group is visible.
* The log's size is read inside each group's transaction (``BEGIN IMMEDIATE``),
  never cached, so another writer (a CLI command on the same workspace) can
  never cause a gap or two entries with one index.
* Fail closed: a stopped, failed or overloaded sequencer refuses appends with
  :class:`JournalError`; it never drops an entry silently. The queue holds at
  most ``max_queued`` entries (documented in docs/limits.md).
* A checkpoint that cannot be signed does not undo durable entries: it is
  logged, counted and retried at the next tick.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Self

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.errors import ForgekeepError, JournalError, UsageError
from forgekeep.ledger.journal import JournalEvent, SqlJournal, check_detail
from forgekeep.limits import MAX_LEDGER_BATCH, MAX_LEDGER_QUEUED

MAX_BATCH: Final = MAX_LEDGER_BATCH
MAX_DELAY: Final = 0.010
CHECKPOINT_INTERVAL: Final = 1.0
MAX_QUEUED: Final = MAX_LEDGER_QUEUED
SUBMIT_WAIT: Final = 5.0

Checkpointer = Callable[[], None]
"""Signs (and stores) a checkpoint of the log as it is now, in its own transaction."""

_log = structlog.get_logger("forgekeep.ledger.sequencer")


class Ticket:
    """One caller's submitted events; :meth:`wait` returns their log indexes.

    Tickets share their sequencer's acknowledgement condition instead of owning
    an event each: a ticket is a few slots, cheap at 20,000 per second.
    """

    __slots__ = (
        "_acks",
        "acknowledged",
        "done",
        "error",
        "events",
        "first_index",
        "submitted",
    )

    def __init__(
        self, events: tuple[JournalEvent, ...], acks: threading.Condition, submitted: float
    ) -> None:
        self.events = events
        self.submitted = submitted  # the sequencer's clock: the group deadline, and latency
        self.first_index: int | None = None
        self.acknowledged: float | None = None
        self.error: BaseException | None = None
        self.done = False
        self._acks = acks

    def wait(self, timeout: float | None = None) -> range:
        """Block until the events are durable; their indexes, or :class:`JournalError`."""
        with self._acks:
            if not self._acks.wait_for(lambda: self.done, timeout):
                raise JournalError("the ledger did not acknowledge the append in time; refused")
        if self.error is not None:
            names = ",".join(sorted({e.action for e in self.events}))
            raise JournalError(
                f"could not record {names}: {type(self.error).__name__}"
            ) from self.error
        assert self.first_index is not None  # noqa: S101 (set before done, with no error)
        return range(self.first_index, self.first_index + len(self.events))


def _resolve(
    tickets: Sequence[Ticket], acks: threading.Condition, error: BaseException | None, at: float
) -> None:
    """Mark ``tickets`` acknowledged (or failed) at ``at`` and wake their waiters."""
    with acks:
        for ticket in tickets:
            ticket.error, ticket.acknowledged, ticket.done = error, at, True
        acks.notify_all()


@dataclass(frozen=True, slots=True)
class SequencerLimits:
    """The sequencer's knobs; the defaults are the documented limits."""

    max_batch: int = MAX_BATCH
    max_delay: float = MAX_DELAY
    checkpoint_interval: float = CHECKPOINT_INTERVAL
    max_queued: int = MAX_QUEUED
    submit_wait: float = SUBMIT_WAIT

    def check(self) -> None:
        if (
            self.max_batch < 1
            or self.max_queued < self.max_batch
            or self.max_delay < 0
            or self.checkpoint_interval <= 0
            or self.submit_wait < 0
        ):
            raise UsageError("sequencer limits must be positive, with max_queued ≥ max_batch")


@dataclass(slots=True)
class SequencerStats:
    groups: int = 0
    entries: int = 0
    failed_groups: int = 0
    checkpoints: int = 0
    checkpoint_failures: int = 0
    largest_group: int = 0


class Sequencer:
    """Appends submitted events in timed groups and signs checkpoints on a cadence."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        journal: SqlJournal,
        *,
        checkpointer: Checkpointer | None,
        limits: SequencerLimits | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        limits = limits or SequencerLimits()
        limits.check()
        self._sessions, self._journal, self._checkpointer = sessions, journal, checkpointer
        self._max_batch, self._max_delay = limits.max_batch, limits.max_delay
        self._interval, self._max_queued = limits.checkpoint_interval, limits.max_queued
        self._submit_wait, self._now = limits.submit_wait, monotonic
        self._cond = threading.Condition()  # the queue and the state
        self._acks = threading.Condition()  # acknowledgements
        self._queue: collections.deque[Ticket] = collections.deque()
        self._queued = 0
        self._state = "new"  # new → running → stopping → stopped (or failed)
        self._thread: threading.Thread | None = None
        self._unsigned = False  # entries appended since the last checkpoint
        self._last_checkpoint = monotonic()
        self.stats = SequencerStats()

    # ------------------------------------------------------------ callers

    def start(self) -> Self:
        with self._cond:
            if self._state != "new":
                raise UsageError("a sequencer starts once")
            self._state = "running"
        self._thread = threading.Thread(target=self._run, name="forgekeep-sequencer", daemon=True)
        self._thread.start()
        return self

    def submit(self, events: Sequence[JournalEvent]) -> Ticket:
        """Queue ``events`` (kept consecutive in the log); returns their ticket."""
        if not events:
            raise UsageError("nothing to append")
        if len(events) > self._max_batch:
            raise JournalError(f"one append holds at most {self._max_batch} events; refused")
        for event in events:  # a malformed event fails its own caller, not a whole group
            check_detail(event.detail)
        ticket = Ticket(tuple(events), self._acks, self._now())
        with self._cond:
            give_up = self._now() + self._submit_wait
            while self._state == "running" and self._queued + len(events) > self._max_queued:
                if give_up - self._now() <= 0:
                    raise JournalError("the ledger sequencer is overloaded; append refused")
                self._cond.wait(give_up - self._now())
            if self._state != "running":
                raise JournalError(f"the ledger sequencer is {self._state}; append refused")
            self._queue.append(ticket)
            before, self._queued = self._queued, self._queued + len(events)
            # Wake the sequencer when a group starts or fills, not on every submit.
            if before == 0 or before < self._max_batch <= self._queued:
                self._cond.notify_all()
        return ticket

    def append(self, events: Sequence[JournalEvent], timeout: float | None = None) -> range:
        """Submit and wait: the events' log indexes once they are durable."""
        return self.submit(events).wait(timeout)

    def close(self) -> None:
        """Append what is queued, sign a last checkpoint, and stop."""
        with self._cond:
            if self._state == "running":
                self._state = "stopping"
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            while True:
                group = self._next_group()
                if group:
                    self._commit(group)
                self._checkpoint_if_due(final=group is None)
                if group is None:
                    break
        except Exception as exc:  # noqa: BLE001 (a bug: fail every waiter closed, never hang them)
            _log.error("ledger sequencer failed", error=f"{type(exc).__name__}: {exc}")
            self._set_state("failed")
            self._fail_queued(exc)
        else:
            self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()

    def _next_group(self) -> list[Ticket] | None:
        """The next group; ``[]`` when a checkpoint is due; ``None`` once stopped and drained."""
        with self._cond:
            while not self._queue:
                if self._state != "running":
                    return None
                wait = self._until_checkpoint()
                if wait is not None and wait <= 0:
                    return []
                self._cond.wait(wait)
            deadline = self._queue[0].submitted + self._max_delay
            while self._queued < self._max_batch and self._state == "running":
                remaining = deadline - self._now()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._take()

    def _take(self) -> list[Ticket]:
        group: list[Ticket] = []
        count = 0
        while self._queue and (not group or count + len(self._queue[0].events) <= self._max_batch):
            ticket = self._queue.popleft()
            group.append(ticket)
            count += len(ticket.events)
        self._queued -= count
        self._cond.notify_all()  # room for blocked submitters
        return group

    def _until_checkpoint(self) -> float | None:
        if not self._unsigned or self._checkpointer is None:
            return None
        return self._last_checkpoint + self._interval - self._now()

    def _commit(self, group: list[Ticket]) -> None:
        events = [event for ticket in group for event in ticket.events]
        try:
            with self._sessions.begin() as session:
                indexes = self._journal.append_many(session, events)
        except (ForgekeepError, SQLAlchemyError, OSError) as exc:
            self.stats.failed_groups += 1
            _log.warning("ledger group not committed", entries=len(events), error=str(exc))
            _resolve(group, self._acks, exc, self._now())
            return
        except Exception as exc:  # a bug: the group's callers fail too, then the thread stops
            self._set_state("failed")  # before anyone is told, so no one submits again
            _resolve(group, self._acks, exc, self._now())
            raise
        first = indexes.start
        for ticket in group:
            ticket.first_index = first
            first += len(ticket.events)
        _resolve(group, self._acks, None, self._now())
        self.stats.groups += 1
        self.stats.entries += len(events)
        self.stats.largest_group = max(self.stats.largest_group, len(events))
        self._unsigned = True

    def _checkpoint_if_due(self, *, final: bool) -> None:
        if self._checkpointer is None or not self._unsigned:
            return
        if not final and self._now() - self._last_checkpoint < self._interval:
            return
        self._last_checkpoint = self._now()
        try:
            self._checkpointer()
        except (ForgekeepError, SQLAlchemyError, OSError) as exc:
            self.stats.checkpoint_failures += 1
            _log.warning("ledger checkpoint not signed; retrying next tick", error=str(exc))
            return
        self.stats.checkpoints += 1
        self._unsigned = False

    def _fail_queued(self, exc: BaseException) -> None:
        with self._cond:
            pending, self._queue, self._queued = list(self._queue), collections.deque(), 0
        _resolve(pending, self._acks, exc, self._now())
