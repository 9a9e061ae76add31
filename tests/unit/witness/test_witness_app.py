"""The witness app (c2sp.org/tlog-witness@v1.0.0) in process: every status, durability,
concurrency, evidence and the freeze alarm."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import threading
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI

from forgekeep import _durable as durable
from forgekeep import limits
from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer
from forgekeep.errors import ConfigError
from forgekeep.ledger import merkle
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint, verify_cosignature
from forgekeep.ledger.cosigner_keys import parse_cosigner_vkey
from forgekeep.witness import app as witness_app
from forgekeep.witness.app import SIZE_MEDIA_TYPE, Witness, create_app
from forgekeep.witness.client import request_body
from forgekeep.witness.config import LogEntry
from forgekeep.witness.state import WitnessDir, init_witness, load_config, save_config

ORIGIN = "example.com/log"
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class Log:
    """A small in-memory log that signs checkpoints like the workspace log does."""

    def __init__(self, origin: str = ORIGIN, signer: SignerKey | None = None) -> None:
        self.signer = signer or generate_signer(origin)
        self.origin = origin
        self.hashes = merkle.MemoryHashes()

    def grow(self, count: int, tag: bytes = b"e") -> None:
        for _ in range(count):
            self.hashes.append(tag + str(self.hashes.size).encode())

    def root(self, size: int) -> bytes:
        return merkle.tree_hash(size, self.hashes) if size else merkle.EMPTY_ROOT

    def note(self, size: int | None = None) -> bytes:
        size = self.hashes.size if size is None else size
        return sign_checkpoint(Checkpoint(self.origin, size, self.root(size)), self.signer)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = self.hashes.size if new is None else new
        if old in (0, new):
            return []
        return merkle.consistency_proof(old, new, self.hashes)

    def body(self, old: int, size: int | None = None) -> bytes:
        return request_body(old, self.proof(old, size), self.note(size))


class Client:
    """A synchronous client for the ASGI app, in process (no lifespan, no network)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def _request(self, method: str, path: str, content: bytes | None) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://witness") as client:
            return await client.request(method, path, content=content)

    def post(self, path: str, content: bytes) -> httpx.Response:
        return asyncio.run(self._request("POST", path, content))

    def get(self, path: str) -> httpx.Response:
        return asyncio.run(self._request("GET", path, None))


class Setup:
    def __init__(self, directory: Path, log: Log) -> None:
        self.clock = ManualClock(T0)
        witness, vkey = init_witness(directory, "witness.example/w1")
        cfg = witness.config.model_copy(
            update={"log": (LogEntry(origin=ORIGIN, vkey=encode_vkey(log.signer.verifier)),)}
        )
        save_config(witness, cfg)
        self.path = witness.path
        self.vkey = parse_cosigner_vkey(vkey)
        self.witness = Witness.from_dir(load_config(self.path), self.clock)
        self.client = Client(create_app(self.witness))

    def restart(self) -> None:
        self.witness = Witness.from_dir(load_config(self.path), self.clock)
        self.client = Client(create_app(self.witness))

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        r = self.client.post("/add-checkpoint", content=body)
        return r.status_code, r.headers.get("content-type", ""), r.content


@pytest.fixture
def log() -> Log:
    log = Log()
    log.grow(5)
    return log


@pytest.fixture
def w(tmp_path: Path, log: Log) -> Setup:
    return Setup(tmp_path / "witness", log)


def test_first_checkpoint_is_cosigned_with_a_timestamped_type_4_signature(
    w: Setup, log: Log
) -> None:
    status, ctype, body = w.post(log.body(0))
    assert (status, ctype) == (200, "text/plain; charset=utf-8")
    line = body.decode()
    assert line.startswith("— witness.example/w1 ")
    assert line.endswith("\n")
    body_bytes = Checkpoint(ORIGIN, 5, log.root(5)).body()
    assert verify_cosignature(body_bytes, line, w.vkey) == int(T0.timestamp())


