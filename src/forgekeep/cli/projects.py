"""``forgekeep projects create|ls|show|set``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forgekeep.cli._common import JsonOpt, emit_json, stdout, vault, wants_json

if TYPE_CHECKING:
    from forgekeep.service.operations import ProjectInfo

app = typer.Typer(
    help="Projects: where assets live, how many replicas, which keys.", no_args_is_help=True
)


def _show(ctx: typer.Context, info: ProjectInfo, *, as_json: bool) -> None:
    if wants_json(ctx, as_json):
        emit_json(info)
        return
    for field in ("name", "id", "residency", "replicas", "key_ring", "shred_domain", "domain_key"):
        stdout.print(f"{field:13} {getattr(info, field)}", highlight=False)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name (lower-case, digits, . _ -).")],
    *,
    residency: Annotated[
        str,
        typer.Option(
            help="Where its data may reside: ISO codes or blocs joined by +, e.g. DE or EEA+CH."
        ),
    ],
    replicas: Annotated[int, typer.Option(help="Replicas each version needs.")] = 1,
    key_ring: Annotated[
        str | None,
        typer.Option(help="Key ring for its domain key (default: the tenant's asset ring)."),
    ] = None,
    shred_domain: Annotated[
        str, typer.Option(help="'project': one domain key for all assets; 'asset': one per asset.")
    ] = "project",
    owner: Annotated[
        str | None,
        typer.Option(
            help="Organisation that owns the project's IP (default: your own, set at init)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a project and its domain key."""
    with vault(ctx) as v:
        info = v.projects.create(
            name,
            residency=residency,
            replicas=replicas,
            key_ring=key_ring,
            shred_domain=shred_domain,
            owner=owner,
        )
    _show(ctx, info, as_json=json_out)


@app.command("ls")
def list_(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List projects."""
    with vault(ctx) as v:
        items = v.projects.ls()
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("name", "residency", "replicas", "key ring", "shred domain")
    for p in items:
        table.add_row(p.name, p.residency, str(p.replicas), p.key_ring, p.shred_domain)
    stdout.print(table)


@app.command()
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    json_out: JsonOpt = False,
) -> None:
    """Show one project."""
    with vault(ctx) as v:
        info = v.projects.show(name)
    _show(ctx, info, as_json=json_out)


@app.command("set")
def set_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    residency: Annotated[str | None, typer.Option(help="New residency rule.")] = None,
    replicas: Annotated[int | None, typer.Option(help="New replica count.")] = None,
    shred_domain: Annotated[str | None, typer.Option(help="'project' or 'asset'.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a project's residency, replicas or shred domain (journaled)."""
    with vault(ctx) as v:
        info = v.projects.set(
            name, residency=residency, replicas=replicas, shred_domain=shred_domain
        )
    _show(ctx, info, as_json=json_out)
