"""Child process for test_upload_leases: hold one upload lease until killed.

usage: python _lease_child.py WORKSPACE VERSION_HEX   (passphrase from FORGEKEEP_PASSPHRASE)

Prints ``held PID`` (flushed) once the lease is held, then sleeps; the lease's
renewal thread keeps it alive until the parent kills the process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from forgekeep.service.assets.leases import upload_lease
from forgekeep.service.wiring import open_vault
from forgekeep.testing.internals import context_of


def main() -> None:
    home, version = Path(sys.argv[1]), sys.argv[2]
    passphrase = os.environ["FORGEKEEP_PASSPHRASE"].encode()
    with open_vault(home, passphrase=passphrase) as vault, upload_lease(context_of(vault), version):
        print(f"held {os.getpid()}", flush=True)
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main()