def test_growth_with_a_valid_proof_is_cosigned(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    log.grow(7)
    assert w.post(log.body(5))[0] == 200
    assert w.post(log.body(12))[0] == 200  # same size, same root: cosigned again


def test_unknown_origin_is_404(w: Setup) -> None:
    other = Log("other.example/log")
    other.grow(2)
    assert w.post(other.body(0))[0] == 404


def test_checkpoint_not_signed_by_the_log_key_is_403(w: Setup) -> None:
    impostor = Log(ORIGIN)  # same origin, another key
    impostor.grow(3)
    assert w.post(impostor.body(0))[0] == 403


def test_bad_signature_by_the_log_key_is_403(w: Setup, log: Log) -> None:
    note = log.note()
    forged = note.replace(base64.b64encode(log.root(5)), base64.b64encode(log.root(4)))
    assert w.post(request_body(0, [], forged))[0] == 403


def test_old_size_above_the_checkpoint_is_400(w: Setup, log: Log) -> None:
    assert w.post(request_body(6, [], log.note()))[0] == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 01\n\n",
        b"old 0\n",
        b"new 0\n\nx\n",
        b"old 0\nnot-base64\n\nx\n",
        b"\xff\xfe",
        b"old 0\n" + b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64)) + b"\n",
    ],
)
def test_malformed_requests_are_400(w: Setup, log: Log, body: bytes) -> None:
    if body.endswith(b"\n\n") and body.startswith(b"old 0\nAAAA"):
        body += log.note()
    assert w.post(body)[0] == 400


def test_oversized_request_is_413(w: Setup) -> None:
    assert w.post(b"old 0\n\n" + b"x" * limits.MAX_WITNESS_REQUEST_BYTES)[0] == 413


