"""Fixtures for the crash, full-disk and tamper tests: runners, workspaces, tmpfs mounts.

The CLI harness lives in ``tests/cli/fk_cli_harness.py`` and is shared with the
CLI tests. Every test gets a clean environment (no stray ``FORGEKEEP_*``), the
test passphrase and a private ``XDG_RUNTIME_DIR``. ``ws`` runs on SQLite and on
PostgreSQL (the ``database`` fixture), except for the tests in :data:`SQLITE_ONLY`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

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
    keep_on_sqlite,
    postgres_template,
    ws,
    xdg,
)

__all__ = [
    "MountTmpfs",
    "_test_environment",
    "base_template",
    "fk",
    "fk_sub",
    "postgres_template",
    "ws",
    "xdg",
]

#: Tests of ``ws`` that run on SQLite only: what they break is a blob or the output
#: file, and the database only journals the refusal. On PostgreSQL too run a put onto
#: a full site (its upload rows must go), the truncated, missing and swapped blobs, and
#: the broken tail of the log (raw edits of the database).
SQLITE_ONLY: Final[dict[str, frozenset[str]]] = {
    "test_tamper_cli.py": frozenset(
        {
            "test_flipped_byte_is_refused",
            "test_flipped_byte_on_stdout_fails_before_the_damage",
            "test_flipped_byte_through_the_entry_point",
            "test_flipped_header_byte_is_refused",
        }
    ),
    "test_full_disk.py": frozenset(
        {
            "test_get_onto_a_full_disk",
            "test_get_onto_a_full_disk_hints_at_the_output",
            "test_get_to_stdout_onto_a_full_disk",
        }
    ),
}


@pytest.hookimpl(tryfirst=True)  # before the fixtures' own parameters are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    keep_on_sqlite(metafunc, SQLITE_ONLY)


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
