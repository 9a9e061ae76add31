"""A real witness daemon in a child process, on loopback, for load tests and benchmarks.

:func:`start_witness` makes a witness directory (throw-away CA and server certificate,
one log it trusts, the ``[http]`` limits given), starts ``forgekeep witness run`` (or
another command serving the same directory) and waits until it answers. The returned
handle cosigns checkpoints of that log as a normal client would, and stops the daemon.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer
from forgekeep.errors import ConfigError
from forgekeep.ledger.checkpoint import Checkpoint, sign_checkpoint
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey, parse_cosigner_vkey
from forgekeep.runner.settings import HttpLimits
from forgekeep.testing.pki import TestCA
from forgekeep.witness.client import submit
from forgekeep.witness.config import LogEntry, TlsSection
from forgekeep.witness.state import init_witness, save_config

ORIGIN = "loadtest.example/log"
_READY_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningWitness:
    """A witness child process and a well-behaved client of it."""

    config: Path
    port: int
    cacert: Path
    signer: SignerKey
    key: CosignerVerifierKey
    process: subprocess.Popen[bytes]
    _cosigned: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def cosign(self, timeout: float = 10.0) -> list[str]:
        """Submit a checkpoint of size 1; returns the witness's cosignature lines, verified."""
        note = sign_checkpoint(Checkpoint(ORIGIN, 1, hashlib.sha256(b"load").digest()), self.signer)
        old = 1 if self._cosigned else 0
        answer = submit(self.url, self.cacert, old, [], note, witness_key=self.key, timeout=timeout)
        if not isinstance(answer, list):
            raise ConfigError(f"the witness answered size {answer}, not a cosignature")
        self._cosigned = True
        return answer

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_SECONDS
        tls = ssl.create_default_context(cafile=str(self.cacert))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(f"the witness exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.url}/status", verify=tls, timeout=2).raise_for_status()
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            return
        raise ConfigError("the witness did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def prepare_witness(
    directory: Path, limits: HttpLimits
) -> tuple[Path, int, Path, SignerKey, CosignerVerifierKey]:
    """A witness directory that trusts one fresh log.

    Returns its config, port, CA certificate, the log's signing key and the witness's key.
    """
    ca = TestCA(directory / "ca")
    cert = ca.issue_server("witness")
    port = _free_port()
    witness, vkey = init_witness(directory / "witness", "witness.example/load", port=port)
    signer = generate_signer(ORIGIN)
    config = witness.config.model_copy(
        update={
            "log": (LogEntry(origin=ORIGIN, vkey=encode_vkey(signer.verifier)),),
            "tls": TlsSection(cert=str(cert.cert_path), key=str(cert.key_path)),
            "http": limits,
        }
    )
    save_config(witness, config)
    return witness.path, port, ca.cert_path, signer, parse_cosigner_vkey(vkey)


def start_witness(
    directory: Path, limits: HttpLimits, command: Sequence[str] | None = None
) -> RunningWitness:
    """Start ``forgekeep witness run`` (or ``command`` + the config path) and wait for it."""
    config, port, cacert, signer, key = prepare_witness(directory, limits)
    argv = [*(command or [sys.executable, "-m", "forgekeep", "witness", "run", "--config"])]
    log = (directory / "witness.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [*argv, str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    running = RunningWitness(config, port, cacert, signer, key, process)
    try:
        running.wait_ready()
    except BaseException:
        running.stop()
        raise
    return running
