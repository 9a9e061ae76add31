"""Ledger appends per second on SQLite or PostgreSQL: group commit and 1-second checkpoints.

Runs the production write path: callers submit events to a
:class:`~forgekeep.ledger.sequencer.Sequencer`, which appends them in groups
(at most 1,000 entries or 10 ms) through ``SqlJournal.append_many`` (canonical
JSON entry, log index, stored Merkle hashes, events row) in one durable
transaction each (SQLite WAL, ``synchronous=FULL``), acknowledges every caller
of the group after the commit, and signs an Ed25519 checkpoint of the stored
tree at least once a second while entries arrive.

Phases, in one run:

1. *Paced*: one caller per event arriving at ``--rate`` per second for
   ``--seconds``; prints the achieved rate and the durable acknowledgement
   latency (submit → commit acknowledged) p50/p99.
2. *Saturated*: ``--burst`` events submitted as fast as the queue takes them;
   prints the ceiling.
3. *Proofs*: the log is grown to ``--proof-size`` entries (1,000,000 by
   default), then inclusion and consistency proofs are read from SQLite.
4. *Reference*: the raw SHA-256 rate of this machine (64-byte inputs).
5. *Bare executemany* (PostgreSQL only): the rows the paced phase wrote (events
   and stored hashes) copied into scratch tables of the same shape, in groups of
   the paced phase's mean size, one commit each: the database's own floor for
   these rows, without canonical JSON, hashing, locks or the sequencer.

    python bench/ledger.py [--rate 20000] [--seconds 10] [--burst 100000]
                           [--proof-size 1000000] [--database URL]

With ``--database postgresql+psycopg://…/DB`` (a new, empty database), the
log lives there instead of a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import hashlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import SystemClock
from forgekeep.crypto.signed import generate_signer
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.models import Tenant
from forgekeep.ledger import log, merkle
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, Ticket

TENANT = "t-bench"
ORIGIN = f"forgekeep/{TENANT}"


def _event(i: int) -> JournalEvent:
    return JournalEvent(
        action="asset.get",
        outcome=Outcome.OK,
        actor="p-0123456789abcdef01234567",
        target=f"blade/part-{i % 5000}.step",
        request_id=f"req-{i:016x}",
        detail={"policy": "baseline/owner-read", "asset": f"a-{i % 5000:024x}", "size": i},
    )


def _checkpointer(sessions: sessionmaker[Session], signed: list[int]) -> Callable[[], None]:
    signer = generate_signer(ORIGIN)

    def sign() -> None:
        with sessions() as session:
            size = log.log_size(session, TENANT)
            root = log.root(session, TENANT, size)
        sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)
        signed.append(size)

    return sign


def _paced(sequencer: Sequencer, rate: int, seconds: float, offset: int) -> _Latencies:
    """Submit one event per caller at ``rate``/s; their acknowledgement latencies.

    The events are built beforehand: building a request's event is the caller's
    work, not the ledger's. A second thread waits for each ticket in turn and
    keeps only its latency, so the heap holds only tickets in flight, as a
    server's would; the generator's events are frozen out of the collector, as
    a server freezes its start-up heap.
    """
    total = int(rate * seconds)
    events = [_event(offset + i) for i in range(total)]
    gc.collect()
    gc.freeze()
    in_flight: collections.deque[Ticket] = collections.deque()
    latencies = _Latencies()
    waiter = threading.Thread(target=latencies.collect, args=(in_flight, total))
    waiter.start()
    started = time.monotonic()  # the sequencer stamps tickets with this clock
    for i, event in enumerate(events):
        ahead = started + i / rate - time.monotonic()
        if ahead > 0.001:
            time.sleep(ahead)
        in_flight.append(sequencer.submit([event]))
    waiter.join()
    latencies.first_submit = started
    return latencies


class _Latencies:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.first_submit = self.last_ack = 0.0

    def collect(self, in_flight: collections.deque[Ticket], total: int) -> None:
        for _ in range(total):
            while not in_flight:
                time.sleep(0.001)
            ticket = in_flight.popleft()
            ticket.wait(60)
            acknowledged = ticket.acknowledged or 0.0
            self.values.append(acknowledged - ticket.submitted)
            self.last_ack = max(self.last_ack, acknowledged)


def _saturated(sequencer: Sequencer, count: int, offset: int) -> float:
    events = [_event(offset + i) for i in range(count)]
    started = time.monotonic()
    tickets = [sequencer.submit([event]) for event in events]
    for ticket in tickets:
        ticket.wait(120)
    return count / (max(t.acknowledged or 0.0 for t in tickets) - started)


def _grow(sessions: sessionmaker[Session], journal: SqlJournal, size: int) -> None:
    with sessions() as session:
        have = log.log_size(session, TENANT)
    for first in range(have, size, 5000):
        batch = [_event(i) for i in range(first, min(first + 5000, size))]
        with sessions.begin() as session:
            journal.append_many(session, batch)


def _proof_times(
    sessions: sessionmaker[Session], samples: int = 1000
) -> tuple[int, list[float], list[float]]:
    """Random inclusion and consistency proofs, each one query on the stored hashes."""
    rng = random.Random(7)
    inclusion, consistency = [], []
    with sessions() as session:
        size = log.log_size(session, TENANT)
        for _ in range(samples):
            index, old = rng.randrange(size), rng.randrange(1, size)
            t0 = time.perf_counter()
            merkle.inclusion_proof(index, size, log.SqlHashes(session, TENANT))
            t1 = time.perf_counter()
            merkle.consistency_proof(old, size, log.SqlHashes(session, TENANT))
            t2 = time.perf_counter()
            inclusion.append(t1 - t0)
            consistency.append(t2 - t1)
    return size, inclusion, consistency


def _raw_sha256_rate() -> float:
    data, count, started = bytes(64), 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        for _ in range(10_000):
            hashlib.sha256(data).digest()
        count += 10_000
    return count / (time.perf_counter() - started)


def _bare_executemany(engine: Engine, group: int) -> tuple[float, int]:
    """Rows/s of a plain executemany of the paced phase's rows into look-alike tables."""
    with engine.begin() as conn:
        for table in ("events", "ledger_hashes"):
            conn.exec_driver_sql(f"CREATE TABLE bare_{table} (LIKE {table} INCLUDING ALL)")
        events = conn.exec_driver_sql(
            "SELECT tenant_id, at, request_id, actor, action, outcome, target, detail,"
            " log_index, entry FROM events ORDER BY log_index"
        ).all()
        hashes = conn.exec_driver_sql("SELECT tenant_id, idx, hash FROM ledger_hashes").all()
    per_event = len(hashes) / max(len(events), 1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for first in range(0, len(events), group):
            chunk = events[first : first + group]
            cursor.executemany(
                "INSERT INTO bare_events (tenant_id, at, request_id, actor, action, outcome,"
                " target, detail, log_index, entry) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [tuple(row) for row in chunk],
            )
            lo, hi = int(first * per_event), int((first + len(chunk)) * per_event)
            cursor.executemany(
                "INSERT INTO bare_ledger_hashes (tenant_id, idx, hash) VALUES (%s,%s,%s)",
                [tuple(row) for row in hashes[lo:hi]],
            )
            raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    return len(events) / elapsed, len(events)


def _ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=100_000)
    parser.add_argument("--proof-size", type=int, default=1_000_000)
    parser.add_argument("--database", help="a new, empty database URL (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fk-ledger-bench-") as tmp:
        engine = make_engine(args.database or f"sqlite:///{Path(tmp) / 'bench.db'}")
        kind = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            session.add(Tenant(id=TENANT, name=TENANT, created_at=dt.datetime.now(dt.UTC)))
        journal, signed = SqlJournal(TENANT, SystemClock()), []
        sequencer = Sequencer(sessions, journal, checkpointer=_checkpointer(sessions, signed))
        with sequencer:
            paced = _paced(sequencer, args.rate, args.seconds, 0)
            paced_stats = (sequencer.stats.groups, sequencer.stats.entries, len(signed))
            ceiling = _saturated(sequencer, args.burst, len(paced.values))
        count, latency = len(paced.values), paced.values
        rate = count / (paced.last_ack - paced.first_submit)
        bare = None
        if kind == "PostgreSQL":
            bare = _bare_executemany(engine, max(1, round(paced_stats[1] / paced_stats[0])))
        _grow(sessions, journal, args.proof_size)
        size, inclusion, consistency = _proof_times(sessions)
        engine.dispose()
    raw = _raw_sha256_rate()
    groups, entries, checkpoints = paced_stats
    p50, p99 = _ms(latency, 50), _ms(latency, 99)
    mean_group = entries / max(groups, 1)
    print(f"paced: {count} events offered at {args.rate}/s for {args.seconds:g} s")
    print(f"  forgekeep appends ({kind}, durable){rate:12.0f}/s")
    print(f"  durable acknowledgement               p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    print(f"  {groups} groups of {mean_group:.0f} entries on average; {checkpoints} checkpoints")
    print(f"saturated: {args.burst} events as fast as they are taken  {ceiling:10.0f}/s")
    print(f"proofs from {kind} at {size} entries (1000 each, random):")
    print(f"  inclusion    p50 {_ms(inclusion, 50):.3f} ms  p99 {_ms(inclusion, 99):.3f} ms")
    print(f"  consistency  p50 {_ms(consistency, 50):.3f} ms  p99 {_ms(consistency, 99):.3f} ms")
    print(f"raw SHA-256 (64-byte inputs)            {raw:10.0f}/s")
    print(
        f"ratio: {raw / rate:.0f} raw hashes per paced append, {raw / ceiling:.0f} at the ceiling"
    )
    if bare is not None:
        bare_rate, rows = bare
        print(f"bare executemany of the same {rows} rows, same group size  {bare_rate:10.0f}/s")
        print(f"ratio: forgekeep's ceiling is {ceiling / bare_rate:.2f}x the bare executemany")


if __name__ == "__main__":
    main()
