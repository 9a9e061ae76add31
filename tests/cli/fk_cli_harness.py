"""Running the ``forgekeep`` CLI from tests: in-process (cheap) or as a real subprocess.

Shared by ``tests/cli`` and ``tests/integration`` (whose conftest puts this
directory on ``sys.path``). Both runners return a :class:`Result` that knows the error contract of
CLI.md: ``error[FK-…]: message`` then ``hint: …`` on stderr, and the exit code.

The ``ws`` fixture is a copy of a workspace made once per session through the CLI,
on SQLite and on PostgreSQL (``init --database-url``), as the ``database`` fixture
of tests/conftest.py chooses; :func:`query` and :func:`execute` reach either database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from forgekeep._durable import TEMP_PREFIX
from forgekeep.cli.main import run
from forgekeep.service.workspace.create import DatabaseChoice
from forgekeep.testing.postgres import CleanDatabases, copy_rows
from forgekeep.testing.rawdb import workspace_engine
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = "tests only: correct horse battery staple"  # noqa: S105 (test-only)
#: ``init`` arguments for tests: cheap KDF, the first admin's identity, the test issuer.
CHEAP_KDF = (
    "--kdf-memory-kib", "64", "--kdf-iterations", "1",
    "--citizenship", "DE", "--location", "DE", "--trust-issuer", ISSUER.vkey,
)  # fmt: skip
PROJECT = "p1"
SITE = Path("sites") / "local-de"

ERROR_LINE = re.compile(r"^error\[(FK-[A-Z]+-\d{3})\]: (\S.*)$")
HINT_LINE = re.compile(r"^hint: \S.*$")
#: How an error message ends when its request was refused (and journaled).
REQUEST_ID = re.compile(r"\(request req-[0-9a-f]{16}\)$")

EnvOverrides = Mapping[str, str | None]
#: The ``fk_sub`` fixture: ``fk_sub(*args, env=None, cwd=None) -> Result``.
Sub = Callable[..., "Result"]


def forgekeep_bin() -> str:
    """The installed ``forgekeep`` entry point of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("forgekeep")
    if beside.is_file():
        return str(beside)
    found = shutil.which("forgekeep")
    if found is None:
        pytest.fail("the forgekeep entry point is not installed (pip install -e .)")
    return found


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    def __str__(self) -> str:
        shown = self.out if len(self.stdout) < 4000 else f"<{len(self.stdout)} bytes>"
        return (
            f"forgekeep {' '.join(self.argv)}\n-> exit {self.code}\n"
            f"stdout: {shown}\nstderr: {self.stderr}"
        )

    def ok(self) -> Result:
        assert self.code == 0, str(self)
        return self

    def json(self) -> Any:
        """The JSON on stdout of a successful command."""
        self.ok()
        return json.loads(self.out)

    def parsed(self) -> Any:
        """The JSON on stdout, whatever the exit code (``fsck`` exits 4 with a report)."""
        assert self.stdout, str(self)
        return json.loads(self.out)

    def error(self, code: str, exit_code: int) -> str:
        """Assert the documented two-line error and exit code; return the message.

        ``code`` ending in ``-`` (e.g. ``FK-INTEGRITY-``) matches a family.
        """
        assert self.code == exit_code, str(self)
        lines = self.stderr.strip("\n").splitlines()
        assert len(lines) == 2, f"want exactly an error and a hint line\n{self}"
        first = ERROR_LINE.match(lines[0])
        assert first is not None, f"not `error[FK-…]: …`\n{self}"
        if code.endswith("-"):
            assert first.group(1).startswith(code), str(self)
        else:
            assert first.group(1) == code, str(self)
        assert HINT_LINE.match(lines[1]), f"not `hint: …`\n{self}"
        return first.group(2)


