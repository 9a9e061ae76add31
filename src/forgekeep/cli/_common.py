"""Shared CLI plumbing: global options, opening the vault, output and progress.

Rules the CLI keeps (CLI.md): data goes to stdout, progress bars, hints and
warnings to stderr; ``--json`` prints machine-readable data; errors print as
``error[FK-…]: message`` plus a ``hint:`` line and exit with the documented
code. Secrets never come from the command line: the passphrase comes from the
unlock agent, ``FORGEKEEP_PASSPHRASE(_FILE)``, ``--passphrase-file`` or a prompt;
an API token from ``FORGEKEEP_TOKEN(_FILE)`` or the 0600 credentials file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from forgekeep.client_config import selected_profile, stored_token
from forgekeep.errors import InputMissingError, KeyringLockedError, LimitExceededError, UsageError

if TYPE_CHECKING:
    from forgekeep.service.front import Vault

# The service, its configuration (pydantic, SQLAlchemy) and rich.progress are imported
# inside the functions that use them, so that a command's --help stays fast (cli/_lazy.py).

stderr = Console(stderr=True, soft_wrap=True)
stdout = Console(soft_wrap=True)


@dataclasses.dataclass(slots=True)
class GlobalOptions:
    workspace: Path | None = None
    profile: str | None = None
    server: str | None = None
    tenant: str | None = None
    json: bool = False
    quiet: bool = False
    yes: bool = False

    def home(self) -> Path:
        """--profile (a workspace profile), else --workspace, else the active profile."""
        from forgekeep.config import resolve_home

        if self.server:
            raise UsageError(
                "split mode (--server) is not available in this release",
                hint="use --workspace DIR or FORGEKEEP_HOME for embedded mode",
            )
        if self.workspace is not None and self.profile is None:
            return resolve_home(self.workspace)
        profile = selected_profile(self.profile)
        if profile is None:
            return resolve_home(self.workspace)
        if profile.workspace is None:
            raise UsageError(
                f"profile {profile.name} is a server profile; split mode is not available yet",
                hint="use --workspace DIR, or `forgekeep profiles use` a workspace profile",
            )
        return profile.workspace.expanduser().resolve()

    def token(self, home: Path) -> str | None:
        """An API token: FORGEKEEP_TOKEN(_FILE), else the one stored for this workspace's profile.

        A stored token is used only when the selected profile points at ``home``.
        """
        from forgekeep.config import read_secret_env

        from_env = read_secret_env("FORGEKEEP_TOKEN")
        if from_env is not None:
            return from_env.decode("utf-8", "replace")
        profile = selected_profile(self.profile)
        if profile is None or profile.workspace is None:
            return None
        if profile.workspace.expanduser().resolve() != home:
            return None
        return stored_token(profile.name)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print data as JSON.")]


def wants_json(ctx: typer.Context, flag: bool) -> bool:
    """``--json`` given before the command (global) or after it."""
    return flag or options(ctx).json


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


def prompt_passphrase(*, confirm: bool) -> bytes:
    if not sys.stdin.isatty():
        raise KeyringLockedError(
            "no passphrase: the keyring is locked and there is no terminal to ask on"
        )
    value: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    return value.encode("utf-8")


def passphrase_for(passphrase_file: Path | None, *, confirm: bool = False) -> bytes:
    """The passphrase from --passphrase-file, the environment, or a prompt."""
    from forgekeep.config import read_secret_env, read_secret_file

    if passphrase_file is not None:
        return read_secret_file(passphrase_file, "passphrase")
    from_env = read_secret_env("FORGEKEEP_PASSPHRASE")
    if from_env is not None:
        return from_env
    return prompt_passphrase(confirm=confirm)


@contextlib.contextmanager
def vault(
    ctx: typer.Context, *, home: Path | None = None, token: str | None = None
) -> Iterator[Vault]:
    """Open the workspace (agent first, then passphrase) as the token's principal
    (``token``, else :meth:`GlobalOptions.token`) or else its configured principal."""
    from forgekeep.service.front import Workspace

    opts = options(ctx)
    home = home or opts.home()
    token = token or opts.token(home)
    workspace = Workspace(home)
    passphrase = None if workspace.unlocked() else passphrase_for(None)
    with workspace.open(passphrase=passphrase, token=token) as opened:
        if opts.tenant is not None and opts.tenant != opened.tenant_id:
            raise UsageError(
                f"this workspace holds tenant {opened.tenant_id}, not {opts.tenant}",
                hint="an embedded workspace has one tenant; drop --tenant",
            )
        yield opened


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, sort_keys=True) + "\n")


def info(ctx: typer.Context, message: str) -> None:
    """A hint or note for people: stderr, silenced by -q."""
    if not options(ctx).quiet:
        stderr.print(message, highlight=False)


@contextlib.contextmanager
def progress_bar(ctx: typer.Context, label: str, total: int | None) -> Iterator[Any]:
    """A Rich transfer bar on stderr; yields a callback taking processed byte counts."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    show = not options(ctx).quiet and stderr.is_terminal and os.environ.get("CI") is None
    if not show:
        yield lambda _n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover (loop always returns)


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes of ``path``; a clear one-line error for a missing or larger file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise InputMissingError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputMissingError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputMissingError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise LimitExceededError(f"{what} {path} is larger than {limit} bytes")
    return data
