"""``forgekeep approvals ls|show|approve|reject`` and the break-glass commands.

Some actions (applying a policy set, break-glass access, later key destruction
and erasure) run only after other people approve them. An approver signs their
verdict with their own Ed25519 key (``forgekeep keygen``), which an admin has
registered for them (``forgekeep principals set-key``).

Security rules: the secret key is read from a file (bounded), never from the
command line, and never printed; verdicts are verified by the service, which
refuses the requester's own approval. ``break_glass_app`` is mounted as
``forgekeep access break-glass``.
"""

from __future__ import annotations

import datetime as dt
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forgekeep import limits
from forgekeep.cli._common import JsonOpt, emit_json, info, read_bounded, stdout, vault, wants_json
from forgekeep.errors import (
    EXIT_FINDINGS,
    FormatError,
    UsageError,
)

if TYPE_CHECKING:
    from forgekeep.crypto.signed import SignerKey
    from forgekeep.service.operations import ApprovalDetail, ApprovalInfo

app = typer.Typer(
    help=(
        "Approvals: actions that need other people's signed consent (policy apply: 1 "
        "approver; break-glass: 2). Who may approve: an active principal with the approver "
        "or admin role whose signing key is registered (`forgekeep keygen`, then an admin "
        "runs `forgekeep principals set-key`). The requester can never approve their own "
        "request. Once approved, the requester runs the action."
    ),
    no_args_is_help=True,
)
break_glass_app = typer.Typer(
    help=(
        "Break-glass: emergency access to named assets for a short time (at most "
        f"{limits.MAX_BREAK_GLASS_MINUTES} minutes), after two other people approve it."
    ),
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Approval id (ap-…).")]
KeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--key",
        metavar="KEYFILE",
        help="Your private signing key file from `forgekeep keygen NAME -o KEYFILE`.",
    ),
]
SignedOpt = Annotated[
    Path | None,
    typer.Option(
        "--signed",
        metavar="FILE",
        help="A verdict already signed elsewhere (an `approval` signed object, JSON).",
    ),
]


def read_signer(ctx: typer.Context, path: Path) -> SignerKey:
    """The signer key in ``path``; its content never appears in an error."""
    from forgekeep.crypto.signed import parse_signer_key

    data = read_bounded(path, limits.MAX_SIGNER_KEY_FILE_BYTES, "key file")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise FormatError(f"key file {path} is not a forgekeep signer key") from None
    key = parse_signer_key(text)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        info(ctx, f"warning: {path} is readable by others; run `chmod 600 {path}`")
    return key


def print_approval(item: ApprovalInfo) -> None:
    rows = {
        "id": item.id,
        "kind": item.kind,
        "target": item.target,
        "requester": item.requester,
        "status": item.status,
        "approvals": f"{item.approvals} of {item.required}",
        "created": item.created_at.isoformat(),
        "expires": item.expires_at.isoformat(),
        "payload": item.payload_sha256,
    }
    for key, value in rows.items():
        stdout.print(f"{key:10} {value}", highlight=False, markup=False)


@app.command("ls")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: pending, approved, rejected, consumed, expired."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List approval requests, oldest first."""
    with vault(ctx) as v:
        items = v.approvals.ls(status=status)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("id", "kind", "target", "requester", "status", "approvals", "expires")
    for a in items:
        table.add_row(
            a.id, a.kind, a.target, a.requester, a.status,
            f"{a.approvals}/{a.required}", a.expires_at.isoformat(),
        )  # fmt: skip
    stdout.print(table)


MAX_WAIT_SECONDS = 24 * 3600
WaitOpt = Annotated[
    int | None,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        help="Wait up to SECONDS for the approval to leave 'pending'. Each look is a"
        " journaled show, so it backs off from 2 s to 30 s between looks.",
    ),
]


def _wait_for(ctx: typer.Context, approval_id: str, seconds: int) -> ApprovalDetail:
    if not 0 < seconds <= MAX_WAIT_SECONDS:
        raise UsageError(f"--wait takes 1-{MAX_WAIT_SECONDS} seconds")
    deadline, pause = time.monotonic() + seconds, 2.0
    with vault(ctx) as v:
        while True:
            detail = v.approvals.show(approval_id)
            if detail.approval.status != "pending" or time.monotonic() >= deadline:
                return detail
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 30.0)


@app.command()
def show(
    ctx: typer.Context, approval_id: IdArg, wait: WaitOpt = None, json_out: JsonOpt = False
) -> None:
    """Show one approval: what it approves (the payload), who signed, what to sign.

    With --wait SECONDS, waits for the approvers first; exits 4 if it is still
    pending when the time is up.
    """
    if wait is None:
        with vault(ctx) as v:
            detail = v.approvals.show(approval_id)
    else:
        detail = _wait_for(ctx, approval_id, wait)
    _print_detail(ctx, detail, as_json=json_out)
    if wait is not None and detail.approval.status == "pending":
        raise typer.Exit(EXIT_FINDINGS)


