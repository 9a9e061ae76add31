"""The ``forgekeep`` command: global options, the command tree, and error handling.

Every command is a thin shell over the service (``forgekeep.service``); this
module only parses, prints and maps errors to exit codes (CLI.md): 0 ok,
1 error, 2 usage, 3 denied, 4 findings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer.exceptions import TyperException

from forgekeep import __version__
from forgekeep.cli._lazy import LazyCommand, LazyGroup
from forgekeep.errors import EXIT_ERROR, EXIT_USAGE, ForgekeepError

if TYPE_CHECKING:
    import structlog
    from rich.console import Console

_LICENCES = (
    "IP licences: let another organisation read, download, modify, manufacture, share or "
    "sublicense some of your assets, in a territory, for a purpose, for a time. Revoked "
    "licences stay on record."
)
#: Every command under ``forgekeep``, in the order ``--help`` lists them, with the summary
#: it shows; a command's module is imported only when the command is used (``_lazy``).
COMMANDS: Final = {
    "init": LazyCommand(
        "forgekeep.cli.workspace:init",
        "Create a workspace: config, keyring, metadata database, site local-de, first admin.",
    ),
    "demo": LazyCommand(
        "forgekeep.cli.workspace:demo",
        "Run the whole story in a scratch workspace: init, put, ls, get, tamper, summary.",
    ),
    "status": LazyCommand(
        "forgekeep.cli.workspace:status",
        "Show the workspace, tenant, acting principal, agent and content counts.",
    ),
    "doctor": LazyCommand(
        "forgekeep.cli.workspace:doctor",
        "Check the workspace: config, schema, log key, keyring, sites, the log's rows.",
    ),
    "unlock": LazyCommand(
        "forgekeep.cli.workspace:unlock",
        "Unseal the keyring once and keep it in a per-user agent (0600 socket).",
    ),
    "lock": LazyCommand(
        "forgekeep.cli.workspace:lock", "Stop the unlock agent: the keyring is sealed again."
    ),
    "migrate": LazyCommand(
        "forgekeep.cli.workspace:migrate",
        "Upgrade the workspace's database schema to this release (take a backup first).",
    ),
    "put": LazyCommand(
        "forgekeep.cli.assets:put", "Encrypt FILE and store it as a new version of an asset."
    ),
    "get": LazyCommand("forgekeep.cli.assets:get", "Decrypt an asset version and verify it."),
    "ls": LazyCommand("forgekeep.cli.assets:ls", "List assets with their latest version."),
    "versions": LazyCommand("forgekeep.cli.assets:versions", "List every version of an asset."),
    "rm": LazyCommand(
        "forgekeep.cli.assets:rm",
        "Remove an asset from listings (a soft delete: its history is kept).",
    ),
    "classify": LazyCommand(
        "forgekeep.cli.assets:classify",
        "Mark an asset as export-controlled (ITAR or EAR), or clear the marking.",
    ),
    "fsck": LazyCommand(
        "forgekeep.cli.assets:fsck",
        "Check every version's header and ciphertext hash, and that DB and sites agree.",
    ),
    "whoami": LazyCommand(
        "forgekeep.cli.principals:whoami",
        "Show the acting principal: tenant, organisation, roles, vetting, how it authenticated.",
    ),
    "login": LazyCommand(
        "forgekeep.cli.session:login",
        "Check an API token against the workspace and store it for a profile (--profile NAME).",
    ),
    "logout": LazyCommand(
        "forgekeep.cli.session:logout",
        "Forget the token stored for the profile (--profile NAME, default: the active one).",
    ),
    "keygen": LazyCommand(
        "forgekeep.cli.keygen:keygen",
        "Create an Ed25519 signing key for an approver or an issuer.",
    ),
    "projects": LazyCommand(
        "forgekeep.cli.projects:app",
        "Projects: where assets live, how many replicas, which keys.",
    ),
    "principals": LazyCommand(
        "forgekeep.cli.principals:app",
        "Principals: organisations, people (pseudonymous) and machines; vetting records.",
    ),
    "profiles": LazyCommand("forgekeep.cli.session:profiles_app", "Client profiles (config.toml)."),
    "tokens": LazyCommand(
        "forgekeep.cli.tokens:app", "API tokens: scoped, expiring and revocable."
    ),
    "policy": LazyCommand(
        "forgekeep.cli.policy:app",
        "Cedar access policies: validate files against the schema, run decision test cases, "
        "and compare two policy files. These commands need no workspace.",
    ),
    "approvals": LazyCommand(
        "forgekeep.cli.approvals:app",
        "Approvals: actions that need other people's signed consent (policy apply: 1 approver; "
        "break-glass: 2). Who may approve: an active principal with the approver or admin role "
        "whose signing key is registered (`forgekeep keygen`, then an admin runs `forgekeep "
        "principals set-key`). The requester can never approve their own request. Once "
        "approved, the requester runs the action.",
    ),
    "licences": LazyCommand("forgekeep.cli.licences:app", _LICENCES),
    "licenses": LazyCommand("forgekeep.cli.licences:app", _LICENCES, hidden=True),  # alias
    "export-auth": LazyCommand(
        "forgekeep.cli.licences:export_app",
        "Export authorisations an organisation holds (ITAR TAA or DSP-5, EAR licence or licence "
        "exception) for some assets and destination countries.",
    ),
    "access": LazyCommand(
        "forgekeep.cli.access:app",
        "Why a request was allowed or denied; emergency (break-glass) access.",
    ),
    "ledger": LazyCommand(
        "forgekeep.cli.ledger:app",
        "The tamper-evident log of every operation: checkpoints, entries, proofs, verify.",
    ),
    "witness": LazyCommand(
        "forgekeep.cli.witness:app", "A transparency-log witness (c2sp.org/tlog-witness)."
    ),
}


class _Forgekeep(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="forgekeep",
    help=(
        "Forgekeep keeps manufacturing IP (CAD models, recipes, digital twins, PLC "
        "programs) encrypted under keys you hold.\n\n"
        "Start with `forgekeep init --workspace DIR`, then `forgekeep projects create` "
        "and `forgekeep put`. `forgekeep demo` shows the whole story in a scratch workspace."
    ),
    cls=_Forgekeep,
    rich_markup_mode=None,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"forgekeep {__version__}")
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    *,
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
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # Runs only when a command follows: `forgekeep --help` and `--version` stop before it.
    from forgekeep.cli._common import GlobalOptions  # rich: only once a command runs

    del version  # handled by its callback
    _log_to_stderr()
    ctx.obj = GlobalOptions(workspace_dir, profile, server, tenant, json_out, quiet, yes)


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
    import structlog  # imported already: _log_to_stderr configured it

    return structlog.PrintLogger(sys.stderr)  # whatever stderr is now, not at configure time


def _log_to_stderr() -> None:
    """Warnings (break-glass use, refused tokens) go to stderr; stdout stays for results."""
    import structlog  # costs more than printing the help; only commands log

    structlog.configure(logger_factory=_stderr_logger)


def _stderr() -> Console:
    from forgekeep.cli._common import stderr

    return stderr


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn errors into one-line messages and exit codes."""
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, standalone_mode=False)
    except ForgekeepError as exc:
        _stderr().print(exc.diagnostics(), highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except NoArgsIsHelpError as exc:  # `forgekeep` or `forgekeep ledger` alone
        _stderr().print(exc.format_message(), highlight=False, markup=False)
        sys.exit(EXIT_USAGE)
    except typer.Abort:
        _stderr().print("error[FK-USAGE-001]: aborted", markup=False)
        sys.exit(EXIT_ERROR)
    except TyperException as exc:
        _stderr().print(f"error[FK-USAGE-001]: {exc.format_message()}", markup=False)
        _stderr().print("hint: run the command with --help", markup=False)
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("FORGEKEEP_DEBUG"):
            raise
        _stderr().print(
            f"error[FK-GEN-000]: internal error: {type(exc).__name__}: {exc}", markup=False
        )
        _stderr().print(
            "hint: re-run with FORGEKEEP_DEBUG=1 and report the traceback", markup=False
        )
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
