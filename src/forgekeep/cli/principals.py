"""``forgekeep principals add|ls|show|suspend|resume|vet|set-key|erase|hold`` and ``whoami``.

People are shown by pseudonym; only ``show`` opens a person's sealed attributes.
``erase`` destroys them for good, after two approvals, unless a legal hold applies;
``hold`` places one, and lifting it early needs another person's approval.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forgekeep import limits
from forgekeep.cli._common import JsonOpt, emit_json, stdout, vault, wants_json
from forgekeep.cli.licences import parse_when
from forgekeep.errors import InputMissingError, UsageError

if TYPE_CHECKING:
    from forgekeep.service.operations import PrincipalInfo

app = typer.Typer(
    help="Principals: organisations, people (pseudonymous) and machines; vetting records.",
    no_args_is_help=True,
)


class Kind(enum.StrEnum):
    ORG = "org"
    PERSON = "person"
    MACHINE = "machine"


def _print_info(info: PrincipalInfo) -> None:
    expires = info.vetting_expires.isoformat() if info.vetting_expires else "-"
    rows = {
        "id": info.id,
        "kind": info.kind,
        "org": info.org_id or "-",
        "roles": ",".join(info.roles) or "-",
        "status": info.status,
        "clearance": info.clearance,
        "vetting": expires,
        "trainings": ",".join(info.trainings) or "-",
        "fingerprints": ",".join(info.fingerprints) or "-",
    }
    for key, value in rows.items():
        stdout.print(f"{key:13} {value}", highlight=False, markup=False)


def _require(value: str | None, option: str, kind: Kind) -> str:
    if value is None:
        raise UsageError(f"`principals add {kind}` needs {option}")
    return value


@app.command()
def add(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="org, person or machine.")],
    *,
    name: Annotated[
        str | None, typer.Option(help="Organisation name, or a person's display name.")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Organisation (name or id).")] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="Organisation's ISO 3166-1 country.")
    ] = None,
    citizenship: Annotated[
        list[str] | None, typer.Option(help="A person's citizenship (repeatable).")
    ] = None,
    location: Annotated[str | None, typer.Option(help="A person's ISO 3166-1 location.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Role (repeatable).")] = None,
    training: Annotated[list[str] | None, typer.Option(help="Training (repeatable).")] = None,
    fingerprint: Annotated[
        list[str] | None,
        typer.Option(help="A machine's certificate SHA-256, 64 lower-case hex (repeatable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add an organisation, a person (attributes sealed) or a machine."""
    with vault(ctx) as v:
        if kind is Kind.ORG:
            org_info = v.principals.add_organisation(
                _require(name, "--name", kind),
                jurisdiction=_require(jurisdiction, "--jurisdiction", kind),
            )
            if wants_json(ctx, json_out):
                emit_json(org_info)
            else:
                for key in ("id", "name", "jurisdiction"):
                    stdout.print(f"{key:13} {getattr(org_info, key)}", highlight=False)
            return
        if kind is Kind.PERSON:
            info = v.principals.add_person(
                org=_require(org, "--org", kind),
                display_name=_require(name, "--name", kind),
                citizenships=citizenship or [],
                location=_require(location, "--location", kind),
                roles=role or [],
                trainings=training or [],
            )
        else:
            info = v.principals.add_machine(
                org=_require(org, "--org", kind), roles=role or [], fingerprints=fingerprint or []
            )
    _emit_info(ctx, info, as_json=json_out)


