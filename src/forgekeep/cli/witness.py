"""``forgekeep witness``: run a c2sp.org/tlog-witness@v1.0.0 witness for partners' logs.

The witness is its own daemon, not part of a vault: these commands never open
a workspace. ``init`` writes the key (0600) and a commented ``witness.toml`` and
prints the witness vkey the log needs; ``run`` serves over HTTPS through the
shared runner; ``status``, ``logs`` and ``evidence`` read the witness directory.

Security rules: the private key is written only to the key file (never
printed); ``logs add`` checks the vkey strictly before it rewrites the config
atomically; a running witness re-reads its logs when the file changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, cast

import typer

from forgekeep.cli._common import JsonOpt, emit_json, info, stdout, wants_json
from forgekeep.errors import ConflictError, UsageError

if TYPE_CHECKING:
    from uvicorn._types import ASGIApplication

# The witness (pydantic, cryptography) and the HTTPS runner (uvicorn) are imported by the
# commands that use them. ``forgekeep.witness.state.CONFIG_NAME``, spelled out for --help
# (tests/cli/test_help.py checks that the two agree):
CONFIG_NAME: Final = "witness.toml"

app = typer.Typer(help="A transparency-log witness (c2sp.org/tlog-witness).", no_args_is_help=True)
logs_app = typer.Typer(help="The logs this witness cosigns.", no_args_is_help=True)
evidence_app = typer.Typer(help="Conflicting checkpoints the witness kept.", no_args_is_help=True)
app.add_typer(logs_app, name="logs")
app.add_typer(evidence_app, name="evidence")

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="The witness's witness.toml.", show_default=True)
]


def _print(line: str) -> None:
    stdout.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="New witness directory.")],
    name: Annotated[str, typer.Option(help="Witness name, e.g. witness.example.com/w1.")],
    port: Annotated[int, typer.Option(help="HTTPS port to listen on.")] = 8443,
    json_out: JsonOpt = False,
) -> None:
    """Create a witness: key (0600), commented witness.toml, state directory; print its vkey."""
    from forgekeep.witness.state import init_witness

    try:
        witness, vkey = init_witness(directory, name, port=port)
    except ValueError as exc:  # pydantic: a bad name or port
        raise UsageError(f"invalid witness settings: {exc}") from None
    if wants_json(ctx, json_out):
        emit_json({"name": name, "vkey": vkey, "config": str(witness.path)})
        return
    _print(vkey)
    info(ctx, f"wrote {witness.path} and the private key {witness.key_path} (mode 0600)")
    info(ctx, f"hint: put the TLS certificate and key at {witness.tls_cert} and {witness.tls_key}")
    info(ctx, "hint: give the vkey above to the log: `forgekeep ledger witnesses add`")


@app.command()
def run(ctx: typer.Context, config: ConfigOpt = Path(CONFIG_NAME)) -> None:
    """Serve POST /add-checkpoint and GET /status over HTTPS until Ctrl-C.

    Slow and excess clients are bounded by the [http] table of witness.toml
    (connections, requests in flight, header, body and idle deadlines).
    """
    from forgekeep.runner import run_https
    from forgekeep.witness.app import Witness, create_app
    from forgekeep.witness.state import load_config

    witness = load_config(config)
    daemon = Witness.from_dir(witness)
    listen = witness.config.listen
    info(ctx, f"witness {daemon.name} on https://{listen.host}:{listen.port}/ (Ctrl-C stops)")
    run_https(
        cast("ASGIApplication", create_app(daemon)),
        host=listen.host,
        port=listen.port,
        certfile=witness.tls_cert,
        keyfile=witness.tls_key,
        client_ca=None,
        require_client_cert=False,
        limits=witness.config.http,
    )


@app.command()
def status(
    ctx: typer.Context, config: ConfigOpt = Path(CONFIG_NAME), json_out: JsonOpt = False
) -> None:
    """Each log's latest cosigned size, freeze alarms and evidence (read from the state dir).

    A log never seen counts as silent since witness.toml was last written.
    """
    from forgekeep.witness.app import Witness
    from forgekeep.witness.state import load_config

    witness = load_config(config)
    since = int(witness.path.stat().st_mtime)
    report = Witness.from_dir(witness, since=since).status()
    if wants_json(ctx, json_out):
        emit_json(report)
        return
    _print(f"witness {report['name']}  {report['vkey']}")
    for log in report["logs"]:
        size = "never seen" if log["size"] is None else f"size {log['size']}"
        when = log["last_checkpoint_at"]
        stamp = "" if when is None else dt.datetime.fromtimestamp(when, dt.UTC).isoformat()
        alarm = "  FROZEN" if log["frozen"] else ""
        _print(f"  {log['origin']}: {size} {stamp}{alarm}")
    _print(f"  evidence files: {report['evidence']}")


@logs_app.command("add")
def logs_add(
    ctx: typer.Context,
    origin: Annotated[str, typer.Option(help="The log's origin line.")],
    vkey: Annotated[str, typer.Option(help="The log's verifier key (Ed25519 vkey).")],
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Trust a log: cosign checkpoints for ORIGIN signed by VKEY (a running witness too)."""
    from forgekeep.crypto.signed import parse_vkey
    from forgekeep.witness.config import LogEntry
    from forgekeep.witness.state import load_config, save_config

    parse_vkey(vkey)
    witness = load_config(config)
    if any(entry.origin == origin for entry in witness.config.log):
        raise ConflictError(f"the witness already has a log {origin!r}")
    try:
        entry = LogEntry(origin=origin, vkey=vkey)
        updated = witness.config.model_copy(update={"log": (*witness.config.log, entry)})
        updated = type(updated).model_validate(updated.model_dump())
    except ValueError as exc:
        raise UsageError(f"invalid log: {exc}") from None
    save_config(witness, updated)
    info(ctx, f"added log {origin}; a running witness serves it from its next request")


@logs_app.command("ls")
def logs_ls(
    ctx: typer.Context, config: ConfigOpt = Path(CONFIG_NAME), json_out: JsonOpt = False
) -> None:
    """The logs this witness cosigns: origin and vkey."""
    from forgekeep.witness.state import load_config

    witness = load_config(config)
    rows = [{"origin": e.origin, "vkey": e.vkey} for e in witness.config.log]
    if wants_json(ctx, json_out):
        emit_json(rows)
        return
    for row in rows:
        _print(f"{row['origin']}  {row['vkey']}")


@evidence_app.command("ls")
def evidence_ls(
    ctx: typer.Context, config: ConfigOpt = Path(CONFIG_NAME), json_out: JsonOpt = False
) -> None:
    """Evidence files: checkpoints that conflicted with what this witness cosigned."""
    from forgekeep.witness.state import StateStore, load_config

    witness = load_config(config)
    found = StateStore(witness.state_dir).evidence()
    rows = [
        {
            "kind": e.kind,
            "origin": e.origin,
            "size": e.size,
            "observed_at": e.observed_at,
            "file": str(e.path),
        }
        for e in found
    ]
    if wants_json(ctx, json_out):
        emit_json(rows)
        return
    for row in rows:
        where = f"{row['origin']} size {row['size']}"
        _print(f"{row['observed_at']}  {row['kind']}  {where}  {row['file']}")
