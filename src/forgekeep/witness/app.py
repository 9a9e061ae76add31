"""The witness: c2sp.org/tlog-witness@v1.0.0 ``add-checkpoint``, plus ``status``.

``POST /add-checkpoint`` takes ``old <size>\\n``, up to 63 base64 consistency
proof lines, an empty line and a signed checkpoint note, and answers:

* 200 ``text/plain``: one cosignature line (type 0x04, timestamped Ed25519);
* 400 malformed request, or old size above the checkpoint size;
* 403 no signature by the configured log key verifies (or one by it fails);
* 404 the checkpoint's origin is not configured here;
* 409 ``text/x.tlog.size`` (our latest size, decimal, newline): the old size is
  not our latest size, or it is and the checkpoint has that size with another
  root (then both notes are kept as evidence);
* 413 the body is over ``MAX_WITNESS_REQUEST_BYTES``;
* 422 the consistency proof does not verify (kept as evidence).

The HTTPS runner answers before this app does: 408 when the head or the body does not
arrive within the ``[http]`` deadlines of ``witness.toml``, 503 with ``Retry-After``
when too many requests are in flight (:mod:`forgekeep.runner`).

Security rules:

* The body is bounded in size before it is read in full (and in time by the
  runner's body deadline); the note is parsed strictly
  (``ledger.note``) and verified only against the log key configured for its
  origin; signatures by other keys are ignored.
* The old-size check, the proof check and the durable (fsync'd) state update
  happen under one exclusive lock, and the state is on disk before a
  cosignature is returned: two requests can never both advance, and a crash
  can never forget a cosigned size.
* A conflicting checkpoint is never cosigned; it is kept as evidence.
* A log that sends no new checkpoint for longer than the freeze window raises
  an alarm: a structlog error and an entry in ``status``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from forgekeep import limits
from forgekeep.clock import Clock, SystemClock
from forgekeep.crypto.signed import VerifierKey
from forgekeep.errors import CheckpointError, ConfigError, LimitExceededError, ProofError
from forgekeep.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, cosign
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.ledger.merkle import EMPTY_ROOT, verify_consistency
from forgekeep.ledger.note import Note, b64decode_strict, parse_note, verify_signatures
from forgekeep.witness.state import LogState, StateStore, WitnessDir, load_config, load_key

SIZE_MEDIA_TYPE: Final = "text/x.tlog.size"
_OLD_RE: Final = re.compile(r"old (0|[1-9][0-9]{0,18})")
_log = structlog.get_logger("forgekeep.witness")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class _RefusalError(Exception):
    def __init__(self, status: int, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.reply = (
            Reply(status, f"{message}\n".encode())
            if size is None
            else Reply(status, f"{size}\n".encode(), SIZE_MEDIA_TYPE)
        )


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` request (nothing verified yet)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: Note
    checkpoint: Checkpoint

    @property
    def body(self) -> bytes:
        return self.note.text.encode("utf-8")


def parse_request(body: bytes) -> AddCheckpoint:
    """Parse an ``add-checkpoint`` body; :class:`CheckpointError` when malformed."""
    if len(body) > limits.MAX_WITNESS_REQUEST_BYTES:
        raise LimitExceededError("the request is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("the request is not UTF-8") from None
    head, blank, note_text = text.partition("\n\n")
    lines = head.split("\n")
    match = _OLD_RE.fullmatch(lines[0])
    if not blank or match is None or int(match.group(1)) > MAX_TREE_SIZE:
        raise CheckpointError("a request starts 'old <size>', proof lines, an empty line")
    if len(lines) - 1 > limits.MAX_WITNESS_PROOF_LINES:
        raise CheckpointError(f"at most {limits.MAX_WITNESS_PROOF_LINES} proof lines")
    proof = tuple(b64decode_strict(line, "a proof line") for line in lines[1:])
    if any(len(item) != 32 for item in proof):
        raise CheckpointError("a proof line is a 32-byte hash")
    note = parse_note(note_text.encode("utf-8"))
    return AddCheckpoint(int(match.group(1)), proof, note, Checkpoint.from_body(note.text))


@dataclass(frozen=True, slots=True)
class Alarm:
    origin: str
    last_checkpoint_at: int
    silent_seconds: int


@dataclass
class Witness:
    """The witness's logic, independent of HTTP: thread-safe."""

    name: str
    key: CosignerKey
    logs: dict[str, VerifierKey]
    store: StateStore
    freeze_window_seconds: int
    clock: Clock = field(default_factory=SystemClock)
    #: Freeze reference for logs never seen: when the witness started (POSIX seconds).
    since: int | None = None
    #: ``witness.toml``: its ``[[log]]`` list is re-read when the file changes.
    config_path: Path | None = None
    _alarmed: set[str] = field(default_factory=set)
    _config_stamp: int | None = None
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.since is None:
            self.since = self._now()
        self._config_stamp = self._stamp()

    def _stamp(self) -> int | None:
        try:
            return None if self.config_path is None else self.config_path.stat().st_mtime_ns
        except OSError:
            return None

    def refresh_logs(self) -> None:
        """Serve the logs ``witness logs add|rm`` wrote, without a restart.

        Only the ``[[log]]`` list is re-read; a config that does not load keeps the
        current list (and is logged), so a bad edit never opens or closes a log.
        """
        stamp = self._stamp()
        if stamp is None or stamp == self._config_stamp or self.config_path is None:
            return
        with self._reload_lock:
            if stamp == self._config_stamp:
                return
            try:
                logs = load_config(self.config_path).logs()
            except ConfigError as exc:
                _log.warning("witness.toml changed but does not load; logs kept", error=str(exc))
                return
            self.logs, self._config_stamp = logs, stamp
            _log.info("witness logs reloaded", origins=sorted(logs))

    @classmethod
    def from_dir(
        cls, witness: WitnessDir, clock: Clock | None = None, *, since: int | None = None
    ) -> Witness:
        return cls(
            witness.config.name,
            load_key(witness),
            witness.logs(),
            StateStore(witness.state_dir),
            witness.config.freeze_window_seconds,
            clock or SystemClock(),
            since,
            witness.path,
        )

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def add_checkpoint(self, body: bytes) -> Reply:
        """Answer one ``add-checkpoint`` body (see the module docstring)."""
        try:
            try:
                request = parse_request(body)
            except (CheckpointError, LimitExceededError) as exc:
                raise _RefusalError(400, exc.message) from None
            self._check_request(request)
            with self.store.locked():
                return self._advance(request)
        except _RefusalError as refusal:
            _log.info("checkpoint refused", status=refusal.reply.status, reason=str(refusal))
            return refusal.reply

    def _check_request(self, request: AddCheckpoint) -> None:
        self.refresh_logs()
        key = self.logs.get(request.checkpoint.origin)
        if key is None:
            raise _RefusalError(404, "unknown log origin")
        try:
            trusted = verify_signatures(request.note, [key])
        except CheckpointError:
            trusted = []
        if not trusted:
            raise _RefusalError(403, "no signature by the log's key verifies")
        if request.old_size > request.checkpoint.size:
            raise _RefusalError(400, "the old size is above the checkpoint size")

    def _advance(self, request: AddCheckpoint) -> Reply:
        cp = request.checkpoint
        latest = self.store.read(cp.origin)
        latest_size = 0 if latest is None else latest.size
        if request.old_size != latest_size:
            raise _RefusalError(409, "old size is not the latest size", size=latest_size)
        now = self._now()
        if latest is not None and cp.size == latest.size and cp.root_hash != latest.root:
            self._evidence("same-size-different-root", latest, request, now)
            raise _RefusalError(409, "same size, different root", size=latest_size)
        old_root = EMPTY_ROOT if latest is None else latest.root
        try:
            verify_consistency(request.old_size, cp.size, request.proof, old_root, cp.root_hash)
        except ProofError as exc:
            if latest is not None:
                self._evidence("inconsistent-proof", latest, request, now)
            raise _RefusalError(422, exc.message) from None
        if latest is None or cp.size > latest.size:
            self.store.write(
                LogState(cp.origin, cp.size, cp.root_hash, request.note.to_bytes(), now)
            )
            self._alarmed.discard(cp.origin)
        line = cosign(request.body, self.key, now)
        _log.info("checkpoint cosigned", origin=cp.origin, size=cp.size)
        return Reply(200, line.encode("utf-8"))

    def _evidence(self, kind: str, latest: LogState, request: AddCheckpoint, now: int) -> None:
        path = self.store.keep_evidence(
            kind,
            latest.origin,
            request.checkpoint.size,
            now,
            kept=latest.note.decode("utf-8"),
            submitted=request.note.to_bytes().decode("utf-8"),
            old_size=request.old_size,
            proof=[item.hex() for item in request.proof],
        )
        _log.error(
            "log misbehaviour evidence",
            kind=kind,
            origin=latest.origin,
            size=request.checkpoint.size,
            file=None if path is None else str(path),
        )

    def check_freeze(self) -> list[Alarm]:
        """Logs silent for longer than the freeze window; each logs an error once."""
        now, alarms = self._now(), []
        for origin in sorted(self.logs):
            with self.store.locked():
                state = self.store.read(origin)
            last = state.updated_at if state is not None else (self.since or now)
            if now - last > self.freeze_window_seconds:
                alarms.append(Alarm(origin, last, now - last))
                if origin not in self._alarmed:
                    self._alarmed.add(origin)
                    _log.error(
                        "witness freeze alarm: no new checkpoint",
                        origin=origin,
                        silent_seconds=now - last,
                        window=self.freeze_window_seconds,
                    )
        return alarms

    def status(self) -> dict[str, Any]:
        """What an operator needs: per-log size and freshness, alarms, evidence count."""
        alarms = {a.origin: a for a in self.check_freeze()}
        logs = []
        for origin in sorted(self.logs):
            state = self.store.read(origin)
            logs.append(
                {
                    "origin": origin,
                    "size": None if state is None else state.size,
                    "root": None if state is None else base64.b64encode(state.root).decode(),
                    "last_checkpoint_at": None if state is None else state.updated_at,
                    "frozen": origin in alarms,
                }
            )
        return {
            "name": self.name,
            "vkey": encode_cosigner_vkey(self.key.verifier),
            "freeze_window_seconds": self.freeze_window_seconds,
            "logs": logs,
            "alarms": [
                {"origin": a.origin, "silent_seconds": a.silent_seconds} for a in alarms.values()
            ],
            "evidence": len(self.store.evidence()),
        }


async def _read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.MAX_WITNESS_REQUEST_BYTES:
        return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limits.MAX_WITNESS_REQUEST_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _lifespan(witness: Witness, interval: float) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def watch() -> None:
            while True:
                await run_in_threadpool(witness.check_freeze)
                await asyncio.sleep(interval)

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


def create_app(witness: Witness, *, watch_interval: float | None = None) -> FastAPI:
    """The witness's ASGI app: ``POST /add-checkpoint`` and ``GET /status``."""
    interval = watch_interval or float(min(60, witness.freeze_window_seconds))
    app = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan(witness, interval)
    )

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return Response(b"request too large\n", 413, headers={"content-type": "text/plain"})
        reply = await run_in_threadpool(witness.add_checkpoint, body)
        return Response(reply.body, reply.status, headers={"content-type": reply.content_type})

    @app.get("/status")
    async def status() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(witness.status))

    return app
