"""``forgekeep ledger witnesses``: the partners' witnesses that cosign this log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forgekeep.cli._common import JsonOpt, emit_json, info, stdout, vault, wants_json

witnesses_app = typer.Typer(
    help="Partners' witnesses that cosign this log's checkpoints (c2sp.org/tlog-witness).",
    no_args_is_help=True,
)


@witnesses_app.command("add")
def witnesses_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name for the witness.")],
    url: Annotated[str, typer.Option(help="Its base URL, https://…")],
    vkey: Annotated[str, typer.Option(help="Its verifier key (type 0x04), from its operator.")],
    cacert: Annotated[
        Path,
        typer.Option(help="The CA bundle (PEM) that verifies its certificate; copied in."),
    ],
) -> None:
    """Add a witness: a partner's server that cosigns this log's checkpoints."""
    with vault(ctx) as v:
        added = v.witnesses.add(name, url=url, vkey=vkey, cacert=cacert)
    info(ctx, f"witness {added.name} at {added.url}")


@witnesses_app.command("rm")
def witnesses_rm(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The witness's name.")]
) -> None:
    """Stop asking a witness to cosign."""
    with vault(ctx) as v:
        v.witnesses.rm(name)


@witnesses_app.command("ls")
def witnesses_ls(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List the configured witnesses."""
    witnesses_status(ctx, json_out=json_out)


@witnesses_app.command("status")
def witnesses_status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Each witness's last cosigned size and its recent failures (403, 409, 422 …)."""
    with vault(ctx) as v:
        rows = v.witnesses.ls()
    if wants_json(ctx, json_out):
        emit_json([{"witness": w, "status": s} for w, s in rows])
        return
    table = Table("name", "url", "last cosigned size", "failures")
    for witness, state in rows:
        last = state.failures[-1]["code"] if state.failures else "-"
        table.add_row(witness.name, witness.url, str(state.last_size), last)
    stdout.print(table)
