"""``init``, ``status``, ``doctor``, ``unlock``, ``lock`` and ``demo``."""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Annotated

import typer

from forgekeep.cli._common import (
    JsonOpt,
    emit_json,
    info,
    options,
    passphrase_for,
    stdout,
    vault,
    wants_json,
)
from forgekeep.config import KdfSection, load_settings, resolve_home
from forgekeep.errors import EXIT_FINDINGS, UsageError

# The configuration (pydantic) is imported up here because `init`'s defaults are the keyring
# KDF's own: spelled out, the two could drift. The service is imported by each command.

PassphraseFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file", help="Read the passphrase from this file (instead of env or prompt)."
    ),
]
_TTL = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


CitizenshipOpt = Annotated[
    list[str],
    typer.Option(
        "--citizenship",
        help="The first admin's citizenship, an ISO 3166-1 code; repeat for dual nationals."
        " Sealed; export-control policies use it.",
    ),
]
LocationOpt = Annotated[
    str,
    typer.Option(help="Where the first admin works (ISO 3166-1 code). Sealed."),
]
TrustIssuerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--trust-issuer",
        help="A vetting issuer's verifier key (vkey, from `forgekeep keygen`) whose signed"
        " vetting records this workspace accepts. Repeatable; none by default.",
    ),
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Keep the metadata in this PostgreSQL database (new and empty), e.g."
        " postgresql+psycopg://forgekeep@db.example:5432/forgekeep. No password here:"
        " use ~/.pgpass or --database-url-file. Default: SQLite in the workspace.",
    ),
]
DatabaseUrlFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--database-url-file",
        help="A 0600 file holding the whole database URL (password included). The config"
        " names the file; the URL is read from it on every open.",
    ),
]
OperatorsOpt = Annotated[
    str | None,
    typer.Option(
        help="Residency rule for where operators may act from, e.g. EEA+CH"
        " (default: the admin's location)."
    ),
]