@app.command("ls")
def list_(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List organisations and principals (pseudonyms only, no personal data)."""
    with vault(ctx) as v:
        orgs = v.principals.organisations()
        items = v.principals.ls()
    if wants_json(ctx, json_out):
        emit_json({"organisations": orgs, "principals": items})
        return
    org_table = Table("organisation", "id", "jurisdiction")
    for o in orgs:
        org_table.add_row(o.name, o.id, o.jurisdiction)
    stdout.print(org_table)
    table = Table("id", "kind", "org", "roles", "status", "clearance", "vetting expires")
    for p in items:
        expires = p.vetting_expires.isoformat() if p.vetting_expires else "-"
        table.add_row(
            p.id, p.kind, p.org_id or "-", ",".join(p.roles), p.status, str(p.clearance), expires
        )
    stdout.print(table)


@app.command()
def show(
    ctx: typer.Context,
    principal_id: Annotated[str, typer.Argument(metavar="ID", help="Pseudonym (p-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Show one principal, opening its sealed personal attributes."""
    with vault(ctx) as v:
        detail = v.principals.show(principal_id)
    if wants_json(ctx, json_out):
        emit_json(detail)
        return
    _print_info(detail.principal)
    for key, value in sorted(detail.attributes.items()):
        stdout.print(f"{key:13} {value}", highlight=False, markup=False)


def _emit_info(ctx: typer.Context, info: PrincipalInfo, *, as_json: bool) -> None:
    """One principal, as JSON or as aligned lines."""
    if wants_json(ctx, as_json):
        emit_json(info)
        return
    _print_info(info)


@app.command()
def suspend(
    ctx: typer.Context,
    principal_id: Annotated[str, typer.Argument(metavar="ID", help="Pseudonym (p-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Suspend a principal: every request it makes is denied until resumed."""
    with vault(ctx) as v:
        info = v.principals.suspend(principal_id)
    _emit_info(ctx, info, as_json=json_out)


@app.command()
def resume(
    ctx: typer.Context,
    principal_id: Annotated[str, typer.Argument(metavar="ID", help="Pseudonym (p-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Make a suspended principal active again."""
    with vault(ctx) as v:
        info = v.principals.resume(principal_id)
    _emit_info(ctx, info, as_json=json_out)


def _read_document(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            # One byte over the limit, so the service refuses (and journals) an oversize record.
            return handle.read(limits.MAX_SIGNED_DOCUMENT_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise InputMissingError(f"vetting record {path} does not exist") from None
    except IsADirectoryError:
        raise InputMissingError(f"vetting record {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputMissingError(f"cannot read {path}: {exc.strerror or exc}") from None


@app.command()
def vet(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Signed vetting record (JSON).")],
    json_out: JsonOpt = False,
) -> None:
    """Import a vetting record signed by a trusted issuer; sets clearance and expiry."""
    document = _read_document(file)
    with vault(ctx) as v:
        result = v.vetting.import_record(document)
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    for key in ("record_id", "subject", "issuer_key_id", "clearance", "expires"):
        stdout.print(f"{key:13} {getattr(result, key)}", highlight=False, markup=False)


@app.command("set-key")
def set_key(
    ctx: typer.Context,
    principal_id: Annotated[str, typer.Argument(metavar="P", help="Pseudonym (p-…).")],
    vkey: Annotated[
        str,
        typer.Argument(
            metavar="VKEY", help="The public vkey `forgekeep keygen` printed (NAME+KEYID+BASE64)."
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Register the public key a principal signs approvals with (replaces any earlier one).

    Give the PUBLIC vkey, never the private key file. Replacing a key voids the
    approvals signed with the old one that were not used yet.
    """
    with vault(ctx) as v:
        result = v.principals.set_signing_key(principal_id, vkey)
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    stdout.print(f"{result.principal} signs approvals with {result.key_id}", highlight=False)


@app.command()
def erase(
    ctx: typer.Context,
    principal_id: Annotated[
        str | None, typer.Argument(metavar="P", help="Pseudonym (p-…) to erase.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (no personal data).")] = None,
    approval: Annotated[
        str | None, typer.Option(metavar="ID", help="Run the approved erasure ID.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Erase a person's name, citizenships and location (needs 2 approvals; irreversible).

    `erase P --reason R` asks for approval; once two other people approved it,
    the requester runs `erase --approval ID`.
    """
    if (principal_id is None) == (approval is None):
        raise UsageError("give either P --reason R, or --approval ID")
    if approval is not None:
        with vault(ctx) as v:
            done = v.erasure.erase(approval)
        if wants_json(ctx, json_out):
            emit_json(done)
        else:
            stdout.print(f"{done.principal} erased; subject key destroyed", highlight=False)
        return
    with vault(ctx) as v:
        asked = v.erasure.request(str(principal_id), reason=_require_text(reason, "--reason"))
    if wants_json(ctx, json_out):
        emit_json(asked)
        return
    stdout.print(f"approval {asked.id}: needs {asked.required} approvals", highlight=False)


def _require_text(value: str | None, option: str) -> str:
    if value is None:
        raise UsageError(f"this needs {option}")
    return value


@app.command()
def hold(
    ctx: typer.Context,
    principal_id: Annotated[
        str | None, typer.Argument(metavar="P", help="Pseudonym (p-…).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="DATE", help="End of the hold (ISO 8601 date or time).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (e.g. a case reference).")] = None,
    release: Annotated[
        bool, typer.Option("--release", help="Lift the hold early (needs an approval).")
    ] = False,
    approval: Annotated[
        str | None, typer.Option(metavar="ID", help="With --release: run the approved lift ID.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Put a legal hold on a principal's records (no erasure until it ends), or lift it.

    `hold P --until DATE --reason R` places or extends a hold. A hold ends by
    itself at DATE; lifting it earlier needs another person's signed approval:
    `hold P --release --reason R` asks for it, and once someone other than you
    approved it (`forgekeep approvals approve ID`), you run
    `hold --release --approval ID`.
    """
    if release:
        _release_hold(ctx, principal_id, reason, approval, json_out=json_out)
        return
    if principal_id is None or until is None or approval is not None:
        raise UsageError("give P --until DATE --reason R, or --release")
    end = parse_when(until, "--until")
    with vault(ctx) as v:
        result = v.holds.set(principal_id, until=end, reason=_require_text(reason, "--reason"))
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    stdout.print(f"{result.principal} held until {result.until}", highlight=False)


def _release_hold(
    ctx: typer.Context,
    principal_id: str | None,
    reason: str | None,
    approval: str | None,
    *,
    json_out: bool,
) -> None:
    if (principal_id is None) == (approval is None):
        raise UsageError("give either P --release --reason R, or --release --approval ID")
    if approval is not None:
        with vault(ctx) as v:
            done = v.holds.release(approval)
        if wants_json(ctx, json_out):
            emit_json(done)
        else:
            stdout.print(f"{done.principal} released", highlight=False)
        return
    with vault(ctx) as v:
        asked = v.holds.request_release(str(principal_id), reason=_require_text(reason, "--reason"))
    if wants_json(ctx, json_out):
        emit_json(asked)
        return
    stdout.print(f"approval {asked.id}: needs {asked.required} approval", highlight=False)


def whoami(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the acting principal: tenant, organisation, roles, vetting, how it authenticated."""
    with vault(ctx) as v:
        me = v.principals.whoami()
    if wants_json(ctx, json_out):
        emit_json(me)
        return
    expires = me.vetting_expires.isoformat() if me.vetting_expires else "-"
    rows = {
        "principal": me.principal,
        "tenant": me.tenant,
        "roles": ",".join(me.roles) or "-",
        "status": me.status,
        "org": me.org or "-",
        "clearance": me.clearance,
        "vetting": expires,
        "auth": me.auth if me.token_id is None else f"{me.auth} {me.token_id}",
    }
    if me.scopes is not None:
        rows["scopes"] = ",".join(me.scopes)
    for key, value in rows.items():
        stdout.print(f"{key:10} {value}", highlight=False, markup=False)
