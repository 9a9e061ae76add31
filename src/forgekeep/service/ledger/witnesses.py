"""The log's witnesses: who cosigns our checkpoints, and collecting their cosignatures.

Security rules:

* Witnesses are configured by admins (``ledger.witnesses``); the list lives in
  the metadata database (``witnesses``, migration 0005), shared by every
  process on it, with each witness's URL, type-0x04 verifier key and the CA
  bundle (PEM, copied in when the witness is added) that alone verifies its
  TLS certificate. Keys are taken out of band, never from the witness.
* Each witness's last cosigned size and its last ``MAX_FAILURES_KEPT``
  failures are kept on its row, updated in the transaction that records the
  checkpoint; rows are locked while a collection updates them.
* A cosignature is kept only when it verifies under the configured key.
* A 422, or a 409 at our own size, is evidence of a fork: it is recorded in
  the witness's status and the collection fails with :class:`ForkError`.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.state import Witness
from forgekeep.errors import (
    ConfigError,
    ConflictError,
    ForgekeepError,
    ForkError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.ledger import log, merkle
from forgekeep.ledger.checkpoint import add_signature_lines
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey, parse_cosigner_vkey
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request
from forgekeep.service.ledger.log import SignedCheckpoint, latest_checkpoint, signed_checkpoint
from forgekeep.witness.client import submit

MAX_FAILURES_KEPT: Final = 10
#: A failure's message is cut to this many characters before it is stored.
MAX_FAILURE_MESSAGE: Final = 300
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass(frozen=True, slots=True)
class WitnessInfo:
    name: str
    url: str
    vkey: str
    cacert: str  # where the CA bundle was read from when the witness was added
    cacert_pem: str = field(default="", repr=False)


@dataclass(slots=True)
class WitnessStatus:
    name: str
    last_size: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)


def _rows(session: Session, ctx: ServiceContext, *, lock: bool = False) -> list[Witness]:
    query = (
        select(Witness)
        .where(Witness.tenant_id == ctx.tenant_id)
        .order_by(Witness.added_at, Witness.name)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


def _info(row: Witness) -> WitnessInfo:
    return WitnessInfo(row.name, row.url, row.vkey, row.cacert_source, row.cacert_pem)


def _load(session: Session, ctx: ServiceContext) -> list[WitnessInfo]:
    return [_info(row) for row in _rows(session, ctx)]


def _states(session: Session, ctx: ServiceContext) -> dict[str, WitnessStatus]:
    """Each witness's state, its row locked until the caller commits."""
    return {
        row.name: WitnessStatus(row.name, row.last_size, list(row.failures or []))
        for row in _rows(session, ctx, lock=True)
    }


def _save_states(session: Session, ctx: ServiceContext, states: dict[str, WitnessStatus]) -> None:
    for row in _rows(session, ctx):
        state = states.get(row.name)
        if state is not None:
            row.last_size = state.last_size
            row.failures = [_bounded(f) for f in state.failures][-MAX_FAILURES_KEPT:]


def _bounded(failure: dict[str, Any]) -> dict[str, Any]:
    return {**failure, "message": str(failure.get("message", ""))[:MAX_FAILURE_MESSAGE]}


def read_cacert(path: Path) -> str:
    """A CA bundle's PEM text, checked to load as trust anchors; UsageError otherwise."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_WITNESS_CACERT_BYTES + 1)
    except OSError:
        raise UsageError(f"no CA bundle at {path}") from None
    if len(data) > limits.MAX_WITNESS_CACERT_BYTES:
        raise LimitExceededError(
            f"a CA bundle is at most {limits.MAX_WITNESS_CACERT_BYTES} bytes; {path} is larger"
        )
    try:
        pem = data.decode("ascii")
        ssl.create_default_context(cadata=pem)
    except (UnicodeDecodeError, ssl.SSLError, ValueError):
        raise UsageError(f"{path} is not a PEM CA bundle") from None
    return pem


def new_witness_row(
    ctx: ServiceContext, info: WitnessInfo, *, last_size: int = 0, failures: list[Any] | None = None
) -> Witness:
    """The row of a witness (also used to import a pre-0005 ``witnesses.toml``)."""
    return Witness(
        tenant_id=ctx.tenant_id,
        name=info.name,
        url=info.url,
        vkey=info.vkey,
        cacert_pem=info.cacert_pem,
        cacert_source=info.cacert,
        added_at=ctx.clock.now(),
        last_size=last_size,
        failures=[_bounded(f) for f in failures or []][-MAX_FAILURES_KEPT:],
    )


def check_witness(name: str, url: str, vkey: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError("a witness name is lower-case letters, digits, '.', '_', '-'")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > 2048:
        raise UsageError("a witness URL starts with https:// (at most 2048 characters)")
    parse_cosigner_vkey(vkey)


def add_witness(
    ctx: ServiceContext, name: str, *, url: str, vkey: str, cacert: Path
) -> WitnessInfo:
    """Configure a witness (its key and CA bundle come from its operator, out of band)."""
    with request(ctx, Action.LEDGER_WITNESSES, name) as req, ctx.sessions() as session:
        check_witness(name, url, vkey)
        pem = read_cacert(cacert)
        current = _rows(session, ctx, lock=True)
        if any(w.name == name for w in current):
            raise ConflictError(f"witness {name!r} is already configured")
        if len(current) >= limits.MAX_LOG_WITNESSES:
            raise LimitExceededError(f"at most {limits.MAX_LOG_WITNESSES} witnesses")
        info = WitnessInfo(name, url.rstrip("/"), vkey, str(cacert.resolve()), pem)
        session.add(new_witness_row(ctx, info))
        commit_with_event(session, ctx, req.event(Outcome.OK, witness=name, url=info.url))
        return info


def remove_witness(ctx: ServiceContext, name: str) -> None:
    with request(ctx, Action.LEDGER_WITNESSES, name) as req, ctx.sessions() as session:
        row = session.get(Witness, (ctx.tenant_id, str(name)), with_for_update=True)
        if row is None:
            raise NotFoundError(f"no witness {name!r}")
        session.delete(row)
        commit_with_event(session, ctx, req.event(Outcome.OK, witness=name))


def witness_keys(ctx: ServiceContext) -> tuple[CosignerVerifierKey, ...]:
    """The configured witnesses' verifier keys (taken out of band by an admin)."""
    with ctx.sessions() as session:
        return tuple(parse_cosigner_vkey(w.vkey) for w in _load(session, ctx))


