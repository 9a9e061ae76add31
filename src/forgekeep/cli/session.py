"""``forgekeep login [--token|--oidc]``, ``logout`` and ``profiles ls|use``.

Security rules kept here:

* A token never comes from the command line: ``login --token`` reads it from
  ``FORGEKEEP_TOKEN``, ``FORGEKEEP_TOKEN_FILE``, a pipe on stdin, or a hidden
  prompt; it is checked against the workspace before it is stored.
* Tokens are stored only in the 0600 ``credentials`` file, never in
  ``config.toml``, and no command here prints one.
* Server and OIDC login are refused plainly until the server exists; nothing is
  faked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from forgekeep import client_config
from forgekeep.cli._common import (
    GlobalOptions,
    JsonOpt,
    emit_json,
    options,
    stdout,
    vault,
    wants_json,
)
from forgekeep.cli._common import info as note
from forgekeep.client_config import Profile
from forgekeep.errors import ConflictError, InputMissingError, UsageError, WorkspaceError
from forgekeep.limits import MAX_API_TOKEN_CHARS

profiles_app = typer.Typer(help="Client profiles (config.toml).", no_args_is_help=True)

_SERVER_LOGIN = "server login arrives with the server"
_SERVER_HINT = "use a workspace profile (--workspace DIR) until the Server issue lands"


def _resolved(path: Path) -> Path:
    return path.expanduser().resolve()


def _named_target(opts: GlobalOptions, name: str) -> tuple[str, Path]:
    from forgekeep.config import resolve_home  # pydantic: only when a command runs

    client_config.validate_profile_name(name)
    existing = client_config.load_config().profiles.get(name)
    if existing is not None and existing.server is not None:
        raise UsageError(_SERVER_LOGIN, hint=_SERVER_HINT)
    if opts.workspace is not None:
        home = resolve_home(opts.workspace)
        if (
            existing is not None
            and existing.workspace is not None
            and (_resolved(existing.workspace) != home)
        ):
            raise ConflictError(
                f"profile {name} points at {existing.workspace}, not {home}",
                hint="choose another --profile NAME",
            )
        return name, home
    if existing is None or existing.workspace is None:
        raise WorkspaceError(
            f"no profile {name} and no workspace given",
            hint=f"run `forgekeep login --token --workspace DIR --profile {name}`",
        )
    return name, _resolved(existing.workspace)


def _login_target(opts: GlobalOptions) -> tuple[str, Path]:
    """The profile to log in to and its workspace."""
    from forgekeep.config import resolve_home

    if opts.server:
        raise UsageError(_SERVER_LOGIN, hint=_SERVER_HINT)
    if opts.profile is not None:
        return _named_target(opts, opts.profile)
    if opts.workspace is None:
        selected = client_config.selected_profile(None)
        if selected is not None:
            return _named_target(opts, selected.name)
    home = resolve_home(opts.workspace)
    name = client_config.profile_name_for(home)
    return _named_target(opts, name)


def _read_token() -> str:
    """The token from FORGEKEEP_TOKEN(_FILE), a pipe on stdin, or a hidden prompt."""
    from forgekeep.config import read_secret_env

    from_env = read_secret_env("FORGEKEEP_TOKEN")
    if from_env is not None:
        return from_env.decode("utf-8", "replace")
    try:
        if sys.stdin.isatty():
            prompted: str = typer.prompt("API token", hide_input=True, err=True)
            return prompted.strip()
        data = sys.stdin.buffer.read(MAX_API_TOKEN_CHARS + 3)
    except (OSError, AttributeError, ValueError):
        data = b""
    text = data.decode("utf-8", "replace").rstrip("\r\n")
    if not text:
        raise InputMissingError(
            "no token given",
            hint="set FORGEKEEP_TOKEN_FILE=FILE (or FORGEKEEP_TOKEN), or pipe it on stdin",
        )
    return text


def login(
    ctx: typer.Context,
    token: Annotated[
        bool, typer.Option("--token", help="Log in with an API token (env, *_FILE or stdin).")
    ] = False,
    oidc: Annotated[
        bool, typer.Option("--oidc", help="Log in with OIDC (needs a server).")
    ] = False,
    json_out: JsonOpt = False,
    stray: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
) -> None:
    """Check an API token against the workspace and store it for a profile (--profile NAME).

    The workspace is opened to check the token, so unlock it first (or set
    FORGEKEEP_PASSPHRASE_FILE). The profile becomes the active one.
    """
    if stray:
        raise UsageError(
            "login takes no arguments: a token is never read from the command line",
            hint="FORGEKEEP_TOKEN_FILE=FILE forgekeep login --token (or pipe it on stdin)",
        )
    if oidc:
        raise UsageError(
            'OIDC login needs the server (issue "Server")',
            hint="use `forgekeep login --token` with a workspace until then",
        )
    if not token:
        raise UsageError("choose how to log in", hint="run `forgekeep login --token`")
    opts = options(ctx)
    name, home = _login_target(opts)
    text = _read_token()
    with vault(ctx, home=home, token=text) as v:
        principal, auth = v.principal_id, v.principals.whoami()
    client_config.store_token(name, text)
    client_config.put_profile(Profile(name, workspace=home), activate=True)
    result = {
        "profile": name,
        "workspace": str(home),
        "principal": principal,
        "token_id": auth.token_id,
        "scopes": sorted(auth.scopes or ()),
    }
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    for key, value in result.items():
        shown = ",".join(value) if isinstance(value, list) else value
        stdout.print(f"{key:10} {shown}", highlight=False, markup=False)
    note(ctx, f"profile {name} is now active; the token is stored in the credentials file")


def logout(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Forget the token stored for the profile (--profile NAME, default: the active one)."""
    opts = options(ctx)
    name = opts.profile
    if name is None:
        selected = client_config.selected_profile(None)
        if selected is None:
            raise UsageError("no profile is active", hint="run `forgekeep logout --profile NAME`")
        name = selected.name
    client_config.validate_profile_name(name)
    removed = client_config.remove_token(name)
    if wants_json(ctx, json_out):
        emit_json({"profile": name, "removed": removed})
        return
    if removed:
        stdout.print(f"logged out of profile {name}", highlight=False, markup=False)
        note(ctx, "the token itself stays valid; `forgekeep tokens revoke ID` ends it")
    else:
        stdout.print(f"no token was stored for profile {name}", highlight=False, markup=False)


