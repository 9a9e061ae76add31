"""Fixtures for the crash, full-disk and tamper tests: runners, workspaces, tmpfs mounts.

The CLI harness lives in ``tests/cli/fk_cli_harness.py`` and is shared with the
CLI tests. Every test gets a clean environment (no stray ``FORGEKEEP_*``), the
test passphrase and a private ``XDG_RUNTIME_DIR``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forgekeep.testing.tmpfs import try_mount_tmpfs, unmount

_HARNESS_DIR = Path(__file__).resolve().parents[1] / "cli"
if str(_HARNESS_DIR) not in sys.path:
    sys.path.insert(0, str(_HARNESS_DIR))

from fk_cli_harness import (  # noqa: E402 (fixtures, registered by importing them here)
    _test_environment,
    base_template,
    fk,
    fk_sub,
    ws,
    xdg,
)

__all__ = ["MountTmpfs", "_test_environment", "base_template", "fk", "fk_sub", "ws", "xdg"]

#: ``mount_tmpfs(size)`` -> a fresh mount point of that size (e.g. "4m"), unmounted afterwards.
MountTmpfs = Callable[[str], Path]


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[MountTmpfs]:
    """Mount small tmpfs file systems: a real full disk. Unmounted in teardown.

    Without the privilege to mount, the test is skipped with the reason, except in
    CI (``CI`` set), where it fails: CI must run the real full-disk tests.
    """
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        where = tmp_path / f"tmpfs-{len(mounted)}"
        where.mkdir()
        problem = try_mount_tmpfs(where, size)
        if problem is not None:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the real full-disk tests: {problem}")
            pytest.skip(f"{problem}; the real full-disk tests need a tmpfs mount")
        mounted.append(where)
        return where

    try:
        yield mount
    finally:
        for where in reversed(mounted):
            unmount(where)