def init(
    ctx: typer.Context,
    *,
    citizenship: CitizenshipOpt,
    location: LocationOpt,
    passphrase_file: PassphraseFileOpt = None,
    admin_name: Annotated[
        str | None,
        typer.Option(help="Display name of the first admin (sealed; records use a pseudonym)."),
    ] = None,
    org: Annotated[
        str, typer.Option(help="Name of your own organisation, which owns new projects.")
    ] = "home",
    trust_issuer: TrustIssuerOpt = None,
    operator_jurisdictions: OperatorsOpt = None,
    kdf_memory_kib: Annotated[
        int, typer.Option(help="Argon2id memory cost in KiB for the keyring.")
    ] = KdfSection().memory_kib,
    kdf_iterations: Annotated[
        int, typer.Option(help="Argon2id iterations for the keyring.")
    ] = KdfSection().iterations,
    database_url: DatabaseUrlOpt = None,
    database_url_file: DatabaseUrlFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a workspace: config, keyring, metadata database, site local-de, first admin.

    The workspace is --workspace DIR or FORGEKEEP_HOME; it must be new or
    empty. The keyring is sealed by a passphrase from FORGEKEEP_PASSPHRASE(_FILE),
    --passphrase-file, or a prompt. Keep that passphrase: without it the
    workspace's content cannot be read by anyone.

    The first admin starts unvetted: policies refuse it everything but
    `forgekeep principals vet FILE` until a vetting record signed by a
    --trust-issuer key is imported.
    """
    from forgekeep.service.front import AdminSpec, DatabaseChoice, Workspace

    home = options(ctx).home()
    passphrase = passphrase_for(passphrase_file, confirm=True)
    kdf = KdfSection(memory_kib=kdf_memory_kib, iterations=kdf_iterations)
    admin = AdminSpec(admin_name or getpass.getuser(), tuple(citizenship), location, org)
    database = DatabaseChoice.choose(database_url, database_url_file)
    result = Workspace(home).init(
        passphrase=passphrase,
        admin=admin,
        trusted_issuers=trust_issuer or (),
        operator_jurisdictions=operator_jurisdictions,
        kdf=kdf,
        database=database,
    )
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    stdout.print(f"workspace {result.home}", highlight=False)
    stdout.print(f"tenant    {result.tenant_id}", highlight=False)
    stdout.print(f"admin     {result.principal_id} (unvetted)", highlight=False)
    stdout.print(f"site      {result.site} (DE)", highlight=False)
    info(
        ctx,
        f"hint: export FORGEKEEP_HOME={result.home}; forgekeep unlock; "
        f"forgekeep principals vet RECORD (a vetting record for {result.principal_id})",
    )


def _ttl_seconds(text: str) -> float:
    match = _TTL.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--ttl {text!r} is not a duration like 900, 15m, 8h or 1d")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


def unlock(
    ctx: typer.Context,
    ttl: Annotated[str, typer.Option(help="How long the agent keeps the keyring open.")] = "15m",
    passphrase_file: PassphraseFileOpt = None,
) -> None:
    """Unseal the keyring once and keep it in a per-user agent (0600 socket).

    Later commands use the agent instead of asking for the passphrase and
    re-running Argon2id. The agent exits after --ttl or on `forgekeep lock`.
    """
    from forgekeep.service.front import Workspace

    home = options(ctx).home()
    seconds = _ttl_seconds(ttl)
    pid = Workspace(home).unlock(passphrase_for(passphrase_file), seconds)
    info(ctx, f"unlocked for {ttl} (agent pid {pid}); `forgekeep lock` ends it early")


def lock(ctx: typer.Context) -> None:
    """Stop the unlock agent: the keyring is sealed again."""
    from forgekeep.service.front import Workspace

    stopped = Workspace(options(ctx).home()).lock()
    info(ctx, "locked" if stopped else "no agent was running; the keyring is locked")


def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the workspace, tenant, acting principal, agent and content counts."""
    from forgekeep.service.front import Workspace

    home = options(ctx).home()
    settings = load_settings(home)
    agent = Workspace(home).agent()
    with vault(ctx) as v:
        assets = v.assets.ls()
        projects = v.projects.ls()
    data = {
        "workspace": str(home),
        "tenant": settings.workspace.tenant,
        "principal": settings.workspace.principal,
        "agent": agent or "locked",
        "projects": len(projects),
        "assets": len(assets),
        "sites": [s.name for s in settings.sites],
    }
    if wants_json(ctx, json_out):
        emit_json(data)
        return
    for key, value in data.items():
        stdout.print(f"{key:10} {value}", highlight=False)


def doctor(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Also run the set-up steps a workspace made by an older release lacks"
            " (creates the log's signing key if there is none). Idempotent; needs an admin"
            " and the unlocked keyring, and is journaled.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check the workspace: config, schema, log key, keyring, sites, the log's rows.

    Exits 4 on problems. Needs no passphrase and writes nothing unless --fix is
    given, so it works even when the log is broken at its tail and every other
    command fails (it then names the missing entries).
    """
    from forgekeep.service.front import Workspace

    home = resolve_home(options(ctx).workspace)
    if fix:
        with vault(ctx) as v:
            made = v.ledger.ensure_key()
        info(ctx, f"log key {'created' if made.created else 'already present'}: {made.vkey}")
    checks = Workspace(home).doctor()
    if wants_json(ctx, json_out):
        emit_json(checks)
    else:
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            stdout.print(f"{mark} {check.name}: {check.detail}", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_FINDINGS)


def migrate(
    ctx: typer.Context,
    to_database: Annotated[
        str | None,
        typer.Option(
            "--to-database",
            help="Move the metadata from SQLite into this new, empty PostgreSQL database"
            " (no password in the URL: use ~/.pgpass or --to-database-url-file).",
        ),
    ] = None,
    to_database_url_file: Annotated[
        Path | None,
        typer.Option(
            "--to-database-url-file", help="As --to-database, with the URL kept in a 0600 file."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Upgrade the workspace's database schema to this release (take a backup first).

    Opening a workspace never migrates it: after an upgrade of forgekeep, commands
    refuse an older schema (FK-DB-002) until this runs. It is idempotent.

    With --to-database, the metadata of an SQLite workspace is copied into
    PostgreSQL, checked (row counts, the ledger rebuilt and its checkpoints
    verified), and forgekeep.toml is pointed at it; then `ledger verify` runs on
    the copy. The SQLite file is kept as it was.
    """
    home = resolve_home(options(ctx).workspace)
    from forgekeep.service.front import DatabaseChoice, Workspace

    workspace = Workspace(home)
    upgraded = workspace.migrate()
    data: dict[str, object] = {
        "from": upgraded.from_revision,
        "to": upgraded.to_revision,
        "log_key_missing": upgraded.log_key_missing,
    }
    if to_database is not None or to_database_url_file is not None:
        moved = workspace.move_to_database(DatabaseChoice.choose(to_database, to_database_url_file))
        try:
            with vault(ctx, home=home) as v:
                verified = v.ledger.verify()
        except BaseException:
            workspace.restore_config(moved.previous_config)
            raise
        data |= {"database": moved.target, "rows": moved.rows, "log_size": verified.size}
    if wants_json(ctx, json_out):
        emit_json(data)
        return
    if upgraded.changed:
        info(ctx, f"schema {upgraded.from_revision} -> {upgraded.to_revision}")
    else:
        info(ctx, f"schema {upgraded.to_revision}: up to date")
    if upgraded.log_key_missing:
        info(ctx, "hint: the log has no signing key yet: an admin runs `forgekeep doctor --fix`")
    if "database" in data:
        stdout.print(
            f"moved {data['rows']} rows to {data['database']}; ledger verified"
            f" ({data['log_size']} entries); the SQLite file is kept",
            highlight=False,
        )


def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None,
        typer.Option(help="Build the demo workspace here and keep it (default: a temporary one)."),
    ] = None,
    big_mib: Annotated[int, typer.Option(help="Size of the large binary, in MiB.")] = 200,
) -> None:
    """Run the whole story in a scratch workspace: init, put, ls, get, tamper, summary."""
    from forgekeep.cli.demo import run_demo  # demo pulls in generators

    run_demo(ctx, keep=keep, big_mib=big_mib)
