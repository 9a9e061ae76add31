"""``forgekeep tokens create|ls|revoke``: scoped, expiring API tokens.

The token text is printed once, by ``create``, to stdout (with ``--json`` it is
the ``token`` field); it cannot be shown again. ``ls`` never shows secrets or
their hashes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forgekeep.cli._common import JsonOpt, emit_json, info, stdout, vault, wants_json
from forgekeep.errors import UsageError

if TYPE_CHECKING:
    from forgekeep.service.operations import TokenInfo

app = typer.Typer(help="API tokens: scoped, expiring and revocable.", no_args_is_help=True)

_TTL = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_ttl(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``3600s`` as a timedelta."""
    match = _TTL.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"--ttl {text[:20]!r} is not a duration", hint="write e.g. 30d, 12h, 90m or 2w"
        )
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if value else "-"


def _print_token(token: TokenInfo) -> None:
    rows = {
        "id": token.id,
        "principal": token.principal,
        "label": token.label,
        "scopes": ",".join(token.scopes),
        "status": token.status,
        "expires": _when(token.expires_at),
    }
    for key, value in rows.items():
        stdout.print(f"{key:10} {value}", highlight=False, markup=False)


@app.command()
def create(
    ctx: typer.Context,
    *,
    label: Annotated[str, typer.Option(help="What the token is for, e.g. ci-nightly.")],
    scope: Annotated[list[str], typer.Option(help="read, write, audit or admin (repeatable).")],
    ttl: Annotated[str, typer.Option(help="Lifetime, e.g. 30d, 12h (at most 90d).")] = "30d",
    principal: Annotated[
        str | None, typer.Option(help="Create it for another principal (policy decides).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a token and print it once: it cannot be shown again."""
    lifetime = parse_ttl(ttl)
    with vault(ctx) as v:
        token, text = v.tokens.create(label=label, scopes=scope, ttl=lifetime, principal=principal)
    if wants_json(ctx, json_out):
        emit_json({"token": text, **dataclasses.asdict(token)})
        return
    _print_token(token)
    stdout.print(f"token      {text}", highlight=False, markup=False)
    info(ctx, "note: this is the only time the token is shown; store it now.")
    info(ctx, "hint: FORGEKEEP_TOKEN_FILE=FILE forgekeep login --token")


@app.command("ls")
def list_(
    ctx: typer.Context,
    principal: Annotated[
        str | None,
        typer.Option(help="Whose tokens (default: yours; '*' for the whole tenant)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List tokens (ids, labels, scopes, expiry; never secrets)."""
    with vault(ctx) as v:
        items = v.tokens.ls(principal=principal)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("id", "principal", "label", "scopes", "status", "expires", "last used")
    for t in items:
        table.add_row(
            t.id,
            t.principal,
            t.label,
            ",".join(t.scopes),
            t.status,
            _when(t.expires_at),
            _when(t.last_used_at),
        )
    stdout.print(table)


@app.command()
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="ID", help="Token id (16 hex digits).")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a token: every later use is refused."""
    with vault(ctx) as v:
        token = v.tokens.revoke(token_id)
    if wants_json(ctx, json_out):
        emit_json(token)
        return
    _print_token(token)
