"""``put``, ``get``, ``ls``, ``versions``, ``rm`` and ``fsck``: thin shells over the Vault."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, BinaryIO, cast

import typer
from rich.table import Table

from forgekeep import limits
from forgekeep._durable import write_new
from forgekeep.cli._common import (
    JsonOpt,
    emit_json,
    human_size,
    info,
    progress_bar,
    stdout,
    vault,
    wants_json,
)
from forgekeep.errors import EXIT_FINDINGS, ConflictError, UsageError

ProjectOpt = Annotated[str | None, typer.Option("--project", "-p", help="Project to look in.")]


def put(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The file to encrypt and store.")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project to store it in.")],
    name: Annotated[str | None, typer.Option(help="Asset name (default: the file name).")] = None,
    classification: Annotated[
        str | None,
        typer.Option(
            help="public, internal, confidential or secret (default: the latest version's;"
            " internal for a new asset). Readers need a clearance at least this high."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A key=value label; repeat for more.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Encrypt FILE and store it as a new version of an asset.

    The file is encrypted in this process before anything is written; the
    first put of a name creates version 1, each later put the next version.
    Prints the asset id and version.
    """
    from forgekeep.service.operations import parse_tag  # the service only once a command runs

    tags = dict(parse_tag(t) for t in tag or [])
    size = file.stat().st_size if file.is_file() else None
    with vault(ctx) as v, progress_bar(ctx, f"put {file.name}", size) as tick:
        result = v.assets.put(
            file,
            project=project,
            name=name,
            classification=classification,
            tags=tags,
            progress=tick,
        )
    if wants_json(ctx, json_out):
        emit_json(result)
    else:
        stdout.print(f"{result.asset_id} version {result.version}", highlight=False)
        info(ctx, f"stored {result.name} ({human_size(result.size)}) in {result.project}")


def get(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="NAME_OR_ID[@VERSION]", help="Asset name or id, optionally @version."
        ),
    ],
    output: Annotated[str, typer.Option("-o", "--output", help="Output file, or - for stdout.")],
    project: ProjectOpt = None,
    purpose: Annotated[
        str,
        typer.Option(
            help="Why you read it, e.g. tooling. A partner's IP licence applies only to reads"
            " for the licence's own purpose."
        ),
    ] = "unspecified",
    receipt: Annotated[
        Path | None,
        typer.Option(
            help="Also write the C2SP tlog-proof of this read's decision to this new file:"
            " proof, for the owner and auditors, that the read was logged. It carries the"
            " newest checkpoint the witnesses cosigned; if none covers the read yet, the"
            " output is still written, but no receipt, and the command exits 5 (see --wait)."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            help="With --receipt: collect witness cosignatures (or wait for them) for up to"
            " SECONDS until a cosigned checkpoint covers the read.",
            min=0,
            max=limits.MAX_PROOF_WAIT_SECONDS,
        ),
    ] = 0.0,
) -> None:
    """Decrypt an asset version and verify it.

    With -o FILE, the plaintext goes to a temporary file that is renamed to
    FILE only after every chunk and the whole-file HMAC verified; on any
    failure no FILE is left. With -o -, plaintext streams to stdout as each
    chunk verifies: the output is UNVERIFIED until the exit code is 0.
    """
    if receipt is not None and receipt.exists():
        raise ConflictError(f"{receipt} already exists", hint="choose a new receipt file")
    if wait and receipt is None:
        raise UsageError("--wait applies to --receipt: give --receipt FILE")
    with vault(ctx) as v, progress_bar(ctx, f"get {ref}", None) as tick:
        if output == "-":
            stream = cast(BinaryIO, sys.stdout.buffer)
            result = v.assets.get(
                ref,
                stream,
                project=project,
                progress=tick,
                purpose=purpose,
                receipt=bool(receipt),
                receipt_wait=wait,
            )
            sys.stdout.buffer.flush()
        else:
            result = v.assets.get(
                ref,
                Path(output),
                project=project,
                progress=tick,
                purpose=purpose,
                receipt=bool(receipt),
                receipt_wait=wait,
            )
    if receipt is not None and result.receipt is not None:
        _write_receipt(receipt, result.receipt)
    info(ctx, f"verified {result.name}@{result.version} ({human_size(result.size)})")


def _write_receipt(path: Path, proof: bytes) -> None:
    try:
        write_new(path, proof, mode=0o644)
    except FileExistsError:
        raise ConflictError(f"{path} already exists", hint="choose a new receipt file") from None


def classify(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="Asset name or id.")],
    export: Annotated[
        str,
        typer.Option(
            help="Export-control marking: ITAR:<USML category, e.g. XI>, EAR:<ECCN, e.g."
            " 9E003>, EAR99, or none. ITAR and EAR assets then need an export"
            " authorisation (`forgekeep export-auth add`) for non-US readers."
        ),
    ],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark an asset as export-controlled (ITAR or EAR), or clear the marking."""
    with vault(ctx) as v:
        result = v.assets.classify(ref, export=export, project=project)
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    stdout.print(f"{result.asset_id}: {result.before} -> {result.after}", highlight=False)


def ls(ctx: typer.Context, project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """List assets with their latest version."""
    with vault(ctx) as v:
        items = v.assets.ls(project=project)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("project", "name", "id", "ver", "size", "class", "updated")
    for item in items:
        table.add_row(
            item.project,
            item.name,
            item.id,
            str(item.versions),
            human_size(item.latest.size),
            item.latest.classification,
            item.latest.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    stdout.print(table)


def versions(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="Asset name or id.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List every version of an asset."""
    with vault(ctx) as v:
        items = v.assets.versions(ref, project=project)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("ver", "version id", "size", "class", "created", "by")
    for item in items:
        table.add_row(
            str(item.number),
            item.version_id,
            human_size(item.size),
            item.classification,
            item.created_at.strftime("%Y-%m-%d %H:%M"),
            item.created_by,
        )
    stdout.print(table)


def rm(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="Asset name or id.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove an asset from listings (a soft delete: its history is kept)."""
    with vault(ctx) as v:
        asset_id = v.assets.rm(ref, project=project)
    if wants_json(ctx, json_out):
        emit_json({"removed": asset_id})
    else:
        stdout.print(f"removed {asset_id}", highlight=False)


def fsck(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(help="Remove orphans older than the grace period (never committed data)."),
    ] = False,
    grace: Annotated[
        int | None,
        typer.Option(help="Grace period in seconds (default: uploads.orphan_grace_seconds)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check every version's header and ciphertext hash, and that DB and sites agree.

    Exits 4 when it finds problems. --repair removes only orphans (blobs and
    upload records no committed version refers to, temporary files) older
    than the grace period, never an upload still in progress.
    """
    span = None if grace is None else dt.timedelta(seconds=grace)
    with vault(ctx) as v, progress_bar(ctx, "fsck", None) as tick:
        report = v.assets.fsck(repair=repair, grace=span, progress=tick)
    if wants_json(ctx, json_out):
        emit_json(report)
    else:
        for finding in report.repaired:
            stdout.print(f"repaired {finding.kind} {finding.site}:{finding.target}")
        for finding in report.findings:
            stdout.print(f"{finding.kind} {finding.site}:{finding.target} {finding.detail}")
        info(
            ctx,
            f"checked {report.versions_checked} versions, "
            f"{len(report.findings)} findings, {len(report.repaired)} repaired",
        )
    if report.findings:
        raise typer.Exit(EXIT_FINDINGS)
