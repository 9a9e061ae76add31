"""Which metadata database a workspace uses: parsing and checking its URL.

Security rules:

* Only two kinds of database exist: SQLite (``sqlite:///PATH``, the embedded
  default) and PostgreSQL through psycopg 3 (``postgresql+psycopg://…``;
  ``postgresql://`` means the same). Any other scheme is refused, never guessed.
* A password never sits in ``forgekeep.toml``: a URL there that carries one is
  refused, with the two places where it may live instead (``[database]
  url_file``, a 0600 file holding the whole URL, or libpq's own ``~/.pgpass``).
* A URL file is read with a size limit and refused when other users may read it.
* URLs are printed only through :func:`redacted`, which drops the password.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from forgekeep.errors import ConfigError, InputMissingError, LimitExceededError
from forgekeep.limits import MAX_DATABASE_URL_BYTES

SQLITE: Final = "sqlite"
POSTGRESQL: Final = "postgresql"
_DRIVERS: Final = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "postgresql+psycopg": POSTGRESQL}
_INLINE_HINT: Final = (
    "put the whole URL in a 0600 file and name it with [database] url_file "
    "(init: --database-url-file), or keep the password in ~/.pgpass"
)


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A checked database URL; ``kind`` is ``sqlite`` or ``postgresql``."""

    url: URL
    kind: str

    def render(self) -> str:
        """The URL with its password, for the engine only."""
        return self.url.render_as_string(hide_password=False)

    def redacted(self) -> str:
        """The URL without its password, safe to print and to write to config."""
        return self.url.set(password=None).render_as_string(hide_password=False)


def parse_database_url(text: str, *, allow_password: bool) -> DatabaseUrl:
    """Check ``text``: a known scheme, and a password only where one is allowed."""
    if len(text.encode()) > MAX_DATABASE_URL_BYTES:
        raise LimitExceededError(f"the database URL is over {MAX_DATABASE_URL_BYTES} bytes")
    try:
        url = make_url(text.strip())
    except ArgumentError as exc:
        raise ConfigError(
            "the database URL is not a URL",
            hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
        ) from exc
    kind = _DRIVERS.get(url.drivername)
    if kind is None:
        raise ConfigError(
            f"database URL scheme {url.drivername!r} is not supported",
            hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
        )
    if kind == POSTGRESQL:
        url = url.set(drivername="postgresql+psycopg")
        if url.password is not None and not allow_password:
            raise ConfigError("the database URL carries a password inline", hint=_INLINE_HINT)
        if not url.database:
            raise ConfigError("the PostgreSQL URL names no database", hint="end it with /DBNAME")
    return DatabaseUrl(url, kind)


def read_url_file(path: Path) -> DatabaseUrl:
    """The URL kept in ``path``: private to its owner, bounded, one line."""
    try:
        info = path.stat()
        if info.st_size > MAX_DATABASE_URL_BYTES:
            raise LimitExceededError(
                f"{path.name} is {info.st_size} bytes; the limit is {MAX_DATABASE_URL_BYTES}"
            )
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} may be read by other users", hint=f"chmod 600 {path}")
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, PermissionError) as exc:
        raise InputMissingError(f"cannot read the database URL file {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ConfigError(f"{path} must hold exactly one URL line")
    return parse_database_url(lines[0], allow_password=True)
