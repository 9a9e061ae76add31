"""A real full disk for tests: small tmpfs mounts (needs root or CAP_SYS_ADMIN).

Tests that use it must fail, not skip, when ``CI`` is set and the mount is
refused: CI has to run the real full-disk tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def try_mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` (e.g. ``"2m"``) at ``where``; the reason it failed, or None."""
    command = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)]
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv; only the mount point varies)
            command, capture_output=True, text=True, check=False, timeout=30
        )
    except OSError as exc:
        return f"cannot run mount: {exc}"
    if done.returncode != 0:
        return f"mount -t tmpfs failed (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}"
    return None


def unmount(where: Path) -> None:
    subprocess.run(["umount", str(where)], check=True, timeout=30)  # noqa: S603, S607 (system tool)
