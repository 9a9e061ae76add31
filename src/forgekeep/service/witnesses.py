"""The log's witnesses: who cosigns our checkpoints, and collecting their cosignatures.

Security rules:

* Witnesses are configured by admins (``ledger.witnesses``); the list lives in
  the workspace as ``witnesses.toml`` (0600, written atomically) with each
  witness's URL, type-0x04 verifier key and the CA bundle that alone verifies
  its TLS certificate. Keys are taken out of band, never from the witness.
* A cosignature is kept only when it verifies under the configured key.
* A 422, or a 409 at our own size, is evidence of a fork: it is recorded in
  the witness's status and the collection fails with :class:`ForkError`.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep._durable import write_atomic
from forgekeep.db.ledger import Checkpoint as CheckpointRow
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
from forgekeep.service._core import ServiceContext, commit_with_event, request
from forgekeep.service.authz import Action
from forgekeep.service.ledger import SignedCheckpoint, latest_checkpoint, signed_checkpoint
from forgekeep.witness.client import submit

CONFIG_FILE: Final = "witnesses.toml"
STATE_FILE: Final = "witnesses-state.json"
MAX_FAILURES_KEPT: Final = 10
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass(frozen=True, slots=True)
class WitnessInfo:
    name: str
    url: str
    vkey: str
    cacert: str


@dataclass(slots=True)
class WitnessStatus:
    name: str
    last_size: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)


def _load(home: Path) -> list[WitnessInfo]:
    path = home / CONFIG_FILE
    if not path.exists():
        return []
    if path.stat().st_size > limits.MAX_CONFIG_BYTES:
        raise LimitExceededError(f"{CONFIG_FILE} is over {limits.MAX_CONFIG_BYTES} bytes")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_FILE} is not valid TOML: {exc}") from exc
    try:
        return [WitnessInfo(**item) for item in raw.get("witness", [])]
    except TypeError as exc:
        raise ConfigError(f"{CONFIG_FILE}: each [[witness]] has name, url, vkey, cacert") from exc


def _save(home: Path, witnesses: list[WitnessInfo]) -> None:
    blocks = ["\n".join(f"{k} = {json.dumps(v)}" for k, v in asdict(w).items()) for w in witnesses]
    text = "# The log's witnesses (forgekeep ledger witnesses add|ls|rm).\n"
    text += "".join(f"\n[[witness]]\n{block}\n" for block in blocks)
    write_atomic(home / CONFIG_FILE, text.encode(), mode=0o600)


def _states(home: Path) -> dict[str, WitnessStatus]:
    path = home / STATE_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: WitnessStatus(**value) for name, value in raw.items()}
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{STATE_FILE} is damaged: {exc}") from exc


def _save_states(home: Path, states: dict[str, WitnessStatus]) -> None:
    data = {name: asdict(state) for name, state in states.items()}
    write_atomic(home / STATE_FILE, json.dumps(data, indent=1).encode(), mode=0o600)


def add_witness(
    ctx: ServiceContext, name: str, *, url: str, vkey: str, cacert: Path
) -> WitnessInfo:
    """Configure a witness (its key and CA bundle come from its operator, out of band)."""
    with request(ctx, Action.LEDGER_WITNESSES, name) as req, ctx.sessions() as session:
        if not _NAME.fullmatch(name):
            raise UsageError("a witness name is lower-case letters, digits, '.', '_', '-'")
        if not url.startswith("https://"):
            raise UsageError("a witness URL starts with https://")
        parse_cosigner_vkey(vkey)
        if not cacert.is_file():
            raise UsageError(f"no CA bundle at {cacert}")
        current = _load(ctx.home)
        if any(w.name == name for w in current):
            raise ConflictError(f"witness {name!r} is already configured")
        if len(current) >= limits.MAX_LOG_WITNESSES:
            raise LimitExceededError(f"at most {limits.MAX_LOG_WITNESSES} witnesses")
        info = WitnessInfo(name, url.rstrip("/"), vkey, str(cacert.resolve()))
        _save(ctx.home, [*current, info])
        commit_with_event(session, ctx, req.event(Outcome.OK, witness=name, url=info.url))
        return info


def remove_witness(ctx: ServiceContext, name: str) -> None:
    with request(ctx, Action.LEDGER_WITNESSES, name) as req, ctx.sessions() as session:
        current = _load(ctx.home)
        if not any(w.name == name for w in current):
            raise NotFoundError(f"no witness {name!r}")
        _save(ctx.home, [w for w in current if w.name != name])
        commit_with_event(session, ctx, req.event(Outcome.OK, witness=name))


def witness_keys(home: Path) -> tuple[CosignerVerifierKey, ...]:
    """The configured witnesses' verifier keys (taken out of band by an admin)."""
    return tuple(parse_cosigner_vkey(w.vkey) for w in _load(home))


def witness_status(ctx: ServiceContext) -> list[tuple[WitnessInfo, WitnessStatus]]:
    """Each witness with its last cosigned size and recent failures."""
    with request(ctx, Action.LEDGER_READ, "witnesses") as req, ctx.sessions() as session:
        states = _states(ctx.home)
        rows = [(w, states.get(w.name, WitnessStatus(w.name))) for w in _load(ctx.home)]
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(rows)))
        return rows


def _submit_one(
    reader: merkle.HashReader, witness: WitnessInfo, state: WitnessStatus, signed: SignedCheckpoint
) -> list[str]:
    key, old = parse_cosigner_vkey(witness.vkey), state.last_size
    for _ in range(2):  # a 409 tells us the witness's size: one retry from there
        proof = merkle.consistency_proof(old, signed.size, reader) if 0 < old < signed.size else []
        answer = submit(witness.url, Path(witness.cacert), old, proof, signed.note, witness_key=key)
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
    signed, states = signed_checkpoint(session, ctx), _states(ctx.home)
    reader, lines, results, fork = log.SqlHashes(session, ctx.tenant_id), [], {}, None
    for witness in _load(ctx.home):
        state = states.setdefault(witness.name, WitnessStatus(witness.name))
        try:
            lines += _submit_one(reader, witness, state, signed)
            state.last_size, results[witness.name] = signed.size, "ok"
        except ForgekeepError as exc:
            results[witness.name] = exc.code
            state.failures = [*state.failures, {"code": exc.code, "size": signed.size,
                              "message": exc.message}][-MAX_FAILURES_KEPT:]  # fmt: skip
            fork = exc if isinstance(exc, ForkError) else fork
    _save_states(ctx.home, states)
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
