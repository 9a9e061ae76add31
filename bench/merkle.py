"""Merkle log core: appends, proofs and verification at a million records.

Builds a :class:`MemoryHashes` of ``--size`` records (32-byte entries), then times,
over ``--samples`` random choices at that size:

* inclusion: ``inclusion_proof`` for a random index, ``verify_inclusion`` of it;
* consistency: ``consistency_proof`` from a random older size, ``verify_consistency``;
* ``tree_hash`` of a random size.

The reference is raw ``hashlib`` SHA-256 on 64-byte inputs (the size of a node
hash's children) in a tight loop: each operation is also given as its cost in
raw hashes, which shows the Python overhead on top of the hashing it must do.

    python bench/merkle.py [--size 1000000] [--samples 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Callable

from forgekeep.ledger.merkle import (
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)


def raw_sha256_rate(seconds: float = 1.0) -> float:
    """SHA-256 digests of 64-byte inputs per second, one thread."""
    data, sha, count = bytes(64), hashlib.sha256, 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(10_000):
            sha(data).digest()
        count += 10_000
    return count / elapsed


def build(size: int) -> tuple[MemoryHashes, float]:
    store = MemoryHashes()
    append = store.append
    started = time.perf_counter()
    for i in range(size):
        append(i.to_bytes(32, "big"))
    return store, time.perf_counter() - started


def _timed(samples: int, op: Callable[[int], object]) -> list[float]:
    """Seconds taken by ``op(k)`` for each sample ``k``."""
    out = []
    for k in range(samples):
        started = time.perf_counter()
        op(k)
        out.append(time.perf_counter() - started)
    return out


def measure(store: MemoryHashes, samples: int, rng: random.Random) -> dict[str, list[float]]:
    n = store.size
    root = tree_hash(n, store)
    indexes = [rng.randrange(n) for _ in range(samples)]
    olds = [rng.randrange(1, n + 1) for _ in range(samples)]
    old_roots = [tree_hash(m, store) for m in olds]
    leaves = [leaf_hash(i.to_bytes(32, "big")) for i in indexes]
    inc = [inclusion_proof(i, n, store) for i in indexes]
    con = [consistency_proof(m, n, store) for m in olds]
    return {
        "inclusion proof": _timed(samples, lambda k: inclusion_proof(indexes[k], n, store)),
        "inclusion verify": _timed(
            samples, lambda k: verify_inclusion(leaves[k], indexes[k], n, inc[k], root)
        ),
        "consistency proof": _timed(samples, lambda k: consistency_proof(olds[k], n, store)),
        "consistency verify": _timed(
            samples, lambda k: verify_consistency(olds[k], n, con[k], old_roots[k], root)
        ),
        "tree_hash": _timed(samples, lambda k: tree_hash(olds[k], store)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    raw = raw_sha256_rate()
    store, seconds = build(args.size)
    timings = measure(store, args.samples, random.Random(args.seed))
    _report(args, raw, seconds, timings)


def _report(
    args: argparse.Namespace, raw: float, seconds: float, timings: dict[str, list[float]]
) -> None:
    appends = args.size / seconds
    print(f"records: {args.size:,}; samples: {args.samples}; seed: {args.seed}")
    print(f"raw hashlib SHA-256, 64-byte inputs: {raw:,.0f} hashes/s ({1e6 / raw:.2f} µs each)")
    print(
        f"build: {seconds:.2f} s, {appends:,.0f} appends/s "
        f"(= {raw / appends:.1f} raw hashes per append; ~2 are hashing)"
    )
    print(f"{'operation':20} {'p50 µs':>9} {'p99 µs':>9} {'max µs':>9} {'p50 in raw hashes':>18}")
    for name, values in timings.items():
        cuts = statistics.quantiles(values, n=100)
        p50, p99 = statistics.median(values), cuts[98]
        print(
            f"{name:20} {p50 * 1e6:9.1f} {p99 * 1e6:9.1f} {max(values) * 1e6:9.1f} "
            f"{p50 * raw:18.1f}"
        )
    worst = max(statistics.quantiles(v, n=100)[98] for v in timings.values())
    print(f"slowest p99: {worst * 1e3:.3f} ms ({'under' if worst < 1e-3 else 'OVER'} 1 ms)")


if __name__ == "__main__":
    main()
