"""Child process for the constant-memory test: one put or one get, then its peak RSS."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from forgekeep.config import KdfSection
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace import init_workspace

PASSPHRASE = b"memory-test"


def main() -> None:
    op, home, path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if op == "put":
        init_workspace(
            home,
            passphrase=PASSPHRASE,
            admin_name="m",
            kdf=KdfSection(memory_kib=64, iterations=1, lanes=1),
        )
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            vault.create_project("mem", residency="DE")
            vault.put(path, project="mem", name="big.bin")
    else:
        with open_vault(home, passphrase=PASSPHRASE) as vault:
            vault.get("big.bin", path)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


if __name__ == "__main__":
    main()
