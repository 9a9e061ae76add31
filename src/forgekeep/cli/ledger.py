"""``forgekeep ledger``: the tenant's transparency log (C2SP formats).

``verify-proof`` needs no workspace: an auditor checks a tlog-proof file with
the log's verifier key (and, optionally, witness keys and a quorum) alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forgekeep import limits
from forgekeep._durable import write_atomic, write_new
from forgekeep.cli._common import JsonOpt, emit_json, info, read_bounded, stdout, vault, wants_json
from forgekeep.cli._ledger_witnesses import witnesses_app
from forgekeep.errors import EXIT_FINDINGS, ConflictError, UsageError

if TYPE_CHECKING:
    from forgekeep.service.operations import Collected

app = typer.Typer(
    help="The tamper-evident log of every operation: checkpoints, entries, proofs, verify.",
    no_args_is_help=True,
)
prove_app = typer.Typer(help="Inclusion and consistency proofs.", no_args_is_help=True)
app.add_typer(prove_app, name="prove")
app.add_typer(witnesses_app, name="witnesses")

OutOpt = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to this new file instead of stdout.")
]

WitnessOpt = Annotated[
    list[str] | None,
    typer.Option("--witness", help="A witness's verifier key (type 0x04); repeatable."),
]
QuorumOpt = Annotated[int, typer.Option(help="Witness cosignatures required.", min=0)]
MaxAgeOpt = Annotated[
    int | None,
    typer.Option(
        help="Count only cosignatures made in the last SECONDS (older ones are stale).",
        min=1,
        max=limits.MAX_COSIGNATURE_AGE_SECONDS,
    ),
]


def _not_before(max_age: int | None, witnesses: list[str] | None) -> int | None:
    if max_age is None:
        return None
    if not witnesses:
        raise UsageError("--max-age applies to witness cosignatures: give --witness VKEY")
    return int(time.time()) - max_age


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            write_new(output, data, mode=0o644)
        except FileExistsError:
            raise ConflictError(f"{output} already exists", hint="choose a new file") from None


@app.command()
def checkpoint(
    ctx: typer.Context,
    output: OutOpt = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep running: sign (and have witnesses cosign) a checkpoint at least every"
            " --interval seconds while the log grows. With -o, the file is replaced"
            " atomically by each new checkpoint. Stop with Ctrl-C.",
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between checks with --follow.", min=0.05)
    ] = 1.0,
    ticks: Annotated[int | None, typer.Option(hidden=True, min=1)] = None,
) -> None:
    """Print the latest checkpoint: a C2SP tlog-checkpoint signed note.

    Every configured witness (`ledger witnesses add`) is asked to cosign it
    first; their cosignature lines are part of the note. Keep a copy somewhere
    the operator cannot reach: `ledger verify --trusted-checkpoint F` later
    proves the log was not rolled back or rewritten.
    """
    if follow:
        _follow(ctx, output, interval, ticks)
        return
    with vault(ctx) as v:
        signed, results = v.ledger.collect()
    for name, result in sorted(results.items()):
        info(ctx, f"witness {name}: {result}")
    _emit(signed.note, output)


def _follow(ctx: typer.Context, output: Path | None, interval: float, ticks: int | None) -> None:
    def signed(done: Collected) -> None:
        cosigned = sum(1 for r in done.results.values() if r == "ok")
        info(ctx, f"checkpoint {done.checkpoint.size}, cosigned by {cosigned}/{len(done.results)}")
        if output is None:
            sys.stdout.buffer.write(done.checkpoint.note)
            sys.stdout.buffer.flush()
        else:
            write_atomic(output, done.checkpoint.note, mode=0o644)

    with vault(ctx) as v:
        try:
            v.ledger.follow(signed, interval=interval, ticks=ticks)
        except KeyboardInterrupt:
            info(ctx, "stopped")


@app.command()
def key(ctx: typer.Context) -> None:
    """Print the log's verifier key (C2SP vkey: name+hex8(keyid)+base64(0x01||pubkey))."""
    with vault(ctx) as v:
        vkey = v.ledger.key()
    stdout.print(vkey, highlight=False, markup=False, soft_wrap=True)


