"""What the embedded checkpoint cadence costs each command: a checkpoint signed as the vault closes.

Runs, in one process, on a fresh workspace (cheap KDF) whose log is first
filled to ``--log-size`` entries:

* a command: open the vault, ``ls``, close it, with the close checkpoint
  (what every CLI command now does);
* the close checkpoint alone (``ledger_cadence.sign_if_grown``: one size query,
  one entry read, unwrapping the log key, the root, an Ed25519 signature, the
  mirrored note and tiles, one row), timed inside the same commands;
* ``ledger verify`` once, for scale.

Prints medians and p90 in milliseconds.

    python bench/close_checkpoint.py [--commands 50] [--log-size 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from forgekeep.clock import SystemClock
from forgekeep.config import KdfSection
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.service.ledger import cadence as ledger_cadence
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, init_workspace
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"bench passphrase, not a secret"
CHEAP_KDF = KdfSection(memory_kib=64, iterations=1, lanes=1)


def _fill(home: Path, count: int) -> None:
    with open_vault(home, passphrase=PASSPHRASE) as vault:
        ctx = context_of(vault)
        if not isinstance(ctx.journal, SqlJournal):
            raise TypeError("the bench needs the SQL journal")
        for start in range(0, count, 10_000):
            events = [
                JournalEvent("bench.fill", Outcome.OK, vault.principal_id, f"t{i}", f"req-{i:016x}")
                for i in range(start, min(count, start + 10_000))
            ]
            with ctx.sessions.begin() as session:
                ctx.journal.append_many(session, events)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1e3:7.2f} ms   p90 {p90 * 1e3:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--log-size", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fk-bench-") as scratch:
        home = Path(scratch) / "ws"
        admin = AdminSpec("Bench Admin", ("DE",), "DE", org="home")
        made = init_workspace(
            home, passphrase=PASSPHRASE, admin=admin, trusted_issuers=[ISSUER.vkey], kdf=CHEAP_KDF
        )
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            ISSUER.vet(vault, made.principal_id, SystemClock())
            vault.projects.create("bench", residency="DE")
        _fill(home, args.log_size)
        commands, closes = [], []
        for _ in range(args.commands):
            began = time.perf_counter()
            with open_vault(home, passphrase=PASSPHRASE) as vault:
                opened_at = context_of(vault).clock.now()
                vault.assets.ls()  # one journaled read
                signing = time.perf_counter()
                signed = ledger_cadence.sign_if_grown(context_of(vault), opened_at)
                closes.append(time.perf_counter() - signing)
                if signed is None:
                    raise RuntimeError("the close checkpoint was not signed")
            commands.append(time.perf_counter() - began)
        began = time.perf_counter()
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            vault.ledger.verify()
        verify = time.perf_counter() - began
    print(f"log of {args.log_size:,} entries, {args.commands} commands (open, ls, close)")
    print(f"  whole command, close checkpoint included  {_ms(commands)}")
    print(f"  the close checkpoint alone                {_ms(closes)}")
    share = statistics.median(closes) / statistics.median(commands)
    print(f"  share of the command                      {share:7.1%}")
    print(f"  ledger verify of the whole log            {verify * 1e3:7.0f} ms (for scale)")


if __name__ == "__main__":
    main()
