"""Child process for the constant-memory test: one put or one get, then its peak RSS."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from forgekeep.config import KdfSection
from forgekeep.crypto.signed import encode_vkey, generate_signer
from forgekeep.identity.vetting import issue_vetting_record
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, init_workspace

PASSPHRASE = b"memory-test"


def peak_rss_bytes() -> int:
    """This process's own RSS high-water mark.

    Not ``ru_maxrss``: Linux carries it over from the parent across fork and exec,
    so a child of a large pytest process would report the parent's peak.
    """
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    op, home, path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if op == "put":
        issuer = generate_signer("security-office.test")
        ids = init_workspace(
            home,
            passphrase=PASSPHRASE,
            admin=AdminSpec("m", ("DE",), "DE"),
            trusted_issuers=[encode_vkey(issuer.verifier)],
            kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
        )
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            vault.vetting.import_record(
                issue_vetting_record(
                    issuer, subject=ids.principal_id, clearance=3, expires=expires, evidence="m"
                )
            )
            vault.projects.create("mem", residency="DE")
            vault.assets.put(path, project="mem", name="big.bin")
    else:
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            vault.assets.get("big.bin", path)
    print(peak_rss_bytes())


if __name__ == "__main__":
    main()
