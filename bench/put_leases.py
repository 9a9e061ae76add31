"""What the upload lease (a database row, renewed by a timer thread) costs a put.

Puts small files through the Python API twice per round, interleaved: once as
shipped (the lease is claimed in its own transaction, renewed in the background
and released at the end), and once with the lease replaced by a no-op, the
reference measured in the same run on the same disk. Small puts show the fixed
cost of the lease best; on a large put it vanishes next to the encryption.
Also prints bare claim+release cycles per second.

    python bench/put_leases.py [--puts 40] [--rounds 3] [--kib 4] [--dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from forgekeep.config import KdfSection
from forgekeep.service.assets import leases as _leases
from forgekeep.service.assets import writing as assets
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, init_workspace
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"bench passphrase"


@contextlib.contextmanager
def _no_lease(_ctx: object, _version_hex: str) -> Iterator[object]:
    class _Free:
        def check(self, session: object) -> None:
            pass

    yield _Free()


def _puts(vault: object, count: int, size: int, tag: str) -> float:
    """Median seconds per put."""
    times = []
    for i in range(count):
        data = io.BytesIO(os.urandom(size))
        start = time.perf_counter()
        vault.assets.put(data, project="bench", name=f"{tag}-{i}.bin")  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cycles(ctx: object, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        version = f"{i:032x}"
        owner = _leases.take_over(ctx, version)  # type: ignore[arg-type]
        if owner is None:
            raise SystemExit(f"lease {version} is held elsewhere")
        _leases.release(ctx, version, owner)  # type: ignore[arg-type]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kib", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        home = Path(tmp) / "ws"
        ids = init_workspace(
            home,
            passphrase=PASSPHRASE,
            admin=AdminSpec("Bench", ("DE",), "DE"),
            kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
        )
        text = (home / "forgekeep.toml").read_text()
        (home / "forgekeep.toml").write_text(
            text.replace("trusted_issuers = []", f'trusted_issuers = ["{ISSUER.vkey}"]')
        )
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            ISSUER.vet(vault, ids.principal_id, context_of(vault).clock)
            vault.projects.create("bench", residency="DE")
            leased, free = [], []
            real = assets.upload_lease
            for r in range(args.rounds):
                leased.append(_puts(vault, args.puts, args.kib * 1024, f"l{r}"))
                assets.upload_lease = _no_lease  # type: ignore[assignment]
                try:
                    free.append(_puts(vault, args.puts, args.kib * 1024, f"f{r}"))
                finally:
                    assets.upload_lease = real
            cycles = _cycles(context_of(vault), 200)
    with_lease, without = statistics.median(leased), statistics.median(free)
    print(f"put of {args.kib} KiB, median of {args.rounds} rounds x {args.puts} puts (SQLite)")
    print(f"  with the database lease   {with_lease * 1000:8.2f} ms")
    print(f"  lease replaced by a no-op {without * 1000:8.2f} ms   (reference, same run)")
    print(f"  cost of the lease         {(with_lease - without) * 1000:8.2f} ms "
          f"({with_lease / without:.2f}x)")  # fmt: skip
    print(f"lease claim + release cycles: {cycles:,.0f} per second")


if __name__ == "__main__":
    main()