def test_stale_old_size_is_409_with_the_witness_size(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    log.grow(3)
    status, ctype, body = w.post(log.body(0))
    assert (status, ctype, body) == (409, SIZE_MEDIA_TYPE, b"5\n")
    status, ctype, body = w.post(log.body(2))
    assert (status, ctype, body) == (409, SIZE_MEDIA_TYPE, b"5\n")


def test_same_size_other_root_is_409_and_kept_as_evidence(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    fork = Log(ORIGIN, log.signer)
    fork.grow(5, tag=b"fork")
    status, ctype, body = w.post(fork.body(5))
    assert (status, ctype, body) == (409, SIZE_MEDIA_TYPE, b"5\n")
    (evidence,) = w.witness.store.evidence()
    assert (evidence.kind, evidence.origin, evidence.size) == (
        "same-size-different-root",
        ORIGIN,
        5,
    )
    record = json.loads(evidence.path.read_text())
    assert record["kept"] == log.note().decode()
    assert record["submitted"] == fork.note().decode()


def test_bad_consistency_proof_is_422_and_not_cosigned(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    fork = Log(ORIGIN, log.signer)
    fork.grow(9, tag=b"fork")
    assert w.post(request_body(5, fork.proof(5), fork.note()))[0] == 422
    assert w.witness.store.read(ORIGIN).size == 5  # type: ignore[union-attr]
    assert [e.kind for e in w.witness.store.evidence()] == ["inconsistent-proof"]
    log.grow(1)
    assert w.post(request_body(5, [bytes(32)], log.note()))[0] == 422


def test_first_checkpoint_with_a_proof_is_422(w: Setup, log: Log) -> None:
    assert w.post(request_body(0, [bytes(32)], log.note()))[0] == 422


def test_state_is_fsynced_before_the_cosignature_and_survives_restart(
    w: Setup, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_cosign = witness_app.__dict__["cosign"]
    monkeypatch.setattr(durable.os, "fsync", synced.append)

    def checked_cosign(body: bytes, key: object, timestamp: int) -> str:
        assert synced, "the state was not fsync'd before cosigning"
        assert w.witness.store.read(ORIGIN).size == 5  # type: ignore[union-attr]
        return real_cosign(body, key, timestamp)  # type: ignore[no-any-return]

    monkeypatch.setattr(witness_app, "cosign", checked_cosign)
    assert w.post(log.body(0))[0] == 200
    monkeypatch.undo()
    w.restart()
    assert w.post(log.body(0))[:3:2] == (409, b"5\n")
    log.grow(1)
    assert w.post(log.body(5))[0] == 200
    w.restart()
    assert w.witness.store.read(ORIGIN).size == 6  # type: ignore[union-attr]


def test_corrupt_state_stops_the_witness_rather_than_resetting(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    (state_file,) = w.witness.store.logs_dir.glob("*.json")
    state_file.write_text("{}")
    with pytest.raises(ConfigError):
        w.witness.add_checkpoint(log.body(5))


def test_concurrent_requests_cannot_both_advance(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    log.grow(10)
    bodies = [log.body(5, size) for size in range(6, 16)]
    results: list[int] = []
    barrier = threading.Barrier(len(bodies))

    def run(body: bytes) -> None:
        barrier.wait()
        results.append(w.witness.add_checkpoint(body).status)

    threads = [threading.Thread(target=run, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 9
    assert w.witness.store.read(ORIGIN).size > 5  # type: ignore[union-attr]


def test_freeze_alarm_logs_an_error_and_shows_in_status(w: Setup, log: Log) -> None:
    assert w.post(log.body(0))[0] == 200
    window = load_config(w.path).config.freeze_window_seconds
    assert w.client.get("/status").json()["alarms"] == []
    w.clock.advance(dt.timedelta(seconds=window + 1))
    with structlog.testing.capture_logs() as logs:
        status = w.client.get("/status").json()
    assert status["alarms"] == [{"origin": ORIGIN, "silent_seconds": window + 1}]
    assert status["logs"][0]["frozen"] is True
    assert status["logs"][0]["size"] == 5
    assert any(e["log_level"] == "error" and "freeze" in e["event"] for e in logs)
    log.grow(1)
    assert w.post(log.body(5))[0] == 200
    assert w.client.get("/status").json()["alarms"] == []


def test_status_names_the_witness_and_counts_evidence(w: Setup) -> None:
    status = w.client.get("/status").json()
    assert status["name"] == "witness.example/w1"
    assert parse_cosigner_vkey(status["vkey"]) == w.vkey
    assert status["evidence"] == 0
    assert status["logs"][0]["size"] is None


def test_key_file_must_be_private(w: Setup) -> None:
    witness: WitnessDir = load_config(w.path)
    witness.key_path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        Witness.from_dir(witness)


def test_config_is_strict(tmp_path: Path, w: Setup) -> None:
    text = w.path.read_text()
    bad = tmp_path / "witness.toml"
    bad.write_text(text + "\nsurprise = 1\n")
    with pytest.raises(ConfigError, match="surprise"):
        load_config(bad)
    bad.write_text(text + text[text.rindex("\n[[log]]") :])
    with pytest.raises(ConfigError, match="once"):
        load_config(bad)


def test_a_running_witness_serves_logs_added_to_its_config(w: Setup, tmp_path: Path) -> None:
    other = Log("other.example/log")
    other.grow(2)
    assert w.post(other.body(0))[0] == 404
    current = load_config(w.path)
    entry = LogEntry(origin=other.origin, vkey=encode_vkey(other.signer.verifier))
    save_config(current, current.config.model_copy(update={"log": (*current.config.log, entry)}))
    os.utime(w.path, ns=(1, 1))  # a distinct mtime even on coarse-timestamp filesystems
    assert w.post(other.body(0))[0] == 200  # no restart
    w.path.write_text("not toml [")  # a broken edit keeps the logs it had
    os.utime(w.path, ns=(2, 2))
    assert w.post(other.body(2))[0] == 200
    assert set(w.witness.logs) == {ORIGIN, other.origin}
