"""``forgekeep licences grant|revoke|ls|show`` (alias ``licenses``) and
``forgekeep export-auth add|revoke|ls``.

A licence lets another organisation use some of your assets: which actions,
where (a territory rule such as ``EEA+CH``), why (a purpose) and until when.
An export authorisation records a government authorisation (ITAR TAA or
DSP-5, EAR licence or exception) that an organisation holds. Dates are ISO 8601
with a timezone, or a plain date meaning midnight UTC; naive times are refused.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table

from forgekeep.cli._common import JsonOpt, emit_json, stdout, vault, wants_json
from forgekeep.errors import UsageError

if TYPE_CHECKING:
    from forgekeep.service.operations import ExportAuthInfo, LicenceInfo

# The service's LICENCE_ACTIONS and EXPORT_KINDS, spelled out so that --help imports no
# service (tests/cli/test_help.py checks that they agree).
LICENCE_ACTIONS: Final = ("read", "download", "modify", "manufacture", "share", "sublicense")
EXPORT_KINDS: Final = ("ITAR-TAA", "ITAR-DSP-5", "EAR-licence", "EAR-exception")

app = typer.Typer(
    help=(
        "IP licences: let another organisation read, download, modify, manufacture, share "
        "or sublicense some of your assets, in a territory, for a purpose, for a time. "
        "Revoked licences stay on record."
    ),
    no_args_is_help=True,
)
export_app = typer.Typer(
    help=(
        "Export authorisations an organisation holds (ITAR TAA or DSP-5, EAR licence or "
        "licence exception) for some assets and destination countries."
    ),
    no_args_is_help=True,
)

_DATE_HINT = "use an ISO 8601 time with a timezone (2027-01-31T12:00:00Z) or a date (2027-01-31)"
AssetOpt = Annotated[
    list[str] | None,
    typer.Option("--asset", metavar="P/NAME", help="An asset as PROJECT/NAME or id (repeatable)."),
]
ProjectOpt = Annotated[
    list[str] | None,
    typer.Option("--project", metavar="P", help="Every asset of project P (repeatable)."),
]
IdOpt = Annotated[
    str | None,
    typer.Option("--id", metavar="ID", help="Your own id, e.g. L-123 (default: generated)."),
]
ExportIdOpt = Annotated[
    str | None,
    typer.Option("--id", metavar="ID", help="Your own id, e.g. TAA-42 (default: generated)."),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Include revoked entries.")]


def parse_when(text: str, option: str) -> dt.datetime:
    """An ISO 8601 time with a timezone, or a date (midnight UTC)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not an ISO 8601 date or time", hint=_DATE_HINT
        ) from None
    if when.utcoffset() is None:
        raise UsageError(f"{option} {text!r} has no timezone", hint=_DATE_HINT)
    return when.astimezone(dt.UTC)


def _print_rows(rows: dict[str, object]) -> None:
    for key, value in rows.items():
        stdout.print(f"{key:13} {value}", highlight=False, markup=False)


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else "-"


def _emit_licence(ctx: typer.Context, info: LicenceInfo, *, as_json: bool) -> None:
    if wants_json(ctx, as_json):
        emit_json(info)
        return
    _print_rows(
        {
            "id": info.id,
            "status": info.status,
            "licensee": info.licensee_org_id,
            "actions": ",".join(info.actions),
            "assets": ",".join(info.assets) or "-",
            "projects": ",".join(info.projects) or "-",
            "territory": info.territory,
            "purpose": info.purpose,
            "valid from": _when(info.valid_from),
            "valid until": _when(info.valid_until),
            "granted by": f"{info.granted_by} at {_when(info.granted_at)}",
            "revoked": f"{info.revoked_by} at {_when(info.revoked_at)}" if info.revoked_at else "-",
        }
    )


def _emit_export(ctx: typer.Context, info: ExportAuthInfo, *, as_json: bool) -> None:
    if wants_json(ctx, as_json):
        emit_json(info)
        return
    _print_rows(
        {
            "id": info.id,
            "status": info.status,
            "holder": info.holder_org_id,
            "kind": info.kind,
            "reference": info.reference,
            "assets": ",".join(info.assets) or "-",
            "projects": ",".join(info.projects) or "-",
            "destinations": info.destinations,
            "§126.18": "covered" if info.covers_126_18 else "not covered",
            "valid until": _when(info.valid_until),
            "added by": f"{info.added_by} at {_when(info.added_at)}",
            "revoked": f"{info.revoked_by} at {_when(info.revoked_at)}" if info.revoked_at else "-",
        }
    )