def _profile_rows() -> list[dict[str, Any]]:
    config = client_config.load_config()
    stored = client_config.load_credentials()
    return [
        {
            "name": p.name,
            "active": p.name == config.active,
            "mode": p.mode,
            "workspace": str(p.workspace) if p.workspace else None,
            "server": p.server,
            "tenant": p.tenant,
            "cacert": str(p.cacert) if p.cacert else None,
            "logged_in": p.name in stored,
        }
        for p in sorted(config.profiles.values(), key=lambda p: p.name)
    ]


@profiles_app.command("ls")
def profiles_ls(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List profiles; * marks the active one. Tokens are never shown."""
    rows = _profile_rows()
    if wants_json(ctx, json_out):
        emit_json(rows)
        return
    table = Table("", "profile", "mode", "workspace or server", "tenant", "logged in")
    for row in rows:
        table.add_row(
            "*" if row["active"] else "",
            row["name"],
            row["mode"],
            row["workspace"] or row["server"],
            row["tenant"] or "-",
            "yes" if row["logged_in"] else "no",
        )
    stdout.print(table)


@profiles_app.command("use")
def profiles_use(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Profile to make active.")],
) -> None:
    """Make a profile the active one."""
    client_config.validate_profile_name(name)
    client_config.use_profile(name)
    note(ctx, f"profile {name} is now active")