def _print_detail(ctx: typer.Context, detail: ApprovalDetail, *, as_json: bool) -> None:
    if wants_json(ctx, as_json):
        emit_json(detail)
        return
    print_approval(detail.approval)
    for verdict in detail.verdicts:
        line = f"{verdict.verdict:10} {verdict.approver} key {verdict.key_id}"
        stdout.print(f"{line} at {verdict.signed_at.isoformat()}", highlight=False, markup=False)
    stdout.print(f"{'payload':10}", highlight=False)
    stdout.print_json(data=dict(detail.payload))


def _decide(
    ctx: typer.Context, approval_id: str, verdict: str, key: Path | None, signed: Path | None
) -> ApprovalInfo:
    if key is not None and signed is None:
        signer = read_signer(ctx, key)
        with vault(ctx) as v:
            if verdict == "approve":
                return v.approvals.approve(approval_id, signer)
            return v.approvals.reject(approval_id, signer)
    if signed is None or key is not None:
        raise UsageError(
            f"`approvals {verdict}` needs exactly one of --key KEYFILE or --signed FILE",
            hint="--key signs here with your key file; --signed submits a verdict signed elsewhere",
        )
    document = read_bounded(signed, limits.MAX_SIGNED_DOCUMENT_BYTES, "signed verdict")
    with vault(ctx) as v:
        if verdict == "approve":
            return v.approvals.approve_signed(approval_id, document)
        return v.approvals.reject_signed(approval_id, document)


def _emit_decision(ctx: typer.Context, result: ApprovalInfo, *, as_json: bool) -> None:
    if wants_json(ctx, as_json):
        emit_json(result)
        return
    print_approval(result)
    if result.status == "approved":
        info(ctx, "hint: the requester can now run the approved action")


@app.command()
def approve(
    ctx: typer.Context,
    approval_id: IdArg,
    key: KeyOpt = None,
    signed: SignedOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve a request by signing it with your registered key.

    Check what you approve first with `forgekeep approvals show ID`. Give either
    --key KEYFILE (signs here) or --signed FILE (a verdict you signed elsewhere).
    You cannot approve a request you made yourself, and you give one verdict
    per request.
    """
    _emit_decision(ctx, _decide(ctx, approval_id, "approve", key, signed), as_json=json_out)


@app.command()
def reject(
    ctx: typer.Context,
    approval_id: IdArg,
    key: KeyOpt = None,
    signed: SignedOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reject a request, signed with your registered key; one rejection is final."""
    _emit_decision(ctx, _decide(ctx, approval_id, "reject", key, signed), as_json=json_out)


# -- break-glass --------------------------------------------------------------


@break_glass_app.command("request")
def break_glass_request(
    ctx: typer.Context,
    asset: Annotated[
        list[str], typer.Option(metavar="PROJECT/NAME", help="Asset to reach (repeatable).")
    ],
    reason: Annotated[str, typer.Option(help="Why: what emergency this is (journaled).")],
    minutes: Annotated[
        int,
        typer.Option(
            help=f"Minutes the access lasts once activated (max {limits.MAX_BREAK_GLASS_MINUTES})."
        ),
    ] = 60,
    json_out: JsonOpt = False,
) -> None:
    """Ask for emergency access; two other people must approve it before you activate it."""
    with vault(ctx) as v:
        result = v.break_glass.request(
            assets=asset, reason=reason, duration=dt.timedelta(minutes=minutes)
        )
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    stdout.print(result.id, highlight=False, markup=False)
    info(ctx, f"needs {result.required} approvals: ask two approvers to run")
    info(ctx, f"  forgekeep approvals approve {result.id} --key KEYFILE")
    info(ctx, f"then run `forgekeep access break-glass activate {result.id}`")


@break_glass_app.command("activate")
def break_glass_activate(ctx: typer.Context, approval_id: IdArg, json_out: JsonOpt = False) -> None:
    """Start approved emergency access now (only the requester can; it is journaled)."""
    with vault(ctx) as v:
        grant = v.break_glass.activate(approval_id)
    if wants_json(ctx, json_out):
        emit_json(grant)
        return
    stdout.print(grant.id, highlight=False, markup=False)
    info(ctx, f"warning: break-glass {grant.id} is active until {grant.expires_at.isoformat()}")


@break_glass_app.command("revoke")
def break_glass_revoke(
    ctx: typer.Context,
    grant_id: Annotated[str, typer.Argument(metavar="GRANT", help="Break-glass grant (bg-…).")],
    json_out: JsonOpt = False,
) -> None:
    """End a break-glass grant now."""
    with vault(ctx) as v:
        grant = v.break_glass.revoke(grant_id)
    if wants_json(ctx, json_out):
        emit_json(grant)
        return
    stdout.print(f"revoked {grant.id}", highlight=False, markup=False)