@app.command()
def grant(
    ctx: typer.Context,
    *,
    to: Annotated[
        str, typer.Option("--to", metavar="ORG", help="Licensee organisation (name or id).")
    ],
    action: Annotated[
        list[str],
        typer.Option(
            metavar="ACTION",
            help=f"What the licensee may do (repeatable): {', '.join(LICENCE_ACTIONS)}.",
        ),
    ],
    territory: Annotated[
        str, typer.Option(metavar="RULE", help="Where it may be used: codes or blocs, e.g. EEA+CH.")
    ],
    purpose: Annotated[
        str, typer.Option(metavar="PURPOSE", help="Why, as an identifier, e.g. tooling.")
    ],
    valid_from: Annotated[
        str,
        typer.Option("--from", metavar="WHEN", help="Start: ISO 8601 with a timezone, or a date."),
    ],
    until: Annotated[
        str, typer.Option(metavar="WHEN", help="End (in the future): ISO 8601 or a date.")
    ],
    asset: AssetOpt = None,
    project: ProjectOpt = None,
    licence_id: IdOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Grant an organisation a licence: what it may do with which assets, where, why, until when.

    Example: `forgekeep licences grant --to acme --asset blade/root.step --action read
    --action manufacture --territory EEA+CH --purpose tooling --from 2026-01-01 --until 2027-01-01`
    """
    start, end = parse_when(valid_from, "--from"), parse_when(until, "--until")
    with vault(ctx) as v:
        info = v.licences.grant(
            licensee=to,
            assets=asset or [],
            projects=project or [],
            actions=action,
            territory=territory,
            purpose=purpose,
            valid_from=start,
            valid_until=end,
            licence_id=licence_id,
        )
    _emit_licence(ctx, info, as_json=json_out)


@app.command()
def revoke(
    ctx: typer.Context,
    licence_id: Annotated[str, typer.Argument(metavar="ID", help="Licence id (L-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a licence now; it stays on record as revoked."""
    with vault(ctx) as v:
        info = v.licences.revoke(licence_id)
    _emit_licence(ctx, info, as_json=json_out)


@app.command("ls")
def list_(ctx: typer.Context, show_all: AllOpt = False, json_out: JsonOpt = False) -> None:
    """List licences (revoked ones only with --all)."""
    with vault(ctx) as v:
        items = v.licences.ls(include_revoked=show_all)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("id", "status", "licensee", "actions", "territory", "purpose", "until")
    for i in items:
        table.add_row(
            i.id, i.status, i.licensee_org_id, ",".join(i.actions), i.territory, i.purpose,
            _when(i.valid_until),
        )  # fmt: skip
    stdout.print(table)


@app.command()
def show(
    ctx: typer.Context,
    licence_id: Annotated[str, typer.Argument(metavar="ID", help="Licence id (L-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Show one licence."""
    with vault(ctx) as v:
        info = v.licences.show(licence_id)
    _emit_licence(ctx, info, as_json=json_out)


@export_app.command()
def add(
    ctx: typer.Context,
    *,
    holder: Annotated[str, typer.Option(metavar="ORG", help="Holder organisation (name or id).")],
    kind: Annotated[str, typer.Option(metavar="KIND", help=f"One of {', '.join(EXPORT_KINDS)}.")],
    reference: Annotated[
        str, typer.Option(metavar="REF", help="The authorisation's number, e.g. TAA-2026-0042.")
    ],
    destinations: Annotated[
        str, typer.Option(metavar="RULE", help="Countries it allows, e.g. GB+CA or NATO.")
    ],
    until: Annotated[
        str, typer.Option(metavar="WHEN", help="Expiry: ISO 8601 with a timezone, or a date.")
    ],
    asset: AssetOpt = None,
    project: ProjectOpt = None,
    covers_126_18: Annotated[
        bool,
        typer.Option(
            "--covers-126-18",
            help=(
                "It covers 22 CFR 126.18: the holder's vetted dual and third-country national "
                "employees may receive the data (ITAR kinds only)."
            ),
        ),
    ] = False,
    auth_id: ExportIdOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record an export authorisation (TAA, DSP-5, EAR licence or exception) an organisation holds.

    It names the assets (or whole projects) it covers and the destination countries.
    """
    end = parse_when(until, "--until")
    with vault(ctx) as v:
        info = v.export_auths.add(
            holder=holder,
            kind=kind,
            reference=reference,
            assets=asset or [],
            projects=project or [],
            destinations=destinations,
            valid_until=end,
            covers_126_18=covers_126_18,
            auth_id=auth_id,
        )
    _emit_export(ctx, info, as_json=json_out)


@export_app.command("revoke")
def revoke_export(
    ctx: typer.Context,
    auth_id: Annotated[str, typer.Argument(metavar="ID", help="Authorisation id (EA-…).")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke an export authorisation now; it stays on record as revoked."""
    with vault(ctx) as v:
        info = v.export_auths.revoke(auth_id)
    _emit_export(ctx, info, as_json=json_out)


@export_app.command("ls")
def list_export(ctx: typer.Context, show_all: AllOpt = False, json_out: JsonOpt = False) -> None:
    """List export authorisations (revoked ones only with --all)."""
    with vault(ctx) as v:
        items = v.export_auths.ls(include_revoked=show_all)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("id", "status", "holder", "kind", "reference", "destinations", "§126.18", "until")
    for i in items:
        table.add_row(
            i.id, i.status, i.holder_org_id, i.kind, i.reference, i.destinations,
            "yes" if i.covers_126_18 else "no", _when(i.valid_until),
        )  # fmt: skip
    stdout.print(table)
