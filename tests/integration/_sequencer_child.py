"""Child for test_sequencer_kill9: appends through a sequencer until it is killed.

Prints ``<first index> <request id>`` for every acknowledged append, flushed, so
the parent knows exactly which appends were acknowledged as durable.

Arguments: DATABASE (an SQLite path or a database URL), TENANT, and optionally
EVENTS (per append, default 2), LIMIT (appends, then exit; default unbounded)
and NAME (prefix of request ids, to tell processes apart).
"""

from __future__ import annotations

import sys
import threading

from forgekeep.clock import SystemClock
from forgekeep.db.engine import make_engine, make_sessionmaker
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.ledger.sequencer import Sequencer, SequencerLimits


def main(database: str, tenant: str, per_append: int, limit: int, name: str) -> None:
    url = database if "://" in database else f"sqlite:///{database}"
    sessions = make_sessionmaker(make_engine(url))
    limits = SequencerLimits(max_batch=50, max_delay=0.002)
    lock = threading.Lock()

    def caller(worker: int) -> None:
        for n in range(worker, limit, 8):
            request = f"req-{name}-{n}"
            event = JournalEvent("asset.get", Outcome.OK, "p-1", "blade/a", request, {"n": n})
            indexes = sequencer.append([event] * per_append, timeout=60)
            with lock:
                sys.stdout.write(f"{indexes.start} {request}\n")
                sys.stdout.flush()

    with Sequencer(
        sessions, SqlJournal(tenant, SystemClock()), checkpointer=None, limits=limits
    ) as sequencer:
        workers = [threading.Thread(target=caller, args=(w,), daemon=True) for w in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


if __name__ == "__main__":
    per_append = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    main(sys.argv[1], sys.argv[2], per_append, limit, sys.argv[5] if len(sys.argv) > 5 else "a")
