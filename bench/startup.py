"""Start-up time of the ``forgekeep`` command beside a bare interpreter, in one run.

Every case is a fresh child process (stdout and stderr to /dev/null):

* ``python -c pass``: the reference every ratio is taken against;
* ``python -c "import typer"``: what the CLI framework alone costs;
* ``python -c "import typer.rich_utils"``: what Typer's Rich help layout would add;
* ``python -c "import sqlalchemy.orm, pydantic_settings, …"``: the libraries ``ls``
  cannot do without, imported alone (a floor for ``ls``);
* ``forgekeep --help``, ``forgekeep --version`` and ``forgekeep ledger --help``;
* ``forgekeep ls`` on a small workspace made here (cheap KDF as in the tests, a vetted
  admin, one project, ``--assets`` small files), opened with the passphrase.

Rounds are interleaved (each case once per round, the order rotated), so a burst of
load on the machine hits every case alike. For each case it prints the min and median
wall time and child CPU time (user + sys), and the ratio of its medians to the
reference's. Children run with bytecode caching on, after one discarded warm-up, as an
installed package does.

    python bench/startup.py [--runs 20] [--assets 20] [--compare OTHER/src]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSPHRASE = b"bench only: start-up"
HELP_GOAL, HELP_FLOOR = 10.0, 15.0  # x `python -c pass`
LS_TARGET_S = 0.4
#: The libraries `forgekeep ls` cannot do without: the database, configuration, logging,
#: Cedar, the keyring's cipher, the CLI and its table.
LS_LIBRARIES = (
    "import sqlalchemy.orm, pydantic_settings, structlog, cedarpy, typer, rich.table, "
    "cryptography.hazmat.primitives.ciphers.aead"
)


@dataclass
class Case:
    name: str
    argv: list[str]
    wall: list[float]
    cpu: list[float]


#: Runs the CLI of another source tree (``--compare``) instead of the installed one.
_RUN_FROM = "import sys; sys.path.insert(0, {src!r}); from forgekeep.cli.main import run; run()"


def _python(statement: str) -> Case:
    shown = statement if len(statement) < 28 else "import <what ls needs>"
    return Case(f"python -c '{shown}'", [sys.executable, "-c", statement], [], [])


def _entry_point() -> list[str]:
    beside = Path(sys.executable).with_name("forgekeep")
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "forgekeep"]


def make_workspace(root: Path, assets: int) -> Path:
    """An embedded workspace with a vetted admin and ``assets`` small files in project p1."""
    from forgekeep.clock import SystemClock
    from forgekeep.config import KdfSection
    from forgekeep.service.wiring import open_vault
    from forgekeep.service.workspace.create import AdminSpec, init_workspace
    from forgekeep.testing.vetting import ISSUER

    created = init_workspace(
        root / "ws",
        passphrase=PASSPHRASE,
        admin=AdminSpec("Bench Admin", ("DE",), "DE", org="home"),
        trusted_issuers=[ISSUER.vkey],
        kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
    )
    with open_vault(created.home, passphrase=PASSPHRASE) as vault:
        ISSUER.vet(vault, created.principal_id, SystemClock())
    with open_vault(created.home, passphrase=PASSPHRASE) as vault:
        vault.projects.create("p1", residency="DE")
        for n in range(assets):
            vault.assets.put(io.BytesIO(os.urandom(1024)), project="p1", name=f"part-{n:03}.step")
    return created.home


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(case: Case, env: dict[str, str]) -> None:
    cpu0, wall0 = _child_cpu(), time.perf_counter()
    done = subprocess.run(
        case.argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    case.wall.append(time.perf_counter() - wall0)
    case.cpu.append(_child_cpu() - cpu0)
    if done.returncode != 0:
        raise SystemExit(f"{case.name} exited {done.returncode}")


def measure(cases: list[Case], env: dict[str, str], runs: int) -> None:
    for case in cases:  # warm-up: writes bytecode caches, fills the page cache
        _run(case, env)
        case.wall.clear()
        case.cpu.clear()
    for round_ in range(runs):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            _run(case, env)


def report(cases: list[Case]) -> None:
    ref = cases[0]
    ref_wall, ref_cpu = statistics.median(ref.wall), statistics.median(ref.cpu)
    head = ("case", "wall min", "median", "cpu min", "median", "x wall", "x cpu")
    print(f"{head[0]:38}" + "".join(f"{h:>10}" for h in head[1:]))
    for case in cases:
        wall, cpu = statistics.median(case.wall), statistics.median(case.cpu)
        times = [min(case.wall), wall, min(case.cpu), cpu]
        print(
            f"{case.name:38}"
            + "".join(f"{t * 1e3:8.1f}ms" for t in times)
            + f"{wall / ref_wall:9.1f}x{cpu / ref_cpu:9.1f}x"
        )
    by_name = {case.name: case for case in cases}
    helped = statistics.median(by_name["forgekeep --help"].wall) / ref_wall
    verdict = (
        "goal met" if helped <= HELP_GOAL else "floor met" if helped <= HELP_FLOOR else "MISSED"
    )
    goals = f"goal {HELP_GOAL:.0f}x, floor {HELP_FLOOR:.0f}x"
    print(f"\nforgekeep --help: {helped:.1f}x python -c pass ({goals}): {verdict}")
    listed = statistics.median(by_name["forgekeep ls"].wall)
    verdict = "met" if listed <= LS_TARGET_S else "MISSED"
    print(f"forgekeep ls: {listed:.2f} s median wall (target {LS_TARGET_S} s): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds (each case once per round)")
    parser.add_argument("--assets", type=int, default=20, help="files in the ls workspace")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="SRC",
        help="also time --help and ls from another source tree, in the same rounds "
        "(e.g. `git archive main src | tar -x -C /tmp/main`, then --compare /tmp/main/src)",
    )
    args = parser.parse_args()
    fk = _entry_point()
    with tempfile.TemporaryDirectory(prefix="fk-startup-") as tmp:
        home = make_workspace(Path(tmp), args.assets)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORGEKEEP_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(FORGEKEEP_PASSPHRASE=PASSPHRASE.decode(), XDG_RUNTIME_DIR=tmp)
        cases = [
            _python("pass"),
            _python("import typer"),
            _python("import typer.rich_utils"),
            _python(LS_LIBRARIES),
            Case("forgekeep --help", [*fk, "--help"], [], []),
            Case("forgekeep --version", [*fk, "--version"], [], []),
            Case("forgekeep ledger --help", [*fk, "ledger", "--help"], [], []),
            Case("forgekeep ls", [*fk, "--workspace", str(home), "ls"], [], []),
        ]
        if args.compare is not None:
            other = [sys.executable, "-c", _RUN_FROM.format(src=str(args.compare.resolve()))]
            cases += [
                Case("compared: forgekeep --help", [*other, "--help"], [], []),
                Case("compared: forgekeep ls", [*other, "--workspace", str(home), "ls"], [], []),
            ]
        measure(cases, env, args.runs)
    print(f"{args.runs} interleaved rounds; {args.assets} assets in the ls workspace\n")
    report(cases)


if __name__ == "__main__":
    main()
