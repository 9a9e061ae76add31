"""Slow clients against a real witness: memory and time-to-drop, bounded runner vs unbounded.

Each phase starts its own witness child process on 127.0.0.1, opens ``--clients`` slow
connections (half trickle a TLS ClientHello, a quarter trickle a request head after
their handshake, a quarter trickle a body), keeps trickling one byte per connection every
``--interval`` seconds for ``--hold`` seconds, and meanwhile asks for one cosignature as
a normal client would. It prints the witness's RSS (psutil), how many slow clients were
dropped and how long each was held, and the normal client's latency.

Phases:

* ``bounded``: ``forgekeep witness run`` with ``[http]`` deadlines of 4 s (header, body)
  and room for every client (``max_connections`` and ``max_requests`` above
  ``--clients``), so each is held until its deadline;
* ``bounded, small cap``: deadlines of 4 s and ``max_connections = 256`` (other values
  default): the rest are closed at accept, slow bodies past ``max_requests`` get 503;
* ``unbounded (before)``: the same witness app on uvicorn as the runner served it before
  these limits (asyncio TLS at accept, no deadlines, no caps): the reference.

    python bench/runner_slowloris.py                # 2,000 clients, about a minute
    python bench/runner_slowloris.py --clients 500 --hold 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from forgekeep.runner.settings import HttpLimits
from forgekeep.testing.slowloris import SlowLoris
from forgekeep.testing.witness import RunningWitness, start_witness

_UNBOUNDED = """
import sys
from pathlib import Path
import uvicorn
import forgekeep.cli.main  # the imports of `forgekeep witness run`, so idle RSS compares
from forgekeep.runner._protocol import PeerCertH11Protocol
from forgekeep.witness.app import Witness, create_app
from forgekeep.witness.state import load_config

w = load_config(Path(sys.argv[1]))
config = uvicorn.Config(
    create_app(Witness.from_dir(w)), host="127.0.0.1", port=w.config.listen.port,
    http=PeerCertH11Protocol, ws="none", log_config=None,
    ssl_certfile=w.tls_cert, ssl_keyfile=w.tls_key,
)
uvicorn.Server(config).run()
"""
_MIB = 1 << 20


def _limits(clients: int, cap: int | None) -> HttpLimits:
    if cap is not None:
        return HttpLimits(max_connections=cap, header_timeout_seconds=4.0, body_timeout_seconds=4.0)
    return HttpLimits(
        max_connections=clients + 100,
        max_requests=clients,  # every slow body is held to its deadline
        header_timeout_seconds=4.0,
        body_timeout_seconds=4.0,
        idle_timeout_seconds=2.0,
    )


def _open(loris: SlowLoris, clients: int, process: psutil.Process, peak: list[int]) -> None:
    kinds = [("body", clients // 4), ("head", clients // 4), ("tls", clients - clients // 2)]
    for kind, count in kinds:
        for start in range(0, count, 100):
            loris.open(kind, min(100, count - start))  # type: ignore[arg-type]
            loris.poll()
            peak[0] = max(peak[0], process.memory_info().rss)


def _hold(loris: SlowLoris, witness: RunningWitness, hold: float, peak: list[int]) -> float | None:
    process = psutil.Process(witness.process.pid)
    end, latency = time.monotonic() + hold, None
    asked = False
    while time.monotonic() < end:
        loris.poll()
        peak[0] = max(peak[0], process.memory_info().rss)
        if not asked and time.monotonic() > end - hold / 2:
            asked, start = True, time.monotonic()
            try:
                witness.cosign(timeout=10)
                latency = time.monotonic() - start
            except Exception as exc:  # noqa: BLE001 (a refused normal client is a figure)
                print(f"    normal client failed: {type(exc).__name__}: {exc}")
        time.sleep(0.05)
    return latency


def _report(name: str, loris: SlowLoris, base: int, peak: int, latency: float | None) -> None:
    print(f"{name}:")
    print(f"  RSS before {base / _MIB:.0f} MiB, peak {peak / _MIB:.0f} MiB", end="")
    print(f" (+{(peak - base) / _MIB:.0f} MiB)")
    for kind in ("tls", "head", "body"):
        held = [c.held_seconds for c in loris.clients if c.kind == kind]
        dropped = sorted(h for h in held if h is not None)
        line = f"  {kind:>4}: {len(dropped)}/{len(held)} dropped"
        if dropped:
            line += f", held median {statistics.median(dropped):.1f} s, max {dropped[-1]:.1f} s"
        print(line)
    shown = "refused or timed out" if latency is None else f"{latency * 1000:.0f} ms"
    print(f"  normal client's cosignature while held: {shown}")


def _phase(name: str, args: argparse.Namespace, cap: int | None, *, unbounded: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", _UNBOUNDED] if unbounded else None
        witness = start_witness(Path(tmp), _limits(args.clients, cap), command)
        loris = SlowLoris("127.0.0.1", witness.port, interval=args.interval)
        try:
            witness.cosign()
            process = psutil.Process(witness.process.pid)
            base = process.memory_info().rss
            peak = [base]
            _open(loris, args.clients, process, peak)
            latency = _hold(loris, witness, args.hold, peak)
            _report(name, loris, base, peak[0], latency)
        finally:
            loris.close()
            witness.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--hold", type=float, default=12.0, help="seconds of trickling")
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between bytes")
    args = parser.parse_args()
    print(f"{args.clients} slow clients, one byte per {args.interval} s, held {args.hold} s")
    _phase("bounded ([http] header/body 4 s)", args, None, unbounded=False)
    _phase("bounded, small cap (max_connections 256)", args, 256, unbounded=False)
    _phase("unbounded (before)", args, None, unbounded=True)


if __name__ == "__main__":
    main()