def witness_status(ctx: ServiceContext) -> list[tuple[WitnessInfo, WitnessStatus]]:
    """Each witness with its last cosigned size and recent failures."""
    with request(ctx, Action.LEDGER_READ, "witnesses") as req, ctx.sessions() as session:
        rows = [
            (_info(r), WitnessStatus(r.name, r.last_size, list(r.failures or [])))
            for r in _rows(session, ctx)
        ]
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return rows


def _submit_one(
    reader: merkle.HashReader, witness: WitnessInfo, state: WitnessStatus, signed: SignedCheckpoint
) -> list[str]:
    key, old = parse_cosigner_vkey(witness.vkey), state.last_size
    for _ in range(2):  # a 409 tells us the witness's size: one retry from there
        proof = merkle.consistency_proof(old, signed.size, reader) if 0 < old < signed.size else []
        answer = submit(witness.url, witness.cacert_pem, old, proof, signed.note, witness_key=key)
        if isinstance(answer, list):
            return answer
        old = answer
    raise ConfigError(f"witness {witness.name} keeps answering 409", hint="see its status")


@dataclass(frozen=True, slots=True)
class Collected:
    checkpoint: SignedCheckpoint  # its note carries the cosignature lines
    results: dict[str, str]  # per witness: "ok" or the error code
    fork: ForkError | None


def sign_and_cosign(session: Session, ctx: ServiceContext) -> Collected:
    """Sign the log's checkpoint and gather cosignatures; the caller commits."""
    signed, states = signed_checkpoint(session, ctx), _states(session, ctx)
    reader, lines, results, fork = log.SqlHashes(session, ctx.tenant_id), [], {}, None
    for witness in _load(session, ctx):
        state = states.setdefault(witness.name, WitnessStatus(witness.name))
        try:
            lines += _submit_one(reader, witness, state, signed)
            state.last_size, results[witness.name] = signed.size, "ok"
        except ForgekeepError as exc:
            results[witness.name] = exc.code
            state.failures = [*state.failures, {"code": exc.code, "size": signed.size,
                              "message": exc.message}][-MAX_FAILURES_KEPT:]  # fmt: skip
            fork = exc if isinstance(exc, ForkError) else fork
    _save_states(session, ctx, states)
    note = add_signature_lines(signed.note, lines) if lines else signed.note
    row = session.get(CheckpointRow, (ctx.tenant_id, signed.size))
    if row is not None:
        row.note = note.decode()
    return Collected(SignedCheckpoint(signed.size, signed.root, note), results, fork)


def collect(ctx: ServiceContext) -> tuple[SignedCheckpoint, dict[str, str]]:
    """Sign the checkpoint and gather every configured witness's cosignature.

    Returns the checkpoint (cosignatures added to its note) and, per witness,
    ``"ok"`` or the error code. A fork reported by any witness is raised.
    """
    with request(ctx, Action.LEDGER_CHECKPOINT, "witnesses") as req, ctx.sessions() as session:
        done = sign_and_cosign(session, ctx)
        cosigned = sum(1 for r in done.results.values() if r == "ok")
        commit_with_event(
            session, ctx, req.event(Outcome.OK, size=done.checkpoint.size, cosigned=cosigned)
        )
        if done.fork is not None:
            raise done.fork
        return done.checkpoint, done.results


def follow(
    ctx: ServiceContext,
    on_checkpoint: Callable[[Collected], None],
    *,
    interval: float = 1.0,
    ticks: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Keep the log checkpointed: at least every ``interval`` seconds while it grows.

    For embedded workspaces, where no process outlives its command: each tick is
    authorized again (a suspended admin's follower stops with a journaled
    refusal), and signs and has the witnesses cosign a checkpoint only when the
    log has grown past the newest one. The start is journaled; a tick that signs
    is recorded in the checkpoints table rather than as an event, or the
    follower's own events would grow the log forever.
    """
    if not 0.05 <= interval <= limits.MAX_FOLLOW_INTERVAL_SECONDS:
        raise UsageError(
            f"the interval is {interval} s; it must lie in [0.05, "
            f"{limits.MAX_FOLLOW_INTERVAL_SECONDS}] seconds"
        )
    with request(ctx, Action.LEDGER_CHECKPOINT, "follow") as req, ctx.sessions() as session:
        commit_with_event(session, ctx, req.event(Outcome.OK, follow=True))
    tick = 0
    while ticks is None or tick < ticks:
        tick += 1
        with request(ctx, Action.LEDGER_CHECKPOINT, "follow"), ctx.sessions() as session:
            latest = latest_checkpoint(session, ctx.tenant_id)
            if (0 if latest is None else latest.size) < log.log_size(session, ctx.tenant_id):
                done = sign_and_cosign(session, ctx)
                session.commit()
                on_checkpoint(done)
                if done.fork is not None:
                    raise done.fork
        sleep(interval)
