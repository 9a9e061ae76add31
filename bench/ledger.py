"""Ledger appends per second on SQLite, with group commit and 1-second checkpoints.

Journals ``--events`` events through ``SqlJournal.append_many`` (the production
path: canonical JSON entry, log index, stored Merkle hashes, events row) in
groups of ``--group`` per durable transaction (SQLite WAL, ``synchronous=FULL``).
At least once a second while entries arrive, the tree root is computed from the
stored hashes and an Ed25519 checkpoint is signed, as the log does.

Prints appends per second, the durable acknowledgement latency of a group
(every event in a group is acknowledged when its transaction commits: p50/p99),
the time of an inclusion proof read from SQLite at the final size, and the raw
SHA-256 rate as the reference.

    python bench/ledger.py [--events 100000] [--group 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from forgekeep.clock import SystemClock
from forgekeep.crypto.signed import generate_signer
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.models import Tenant
from forgekeep.ledger import log, merkle
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal

TENANT = "t-bench"


def _event(i: int) -> JournalEvent:
    return JournalEvent(
        action="asset.get",
        outcome=Outcome.OK,
        actor="p-0123456789abcdef01234567",
        target=f"blade/part-{i % 5000}.step",
        request_id=f"req-{i:016x}",
        detail={"policy": "baseline/owner-read", "asset": f"a-{i % 5000:024x}", "size": i},
    )


def _raw_sha256_rate() -> float:
    data, count, started = bytes(64), 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        for _ in range(10_000):
            hashlib.sha256(data).digest()
        count += 10_000
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--group", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fk-ledger-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            session.add(Tenant(id=TENANT, name=TENANT, created_at=dt.datetime.now(dt.UTC)))
        journal, signer = SqlJournal(TENANT, SystemClock()), generate_signer(f"forgekeep/{TENANT}")
        acks, checkpoints, last_checkpoint = [], 0, time.perf_counter()
        started = time.perf_counter()
        for first in range(0, args.events, args.group):
            batch = [_event(i) for i in range(first, min(first + args.group, args.events))]
            t0 = time.perf_counter()
            with sessions.begin() as session:
                journal.append_many(session, batch)
            acks.append(time.perf_counter() - t0)
            if time.perf_counter() - last_checkpoint >= 1.0:
                with sessions() as session:
                    size = log.log_size(session, TENANT)
                    root = log.root(session, TENANT, size)
                sign_checkpoint(Checkpoint(f"forgekeep/{TENANT}", size, root), signer)
                checkpoints, last_checkpoint = checkpoints + 1, time.perf_counter()
        elapsed = time.perf_counter() - started
        with sessions() as session:
            size = log.log_size(session, TENANT)
            reader = log.SqlHashes(session, TENANT)
            proof_times = []
            for index in range(0, size, max(1, size // 200)):
                t0 = time.perf_counter()
                merkle.inclusion_proof(index, size, reader)
                proof_times.append(time.perf_counter() - t0)
        engine.dispose()
    rate, raw = args.events / elapsed, _raw_sha256_rate()
    p50, p99 = statistics.median(acks) * 1e3, statistics.quantiles(acks, n=100)[98] * 1e3
    print(f"{args.events} events in groups of {args.group}, {checkpoints} checkpoints signed")
    print(f"forgekeep appends (SQLite, durable)  {rate:10.0f}/s")
    print(f"group commit acknowledgement          p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    proof_p99 = statistics.quantiles(proof_times, n=100)[98] * 1e3
    print(
        f"inclusion proof from SQLite at {size}: p50 {statistics.median(proof_times) * 1e3:.3f}"
        f" ms  p99 {proof_p99:.3f} ms"
    )
    print(f"raw SHA-256 (64-byte inputs)          {raw:10.0f}/s")
    print(f"ratio: {raw / rate:.0f} raw hashes per durable append")


if __name__ == "__main__":
    main()
