"""``forgekeep access explain`` and ``forgekeep access break-glass``.

Explanations name policies by ``@id`` and guards by ``@reason`` code; they never
show a person's citizenships or location.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final

import typer

from forgekeep.cli._common import JsonOpt, emit_json, stdout, vault, wants_json
from forgekeep.cli.approvals import break_glass_app
from forgekeep.errors import UsageError

if TYPE_CHECKING:
    from forgekeep.service.operations import Explanation, WhatIf

#: ``forgekeep.service.access.explain.ASSET_VERBS``, spelled out so that --help imports no
#: service (tests/cli/test_help.py checks that the two agree).
ASSET_VERBS: Final = (
    "read",
    "download",
    "modify",
    "manufacture",
    "share",
    "sublicense",
    "inspect",
    "delete",
    "classify",
)

app = typer.Typer(
    help="Why a request was allowed or denied; emergency (break-glass) access.",
    no_args_is_help=True,
)
app.add_typer(break_glass_app, name="break-glass")


def _print_explanation(explained: Explanation) -> None:
    stdout.print(f"request {explained.request_id}", highlight=False)
    for event in explained.events:
        code = f" [{event.code}]" if event.code else ""
        stdout.print(
            f"  {event.at:%Y-%m-%d %H:%M:%S} {event.action} by {event.actor} on {event.target}:"
            f" {event.outcome}{code}",
            highlight=False,
            markup=False,
        )
        if event.sealed == "unreadable":
            stdout.print("    reasons:  sealed, unreadable (the subject was erased)", markup=False)
        elif event.reasons:
            sealed = "  (sealed in the log; opened for you)" if event.sealed else ""
            stdout.print(f"    reasons:  {', '.join(event.reasons)}{sealed}", markup=False)
        if event.policies:
            stdout.print(f"    policies: {', '.join(event.policies)}", markup=False)


def _print_what_if(result: WhatIf) -> None:
    verdict = "allow" if result.allowed else "deny"
    stdout.print(f"{verdict}: {result.principal} {result.action} {result.asset}", highlight=False)
    stdout.print(f"  policies: {', '.join(result.policies) or '-'}", markup=False)
    if result.reasons:
        stdout.print(f"  reasons:  {', '.join(result.reasons)}", markup=False)
    if result.licence or result.export_auth:
        stdout.print(
            f"  under:    licence {result.licence or '-'}, export authorisation"
            f" {result.export_auth or '-'}",
            markup=False,
        )


@app.command()
def explain(
    ctx: typer.Context,
    *,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request",
            help="A request id from a refusal message (req-…): shows how it was decided.",
        ),
    ] = None,
    principal: Annotated[
        str | None, typer.Option(help="What if this principal (pseudonym) asked …")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help=f"… to do this ({', '.join(ASSET_VERBS)}) …")
    ] = None,
    asset: Annotated[str | None, typer.Option(help="… on this asset (name or id)?")] = None,
    project: Annotated[str | None, typer.Option(help="Project of the asset.")] = None,
    purpose: Annotated[str, typer.Option(help="The purpose to assume.")] = "unspecified",
    json_out: JsonOpt = False,
) -> None:
    """Explain a decision: a past request (--request R), or a what-if question.

    Shows allow or deny and the policies that decided it by @id, with the
    @reason code of each guard that denied. Anyone may explain their own
    requests; admins and auditors may explain any request and ask what-if.
    """
    asked = (principal, action, asset)
    if request_id is not None:
        if any(x is not None for x in asked):
            raise UsageError("give either --request R, or --principal, --action and --asset")
        with vault(ctx) as v:
            explained = v.access.explain(request_id)
        if wants_json(ctx, json_out):
            emit_json(explained)
        else:
            _print_explanation(explained)
        return
    if principal is None or action is None or asset is None:
        raise UsageError("give --request R, or all of --principal, --action and --asset")
    with vault(ctx) as v:
        result = v.access.what_if(
            principal=principal, action=action, asset=asset, project=project, purpose=purpose
        )
    if wants_json(ctx, json_out):
        emit_json(result)
    else:
        _print_what_if(result)