@app.command()
def entry(
    ctx: typer.Context,
    index: Annotated[int, typer.Argument(help="Entry number (0 is the first).")],
) -> None:
    """Print entry N exactly as the log hashes it (RFC 8785 canonical JSON, no newline added).

    SHA-256 of 0x00 followed by these bytes is the entry's leaf hash.
    """
    with vault(ctx) as v:
        data = v.ledger.entry(index)
    _emit(data, None)  # the exact bytes: no newline is added


@prove_app.command("inclusion")
def prove_inclusion(
    ctx: typer.Context,
    index: Annotated[int, typer.Argument(help="Entry number.")],
    output: OutOpt = None,
    wait: Annotated[
        float,
        typer.Option(
            help="If no checkpoint the witnesses cosigned covers entry N yet, collect"
            " cosignatures (or wait for them) for up to SECONDS, with back-off.",
            min=0,
            max=limits.MAX_PROOF_WAIT_SECONDS,
        ),
    ] = 0.0,
) -> None:
    """Write a C2SP tlog-proof of entry N: entry, index, proof and checkpoint.

    The checkpoint is the newest one covering N that every configured witness
    cosigned (with no witnesses: the newest signed one), so the file meets a
    `--quorum` of those witnesses. If there is none yet, the command says so and
    exits 5; run it again with --wait SECONDS. Anyone can check the file offline
    with `forgekeep ledger verify-proof FILE --key VKEY [--witness W ... --quorum K]`.
    """
    with vault(ctx) as v:
        proof = v.ledger.prove_inclusion(index, wait=wait).proof
    _emit(proof, output)


@prove_app.command("consistency")
def prove_consistency(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="The older tree size A.")],
    new: Annotated[int, typer.Argument(help="The newer tree size B.")],
    json_out: JsonOpt = False,
) -> None:
    """Print the RFC 6962 §2.1.2 consistency proof between sizes A and B (base64 lines)."""
    with vault(ctx) as v:
        proof = v.ledger.prove_consistency(old, new)
    lines = [base64.b64encode(h).decode() for h in proof]
    if wants_json(ctx, json_out):
        emit_json({"old": old, "new": new, "proof": lines})
        return
    for line in lines:
        stdout.print(line, highlight=False)


