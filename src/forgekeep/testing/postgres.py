"""PostgreSQL for tests: a fresh database per test, on a shared server or a private cluster.

* :func:`server_url` finds the server tests use: ``FORGEKEEP_TEST_POSTGRES`` (an
  admin URL), else the machine's server at 127.0.0.1:5432 as ``postgres``, else a
  private cluster this process starts with ``initdb`` on a free loopback port.
  It returns None only when none of them can be had; callers fail under ``CI``.
* :func:`fresh_database` creates an empty database ``fk_test_<random>`` and drops
  it afterwards (``WITH (FORCE)``: a test that leaked a connection cannot keep it).
* :func:`copy_rows` fills an empty database with another's rows, so a test can
  start from a workspace made once per session.
* :class:`PrivateCluster` is a throwaway cluster for tests that stop, restart or
  kill PostgreSQL: they never touch the machine's shared server.

Only loopback addresses are used. Run as root, the cluster runs as the
``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

_DEFAULT_SERVER: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENV_SERVER: Final = "FORGEKEEP_TEST_POSTGRES"
_CONNECT_TIMEOUT: Final = 3
_private: PrivateCluster | None = None


def _psycopg_dsn(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def reachable(url: str) -> bool:
    import psycopg  # noqa: PLC0415 (only tests that use PostgreSQL need the driver)

    try:
        with psycopg.connect(_psycopg_dsn(url), connect_timeout=_CONNECT_TIMEOUT):
            return True
    except psycopg.Error:
        return False


def _initdb_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def initdb_available() -> bool:
    return _initdb_dir() is not None


def server_url() -> str | None:
    """An admin URL of a server for test databases, starting a private one if need be."""
    global _private  # noqa: PLW0603 (one private cluster per test process)
    configured = os.environ.get(ENV_SERVER)
    if configured:
        return configured
    if reachable(_DEFAULT_SERVER):
        return _DEFAULT_SERVER
    if _private is None:
        if _initdb_dir() is None:
            return None
        _private = PrivateCluster.start_new()
        atexit.register(_private.destroy)
    return _private.admin_url


def _execute_autocommit(admin_url: str, statement: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_psycopg_dsn(admin_url), autocommit=True) as connection:
        connection.execute(statement.encode())


def database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def _exists(admin_url: str, name: str) -> bool:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_psycopg_dsn(admin_url), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def migrated_template(admin_url: str) -> str:
    """A database at the head schema with no rows, to copy from (made once per schema).

    Its name carries a digest of the migrations, so a changed migration makes a new one.
    """
    from forgekeep.db.engine import MIGRATIONS_DIR, make_engine, migrate  # noqa: PLC0415

    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    name = f"fk_template_{digest.hexdigest()[:16]}"
    if not _exists(admin_url, name):
        building = f"{name}_{secrets.token_hex(4)}"
        _execute_autocommit(admin_url, f'CREATE DATABASE "{building}"')
        engine = make_engine(database_url(admin_url, building))
        try:
            migrate(engine)
        finally:
            engine.dispose()
        with contextlib.suppress(Exception):  # another process may have made it first
            _execute_autocommit(admin_url, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        _execute_autocommit(admin_url, f'DROP DATABASE IF EXISTS "{building}"')
    return name


@contextlib.contextmanager
def fresh_database(admin_url: str, *, template: str | None = None) -> Iterator[str]:
    """A new database on the server (empty, or a copy of ``template``); dropped after."""
    name = f"fk_test_{secrets.token_hex(6)}"
    copy = "" if template is None else f' TEMPLATE "{template}"'
    _execute_autocommit(admin_url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield database_url(admin_url, name)
    finally:
        _execute_autocommit(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _SchemaChangedError(Exception):
    pass


class CleanDatabases:
    """Databases at the head schema with no rows, reused from test to test.

    Creating a PostgreSQL database costs about half a second (its files are
    synced); emptying one with DELETE costs a few milliseconds. A database
    comes back to the pool only when its schema is still the template's.
    """

    def __init__(self, admin_url: str, template: str) -> None:
        self._admin_url = admin_url
        self._template = template
        self._free: list[str] = []

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        name = self._free.pop() if self._free else self._create()
        try:
            yield database_url(self._admin_url, name)
        finally:
            self._give_back(name)

    def drop_all(self) -> None:
        """Drop the pooled databases (at the end of a test session)."""
        while self._free:
            name = self._free.pop()
            _execute_autocommit(self._admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _create(self) -> str:
        name = f"fk_test_{secrets.token_hex(6)}"
        _execute_autocommit(
            self._admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"'
        )
        return name

    def _give_back(self, name: str) -> None:
        import psycopg  # noqa: PLC0415

        _execute_autocommit(
            self._admin_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"  # noqa: S608 (our own name)
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        url = database_url(self._admin_url, name)
        try:
            with psycopg.connect(_psycopg_dsn(url), autocommit=True) as connection:
                self._empty(connection)
        except (psycopg.Error, _SchemaChangedError):
            _execute_autocommit(self._admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        self._free.append(name)

    def _empty(self, connection: Any) -> None:
        from forgekeep.db.engine import HEAD_REVISION  # noqa: PLC0415

        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] != HEAD_REVISION:
            raise _SchemaChangedError
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        ).fetchall()
        if {row[0] for row in tables} == set(_model_tables()):
            _delete_rows(connection)
            return
        names = ", ".join(f'"{row[0]}"' for row in tables)
        connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE".encode())


def _model_tables() -> list[str]:
    """The workspace's tables, parents before children (foreign keys)."""
    from forgekeep.db.models import Base  # noqa: PLC0415

    return [table.name for table in Base.metadata.sorted_tables]


