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
from forgekeep.service import wiring
from forgekeep.service.doctor import run_checks
from forgekeep.service.keyring import lock_keyring, unlock_keyring
from forgekeep.service.workspace import AdminSpec, init_workspace

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
    home = options(ctx).home()
    passphrase = passphrase_for(passphrase_file, confirm=True)
    kdf = KdfSection(memory_kib=kdf_memory_kib, iterations=kdf_iterations)
    admin = AdminSpec(admin_name or getpass.getuser(), tuple(citizenship), location, org)
    result = init_workspace(
        home,
        passphrase=passphrase,
        admin=admin,
        trusted_issuers=trust_issuer or (),
        operator_jurisdictions=operator_jurisdictions,
        kdf=kdf,
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
    home = options(ctx).home()
    seconds = _ttl_seconds(ttl)
    pid = unlock_keyring(home, passphrase_for(passphrase_file), seconds)
    info(ctx, f"unlocked for {ttl} (agent pid {pid}); `forgekeep lock` ends it early")


def lock(ctx: typer.Context) -> None:
    """Stop the unlock agent: the keyring is sealed again."""
    stopped = lock_keyring(options(ctx).home())
    info(ctx, "locked" if stopped else "no agent was running; the keyring is locked")


def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the workspace, tenant, acting principal, agent and content counts."""
    home = options(ctx).home()
    settings = load_settings(home)
    agent = wiring.agent_info(home)
    with vault(ctx) as v:
        assets = v.ls()
        projects = v.projects()
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


def doctor(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Check the workspace: config, schema, keyring, sites, the log's rows. Exits 4 on problems.

    Needs no passphrase and writes nothing, so it works even when the log is broken
    at its tail and every other command fails (it then names the missing entries).
    """
    home = resolve_home(options(ctx).workspace)
    checks = run_checks(home)
    if wants_json(ctx, json_out):
        emit_json(checks)
    else:
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            stdout.print(f"{mark} {check.name}: {check.detail}", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_FINDINGS)


def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None,
        typer.Option(help="Build the demo workspace here and keep it (default: a temporary one)."),
    ] = None,
    big_mib: Annotated[int, typer.Option(help="Size of the large binary, in MiB.")] = 200,
) -> None:
    """Run the whole story in a scratch workspace: init, put, ls, get, tamper, summary."""
    from forgekeep.cli.demo import run_demo  # noqa: PLC0415 (demo pulls in generators)

    run_demo(ctx, keep=keep, big_mib=big_mib)