def child_env(xdg: Path, overrides: EnvOverrides | None = None) -> dict[str, str]:
    """The environment of a child: no stray FORGEKEEP_* settings, the test passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGEKEEP_")}
    env.update(FORGEKEEP_PASSPHRASE=PASSPHRASE, XDG_RUNTIME_DIR=str(xdg), COLUMNS="200")
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_subprocess(
    args: Sequence[str],
    *,
    xdg: Path,
    env: EnvOverrides | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Result:
    """Run the installed entry point; stdin is /dev/null (never a terminal)."""
    done = subprocess.run(
        [forgekeep_bin(), *args],
        env=child_env(xdg, env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Result(tuple(args), done.returncode, done.stdout, done.stderr.decode("utf-8"))


class InProcess:
    """``forgekeep.cli.main.run(argv)`` with captured output; SystemExit becomes the code."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: str, env: EnvOverrides | None = None) -> Result:
        self._capsys.readouterr()
        code: int
        with self._monkeypatch.context() as patch:
            for key, value in (env or {}).items():
                if value is None:
                    patch.delenv(key, raising=False)
                else:
                    patch.setenv(key, value)
            try:
                run(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            else:  # pragma: no cover - run() always exits
                code = 0
        out, err = self._capsys.readouterr()
        return Result(tuple(args), code, out.encode("utf-8"), err)


def use_test_environment(monkeypatch: pytest.MonkeyPatch, xdg: Path) -> None:
    for key in [k for k in os.environ if k.startswith("FORGEKEEP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FORGEKEEP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    monkeypatch.setenv("COLUMNS", "200")


def vet_through_cli(home: Path, principal: str, *, xdg: Path, clearance: int = 3) -> None:
    """Sign a vetting record for ``principal`` with the test issuer; import it by CLI."""
    record = home.parent / f"vetting-{principal}.json"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    record.write_bytes(ISSUER.record(principal, now=now, clearance=clearance))
    run_subprocess(["--workspace", str(home), "principals", "vet", str(record)], xdg=xdg).ok()
    record.unlink()


def init_workspace(home: Path, *, xdg: Path, database_url: str | None = None) -> None:
    """``forgekeep init``, vet the admin, ``projects create p1``, through the real CLI.

    With ``database_url`` the metadata goes to that (PostgreSQL) database, else to SQLite.
    """
    on = () if database_url is None else ("--database-url", database_url)
    created = run_subprocess(["--workspace", str(home), "--json", "init", *CHEAP_KDF, *on], xdg=xdg)
    vet_through_cli(home, created.ok().json()["principal_id"], xdg=xdg)
    run_subprocess(
        ["--workspace", str(home), "projects", "create", PROJECT, "--residency", "DE"], xdg=xdg
    ).ok()


@contextlib.contextmanager
def short_tempdir(prefix: str) -> Iterator[Path]:
    """A directory with a short path (Unix socket paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` with its content (symlinks are not followed)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def blobs_under(site: Path) -> dict[str, bytes]:
    """:func:`files_under` a site, without the log's mirror (``ledger/``): every command,
    a refused one too, adds the checkpoint its vault signs as it closes."""
    return {k: v for k, v in files_under(site).items() if not k.startswith("ledger/")}


def tree_snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry below ``root``: mode, mtime_ns and (for files) content."""
    snap: dict[str, tuple[int, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        snap[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, data)
    return snap


def temporaries(root: Path) -> list[Path]:
    """Leftover temporary files (``.fk-tmp-*``) anywhere below ``root``."""
    return sorted(p for p in root.rglob(f"{TEMP_PREFIX}*"))


def _bound(sql: str, params: Sequence[object]) -> tuple[Any, dict[str, object]]:
    """``sql`` with its ``?`` placeholders as SQLAlchemy's ``:p0``, ``:p1``, …"""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} parameters")
    named = parts[0] + "".join(f":p{i}{rest}" for i, rest in enumerate(parts[1:]))
    return text(named), {f"p{i}": value for i, value in enumerate(params)}


def query(home: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the workspace's database directly (SQLite or PostgreSQL), for what the CLI
    does not show. ``?`` marks a parameter; nothing is committed."""
    statement, bound = _bound(sql, params)
    engine = workspace_engine(home)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement, bound)]
    finally:
        engine.dispose()


def execute(home: Path, sql: str, *params: object) -> None:
    """Change the workspace's database directly, as anyone with write access to it can."""
    statement, bound = _bound(sql, params)
    engine = workspace_engine(home)
    try:
        with engine.begin() as connection:
            connection.execute(statement, bound)
    finally:
        engine.dispose()


def keep_on_sqlite(metafunc: pytest.Metafunc, listed: Mapping[str, frozenset[str]]) -> None:
    """For a conftest's ``pytest_generate_tests``: give the tests ``listed`` by file name
    only the SQLite parameter of the ``database`` fixture (and so of ``ws``)."""
    names = listed.get(metafunc.definition.path.name, frozenset())
    if "database" in metafunc.fixturenames and metafunc.function.__name__ in names:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("database", ["sqlite"], indirect=True)
        )


# -- Fixtures shared by tests/cli and tests/integration (their conftests import these) --


@pytest.fixture(scope="session")
def xdg() -> Iterator[Path]:
    with short_tempdir("fk-xdg-") as path:
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
    home = tmp_path_factory.mktemp("template") / "ws"
    init_workspace(home, xdg=xdg)
    return home


@dataclass(frozen=True, slots=True)
class PostgresTemplate:
    """A workspace initialized on PostgreSQL: its directory and its database."""

    home: Path
    url: str


@pytest.fixture(scope="session")
def postgres_template(
    tmp_path_factory: pytest.TempPathFactory, xdg: Path, clean_databases: CleanDatabases
) -> Iterator[PostgresTemplate]:
    """:func:`base_template` with its metadata on PostgreSQL (``init --database-url``)."""
    with clean_databases.database() as url:
        home = tmp_path_factory.mktemp("pg-template") / "ws"
        init_workspace(home, xdg=xdg, database_url=url)
        yield PostgresTemplate(home, url)


@pytest.fixture
def ws(request: pytest.FixtureRequest, database: DatabaseChoice, tmp_path: Path) -> Path:
    """A fresh copy of the template workspace, on each database the ``database`` fixture
    names: on PostgreSQL, the template's rows copied into this test's own database."""
    home = tmp_path / "ws"
    if database.url is None:
        shutil.copytree(request.getfixturevalue("base_template"), home, symlinks=True)
        return home
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    url = database.url.render()
    shutil.copytree(template.home, home, symlinks=True)
    copy_rows(template.url, url)
    config = home / "forgekeep.toml"
    named = f'url = "{template.url}"'
    assert config.read_text().count(named) == 1, config.read_text()
    config.write_text(config.read_text().replace(named, f'url = "{url}"'))
    return home
