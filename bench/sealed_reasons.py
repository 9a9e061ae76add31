"""What sealing a refusal's reasons costs, beside the same refusal kept open.

Runs, in one process, on one embedded workspace:

* the journaled detail of a refusal whose codes stay open (a machine's);
* the same for a person, whose codes are sealed under their subject key
  (one key unwrap and one AES-256-GCM seal);
* a whole refused ``get`` by that person (authenticate, Cedar, seal, journal),
  for scale.

Prints the median and p99 per call, and the sealing overhead.

    python bench/sealed_reasons.py [--calls 500]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from forgekeep.clock import SystemClock
from forgekeep.config import KdfSection
from forgekeep.errors import AccessDeniedError
from forgekeep.service.access.sealed_reasons import refusal_detail
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, init_workspace
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"bench passphrase"


def _timed(calls: int, run: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return samples


def _report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
    print(f"{name:44} median {median * 1e6:9.1f} µs   p99 {p99 * 1e6:9.1f} µs")
    return median


def _stock(vault: Vault) -> tuple[str, str]:
    clock = SystemClock()
    ISSUER.vet(vault, vault.principal_id, clock)
    vault.projects.create("p", residency="DE")
    vault.assets.put(io.BytesIO(b"part"), project="p", name="part.step")
    vault.assets.classify("part.step", export="ITAR:XI")
    person = vault.principals.add_person(
        org="home", display_name="Dana", citizenships=["CN", "DE"], location="DE",
        roles=["reader"],
    ).id  # fmt: skip
    ISSUER.vet(vault, person, clock)
    machine = vault.principals.add_machine(
        org="home", roles=["reader"], fingerprints=["ab" * 32]
    ).id
    return person, machine


DENIED = AccessDeniedError(
    "asset.get refused",
    reasons=("citizenship-outside-export-authorisation",),
    policies=("guard/itar-every-citizenship",),
)


def _details(vault: Vault, actor: str, calls: int) -> list[float]:
    ctx = context_of(vault)

    def run() -> object:
        with ctx.sessions() as session:
            return refusal_detail(session, ctx.key_manager, ctx.tenant_id, actor, "req-0", DENIED)

    return _timed(calls, run)


def _refused_gets(vault: Vault, calls: int) -> list[float]:
    def run() -> None:
        try:
            vault.assets.get("part.step", io.BytesIO())
        except AccessDeniedError:
            return
        raise AssertionError("the read was expected to be refused")

    return _timed(calls, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        init_workspace(
            home, passphrase=PASSPHRASE, admin=AdminSpec("Ada", ("DE",), "DE"),
            trusted_issuers=[ISSUER.vkey], kdf=KdfSection(memory_kib=1024, iterations=1, lanes=1),
        )  # fmt: skip
        with open_vault(home, passphrase=PASSPHRASE) as admin:
            person, machine = _stock(admin)
            kept_open = _report("refusal detail, open (a machine)", _details(admin, machine, calls))
            sealed = _report("refusal detail, sealed (a person)", _details(admin, person, calls))
        with open_vault(home, passphrase=PASSPHRASE, principal=person) as dana:
            whole = _report("whole refused get, sealed (a person)", _refused_gets(dana, calls // 5))
    extra = sealed - kept_open
    share = 100 * extra / whole
    print(f"sealing adds {extra * 1e6:.1f} µs per refusal, {share:.1f}% of a refused get")


if __name__ == "__main__":
    main()