@app.command()
def verify(
    ctx: typer.Context,
    trusted_checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint kept outside the operator's reach to check against."),
    ] = None,
    from_export: Annotated[
        Path | None,
        typer.Option(help="Check an export (`ledger export DIR`) offline instead; needs --key."),
    ] = None,
    log_key: Annotated[
        str | None, typer.Option("--key", help="The log's verifier key, for --from-export.")
    ] = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = 0,
    max_age: MaxAgeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-hash the whole log and check every stored hash, column and signed checkpoint.

    Exits 4 with findings when a column of the events table differs from its
    entry (index and column are named), when the log is broken at its tail, or
    when entries have waited longer than `[ledger] max_uncovered_seconds` for a
    signed checkpoint (the vault signs one as each command ends). Entries no
    checkpoint covers are always listed with their index range and time span.

    With --witness VKEY (repeatable) and --quorum K, the trusted checkpoint (or,
    without one, the newest checkpoint) must also carry at least K cosignatures
    by those witnesses, whose keys you took from them out of band.

    With --trusted-checkpoint, also prove the log still contains, unchanged,
    everything that checkpoint signed (exit 1 with FK-LEDGER-003 if it was
    rolled back or rewritten). Checkpoints and hash tiles mirrored on the
    workspace's site are always checked, so a restored old database is caught
    too. With --from-export DIR --key VKEY, do the same
    offline on an export, with the key you hold (not the one in the export).
    """
    from forgekeep.cli._ledger_report import print_report, report_json
    from forgekeep.clock import SystemClock
    from forgekeep.crypto.signed import parse_vkey
    from forgekeep.ledger.audit import WitnessPolicy
    from forgekeep.ledger.cosigner_keys import parse_cosigner_vkey
    from forgekeep.ledger.verifier import verify_export

    trusted = None
    if trusted_checkpoint is not None:
        trusted = read_bounded(trusted_checkpoint, limits.MAX_NOTE_BYTES, "checkpoint")
    keys = tuple(parse_cosigner_vkey(w) for w in witness or ())
    policy = WitnessPolicy(keys, quorum, _not_before(max_age, witness))
    if from_export is not None:
        if log_key is None:
            raise UsageError("--from-export needs --key VKEY: the log key you trust")
        now = SystemClock().now()
        report = verify_export(from_export, parse_vkey(log_key), trusted, policy, now=now)
    else:
        with vault(ctx) as v:
            report = v.ledger.verify(trusted_checkpoint=trusted, witnesses=policy)
    if wants_json(ctx, json_out):
        emit_json(report_json(report))
    else:
        print_report(report, quorum if witness else None)
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def repair(
    ctx: typer.Context,
    from_export: Annotated[
        Path | None,
        typer.Option(help="Put the missing entries back from this export (`ledger export`)."),
    ] = None,
    drop_uncovered: Annotated[
        bool,
        typer.Option(
            "--drop-uncovered",
            help="Drop the missing entries' hashes instead; refused if any checkpoint covers them.",
        ),
    ] = False,
) -> None:
    """Mend a log broken at its tail (its newest entries' rows deleted).

    `forgekeep doctor` or `ledger verify` names the missing entries. An export
    that holds them puts back exactly the bytes the log hashed (each is checked
    against the hash the tree still stores). Without one, --drop-uncovered
    removes them, only if no signed or mirrored checkpoint covers them; their
    hashes are kept in the repair's own log entry. Needs the passphrase: the
    repair signs a checkpoint over the mended log.
    """
    with vault(ctx) as v:
        done = v.ledger.repair(from_export=from_export, drop_uncovered=drop_uncovered)
    verb = "restored" if done.restored else "dropped"
    info(ctx, f"{verb} entries {done.first} to {done.last}; the log now has {done.size} entries")


@app.command("ls")
def list_(
    ctx: typer.Context,
    asset: Annotated[str | None, typer.Option(help="Only entries about this asset.")] = None,
    principal: Annotated[str | None, typer.Option(help="Only entries by this pseudonym.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only entries at or after this ISO 8601 time.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 100,
    json_out: JsonOpt = False,
) -> None:
    """List log entries by asset, principal or time (for auditors who know no indices)."""
    when = None if since is None else _parse_time(since)
    with vault(ctx) as v:
        items = v.ledger.ls(asset=asset, principal=principal, since=when, limit=limit)
    if wants_json(ctx, json_out):
        emit_json(items)
        return
    table = Table("index", "at", "actor", "action", "outcome", "target")
    for item in items:
        table.add_row(
            str(item.index), item.at.isoformat(), item.actor, item.action, item.outcome,
            item.target,
        )  # fmt: skip
    stdout.print(table)


def _parse_time(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@app.command()
def export(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory.")],
) -> None:
    """Write the log for an offline auditor: entries, a signed checkpoint, the key."""
    with vault(ctx) as v:
        exported = v.ledger.export(directory)
    info(ctx, f"exported {exported.size} entries to {exported.directory}")
    stdout.print(str(exported.directory), highlight=False)


@app.command("verify-proof")
def verify_proof(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .tlog-proof file.")],
    log_key: Annotated[str, typer.Option("--key", help="The log's verifier key (vkey).")],
    witness: WitnessOpt = None,
    quorum: QuorumOpt = 0,
    max_age: MaxAgeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a tlog-proof file offline: signature, witness quorum and inclusion."""
    from forgekeep.crypto.signed import parse_vkey
    from forgekeep.ledger.cosigner_keys import parse_cosigner_vkey
    from forgekeep.ledger.tlog_proof import verify_proof_file

    data = read_bounded(file, limits.MAX_TLOG_PROOF_BYTES, "proof file")
    witnesses = [parse_cosigner_vkey(w) for w in witness or ()]
    not_before = _not_before(max_age, witness)
    verified = verify_proof_file(
        data, parse_vkey(log_key), witnesses, quorum, not_before=not_before
    )
    result = {
        "index": verified.index,
        "size": verified.checkpoint.size,
        "origin": verified.checkpoint.origin,
        "cosigned_by": sorted(verified.cosigned_at),
        "entry": json.loads(verified.entry),
    }
    if wants_json(ctx, json_out):
        emit_json(result)
        return
    where = f"{verified.checkpoint.origin} at size {verified.checkpoint.size}"
    info(ctx, f"ok: entry {verified.index} is in {where}")
    stdout.print(verified.entry.decode(), highlight=False, markup=False, soft_wrap=True)