def _delete_rows(connection: Any) -> None:
    """Empty the models' tables, children first, and restart every sequence.

    For a test's few rows DELETE takes milliseconds; TRUNCATE, which gives each
    table new files, takes a tenth of a second.
    """
    sequences = connection.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
    ).fetchall()
    with connection.transaction():
        for name in reversed(_model_tables()):
            connection.execute(f'DELETE FROM "{name}"'.encode())  # noqa: S608 (the models' names)
        for (sequence,) in sequences:
            connection.execute(f'ALTER SEQUENCE "{sequence}" RESTART'.encode())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 and a free port."""

    def __init__(self, data_dir: Path, port: int, bin_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = port
        self._bin = bin_dir

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start_new(cls) -> PrivateCluster:
        bin_dir = _initdb_dir()
        if bin_dir is None:
            raise RuntimeError("initdb is not installed (Debian: postgresql)")
        root = Path(tempfile.mkdtemp(prefix="fk-pg-"))
        cluster = cls(root / "data", free_port(), bin_dir)
        cluster._chown(root)
        cluster._run("initdb", "-D", str(cluster.data_dir), "-U", "postgres", "-A", "trust")
        cluster.start()
        return cluster

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data_dir}"
        log = str(self.data_dir.parent / "server.log")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", log, "-w", "start")
        deadline = time.monotonic() + 30
        while not reachable(self.admin_url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the private PostgreSQL on port {self.port} did not start")
            time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def copy_rows(source_url: str, target_url: str) -> None:
    """Copy every row of a workspace database into an empty one at the same schema.

    Tables go parents first, in COPY's binary format; each sequence then continues
    where the source's stands. Cheaper than ``CREATE DATABASE … TEMPLATE``, which
    syncs the new database's files.
    """
    import psycopg  # noqa: PLC0415

    tables = _model_tables()
    with (
        psycopg.connect(_psycopg_dsn(source_url)) as source,
        psycopg.connect(_psycopg_dsn(target_url)) as target,
    ):
        present = source.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        ).fetchall()
        if {row[0] for row in present} != set(tables):
            raise RuntimeError("the source database's tables are not the models' tables")
        for name in tables:
            _copy_table(source, target, name)
        sequences = source.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        for sequence, last in sequences:
            if last is not None:
                target.execute("SELECT setval(%s, %s)", (f'public."{sequence}"', last))


def _copy_table(source: Any, target: Any, name: str) -> None:
    with (
        source.cursor() as reading,
        reading.copy(f'COPY "{name}" TO STDOUT (FORMAT binary)'.encode()) as out,
        target.cursor() as writing,
        writing.copy(f'COPY "{name}" FROM STDIN (FORMAT binary)'.encode()) as into,
    ):
        for block in out:
            into.write(block)
