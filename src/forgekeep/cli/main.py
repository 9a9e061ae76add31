"""The ``forgekeep`` command: global options, the command tree, and error handling.

Every command is a thin shell over the service (``forgekeep.service``); this
module only parses, prints and maps errors to exit codes (CLI.md): 0 ok,
1 error, 2 usage, 3 denied, 4 findings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import structlog
import typer
from typer.exceptions import TyperException

from forgekeep.cli import (
    access,
    approvals,
    assets,
    keygen,
    ledger,
    licences,
    policy,
    principals,
    projects,
    session,
    tokens,
    witness,
    workspace,
)
from forgekeep.cli._common import GlobalOptions, stderr
from forgekeep.errors import EXIT_ERROR, EXIT_USAGE, ForgekeepError

app = typer.Typer(
    name="forgekeep",
    help=(
        "Forgekeep keeps manufacturing IP (CAD models, recipes, digital twins, PLC "
        "programs) encrypted under keys you hold.\n\n"
        "Start with `forgekeep init --workspace DIR`, then `forgekeep projects create` "
        "and `forgekeep put`. `forgekeep demo` shows the whole story in a scratch workspace."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    ctx: typer.Context,
    workspace_dir: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace directory (embedded mode). Default: FORGEKEEP_HOME.",
            envvar="FORGEKEEP_HOME",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="Client profile from config.toml (see `forgekeep profiles ls`)."),
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="Server URL (split mode; arrives with the server).")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant to act in.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print data as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No hints or progress.")] = False,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Answer yes to confirmations.")] = False,
) -> None:
    ctx.obj = GlobalOptions(workspace_dir, profile, server, tenant, json_out, quiet, yes)


app.command()(workspace.init)
app.command()(workspace.demo)
app.command()(workspace.status)
app.command()(workspace.doctor)
app.command()(workspace.unlock)
app.command()(workspace.lock)
app.command()(workspace.migrate)
app.command()(assets.put)
app.command()(assets.get)
app.command("ls")(assets.ls)
app.command()(assets.versions)
app.command()(assets.rm)
app.command()(assets.classify)
app.command()(assets.fsck)
app.add_typer(projects.app, name="projects")
app.add_typer(principals.app, name="principals")
app.command()(principals.whoami)
app.command()(session.login)
app.command()(session.logout)
app.add_typer(session.profiles_app, name="profiles")
app.add_typer(tokens.app, name="tokens")
app.command()(keygen.keygen)
app.add_typer(policy.app, name="policy")
app.add_typer(approvals.app, name="approvals")
app.add_typer(licences.app, name="licences")
app.add_typer(licences.app, name="licenses", hidden=True)
app.add_typer(licences.export_app, name="export-auth")
app.add_typer(access.app, name="access")
app.add_typer(ledger.app, name="ledger")
app.add_typer(witness.app, name="witness")


_GLOBAL_SWITCHES = frozenset({"-q", "--quiet", "-y", "--yes"})
_GLOBAL_VALUED = frozenset({"-w", "--workspace", "--tenant", "--profile", "--server"})


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let global options follow the command too (``forgekeep ls -q -w DIR``).

    Global switches and valued options found after the command are moved in
    front of it; everything after ``--`` is left alone.
    """
    front: list[str] = []
    rest: list[str] = []
    args_iter = iter(argv)
    for arg in args_iter:
        name = arg.split("=", 1)[0]
        if arg == "--":
            rest.append(arg)
            rest.extend(args_iter)
        elif arg in _GLOBAL_SWITCHES or (name in _GLOBAL_VALUED and "=" in arg):
            front.append(arg)
        elif arg in _GLOBAL_VALUED:
            front.extend([arg, next(args_iter, "")])
        else:
            rest.append(arg)
    return front + rest


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)  # whatever stderr is now, not at configure time


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn errors into one-line messages and exit codes."""
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    # Warnings (break-glass use, refused tokens) go to stderr; stdout stays for results.
    structlog.configure(logger_factory=_stderr_logger)
    try:
        code = app(args=args, standalone_mode=False)
    except ForgekeepError as exc:
        stderr.print(exc.diagnostics(), highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        stderr.print("error[FK-USAGE-001]: aborted", markup=False)
        sys.exit(EXIT_ERROR)
    except TyperException as exc:
        stderr.print(f"error[FK-USAGE-001]: {exc.format_message()}", markup=False)
        stderr.print("hint: run the command with --help", markup=False)
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("FORGEKEEP_DEBUG"):
            raise
        stderr.print(
            f"error[FK-GEN-000]: internal error: {type(exc).__name__}: {exc}", markup=False
        )
        stderr.print("hint: re-run with FORGEKEEP_DEBUG=1 and report the traceback", markup=False)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
