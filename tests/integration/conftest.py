"""Fixtures for the crash, full-disk and tamper tests: runners, workspaces, tmpfs mounts.

The CLI harness lives in ``tests/cli/fk_cli_harness.py`` and is shared with the
CLI tests. Every test gets a clean environment (no stray ``FORGEKEEP_*``), the
test passphrase and a private ``XDG_RUNTIME_DIR``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HARNESS_DIR = Path(__file__).resolve().parents[1] / "cli"
if str(_HARNESS_DIR) not in sys.path:
    sys.path.insert(0, str(_HARNESS_DIR))

from fk_cli_harness import (  # noqa: E402
    EnvOverrides,
    InProcess,
    Result,
    Sub,
    init_workspace,
    run_subprocess,
    short_tempdir,
    use_test_environment,
)

#: ``mount_tmpfs(size)`` -> a fresh mount point of that size (e.g. "4m"), unmounted afterwards.
MountTmpfs = Callable[[str], Path]


@pytest.fixture(scope="session")
def xdg() -> Iterator[Path]:
    with short_tempdir("fk-int-xdg-") as path:
        yield path


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch, xdg: Path) -> None:
    use_test_environment(monkeypatch, xdg)


@pytest.fixture
def fk(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> InProcess:
    """Run the CLI in this process: ``fk("--workspace", W, "ls")``."""
    return InProcess(capsys, monkeypatch)


@pytest.fixture
def fk_sub(xdg: Path) -> Sub:
    """Run the installed entry point in a child process."""

    def sub(*args: str, env: EnvOverrides | None = None, cwd: Path | None = None) -> Result:
        return run_subprocess(args, xdg=xdg, env=env, cwd=cwd)

    return sub


@pytest.fixture(scope="session")
def base_template(tmp_path_factory: pytest.TempPathFactory, xdg: Path) -> Path:
    """An initialized workspace with project ``p1``; copy it, never use it directly."""
    home = tmp_path_factory.mktemp("int-template") / "ws"
    init_workspace(home, xdg=xdg)
    return home


@pytest.fixture
def ws(base_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the base template."""
    home = tmp_path / "ws"
    shutil.copytree(base_template, home, symlinks=True)
    return home


def _mount(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``where``; return why it could not be mounted, or None."""
    command = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except OSError as exc:
        return f"cannot run mount: {exc}"
    if done.returncode != 0:
        return f"mount -t tmpfs failed (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}"
    return None


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
        problem = _mount(where, size)
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
            subprocess.run(["umount", str(where)], check=True, timeout=30)
