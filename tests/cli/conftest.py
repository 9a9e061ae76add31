"""Fixtures for the CLI tests: one cheap workspace template, in-process and subprocess runners.

Every test gets a clean environment (no stray ``FORGEKEEP_*``), the test
passphrase in ``FORGEKEEP_PASSPHRASE`` and a private ``XDG_RUNTIME_DIR`` so an
unlock agent never touches the user's own.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The harness is shared with tests/integration; make it importable from both.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from fk_cli_harness import (
    EnvOverrides,
    InProcess,
    Result,
    Sub,
    init_workspace,
    run_subprocess,
    short_tempdir,
    use_test_environment,
)


@pytest.fixture(scope="session")
def xdg() -> Iterator[Path]:
    with short_tempdir("fk-cli-xdg-") as path:
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
def template(tmp_path_factory: pytest.TempPathFactory, xdg: Path) -> Path:
    """An initialized workspace with project ``p1``; copy it, never use it directly."""
    home = tmp_path_factory.mktemp("template") / "ws"
    init_workspace(home, xdg=xdg)
    return home


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template workspace."""
    home = tmp_path / "ws"
    shutil.copytree(template, home, symlinks=True)
    return home
