"""A witness's directory: its config, its key, and what it has cosigned.

Layout, relative to the directory that holds ``witness.toml``::

    witness.toml                  name, key, state, listen, tls, freeze window, [http], [[log]]
    witness.key                   the witness's Ed25519 seed (PRIVATE+KEY+…), mode 0600
    state/logs/<sha256>.json      the latest cosigned checkpoint of each log (by origin)
    state/evidence/*.json         conflicting checkpoints, kept as evidence
    state/.lock                   flock'ed while a log's state is checked and advanced

Security rules:

* ``witness.toml`` is untrusted input: at most ``MAX_CONFIG_BYTES``, parsed
  strictly (an unknown key is :class:`ConfigError`), at most
  ``MAX_WITNESS_LOGS`` logs, each origin once, each vkey parsed strictly.
* The key file must be mode 0600 (no group or other bits) and name the
  witness; it is created with ``write_new`` and never replaced.
* A log's state is written with ``write_atomic`` (temp file, fsync, rename,
  fsync dir) before any cosignature for it leaves the witness. Reading it is
  size-limited and strict: a corrupt or missing-but-expected state stops the
  witness (:class:`ConfigError`) and is never treated as "size 0", which would
  let a rolled-back log be cosigned.
* Checking and advancing a log's state happens inside :meth:`StateStore.locked`:
  a process lock plus an exclusive ``flock``, so two requests (or two witness
  processes on one directory) can never both advance.
* Evidence files are written with ``write_new`` (never overwritten), at most
  ``MAX_WITNESS_EVIDENCE`` of them.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from forgekeep import limits
from forgekeep._durable import write_atomic, write_new
from forgekeep.crypto.signed import (
    SignerKey,
    VerifierKey,
    encode_signer_key,
    parse_signer_key,
)
from forgekeep.errors import (
    ConfigError,
    ConflictError,
    ForgekeepError,
    LimitExceededError,
)
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey
from forgekeep.witness._render import render_config
from forgekeep.witness.config import ListenSection, WitnessConfig

CONFIG_NAME: Final = "witness.toml"
KEY_FILE_MODE: Final = 0o600
_HINT: Final = "compare witness.toml with docs (run `forgekeep witness init` for an example)"


@dataclass(frozen=True, slots=True)
class WitnessDir:
    """A loaded ``witness.toml`` and the paths it names, resolved against its directory."""

    path: Path
    config: WitnessConfig

    def _resolve(self, value: str) -> Path:
        return (self.path.parent / value).resolve()

    @property
    def key_path(self) -> Path:
        return self._resolve(self.config.key)

    @property
    def state_dir(self) -> Path:
        return self._resolve(self.config.state)

    @property
    def tls_cert(self) -> Path:
        return self._resolve(self.config.tls.cert)

    @property
    def tls_key(self) -> Path:
        return self._resolve(self.config.tls.key)

    def logs(self) -> dict[str, VerifierKey]:
        return {entry.origin: entry.verifier for entry in self.config.log}


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist", hint=_HINT) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}", hint=_HINT) from exc
    if len(data) > limit:
        raise LimitExceededError(f"{what} {path} is larger than {limit} bytes")
    return data


def load_config(path: Path) -> WitnessDir:
    """Read and validate ``witness.toml`` strictly."""
    path = path.resolve()
    data = _read_limited(path, limits.MAX_CONFIG_BYTES, "witness config")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}", hint=_HINT) from exc
    try:
        config = WitnessConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path.name}: {problems}", hint=_HINT) from None
    return WitnessDir(path, config)


def save_config(witness: WitnessDir, config: WitnessConfig) -> None:
    """Replace ``witness.toml`` atomically with ``config``."""
    write_atomic(witness.path, render_config(config).encode("utf-8"), mode=0o644)


def load_key(witness: WitnessDir) -> CosignerKey:
    """The witness's cosigning key; refuses a key file others can read."""
    path = witness.key_path
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"the witness key {path} does not exist", hint=_HINT) from None
    if mode & 0o077:
        raise ConfigError(
            f"the witness key {path} is readable by others (mode {mode & 0o777:o})",
            hint=f"chmod 600 {path}",
        )
    data = _read_limited(path, limits.MAX_SIGNER_KEY_FILE_BYTES, "witness key")
    try:
        signer = parse_signer_key(data.decode("ascii"))
    except (UnicodeDecodeError, ForgekeepError):
        raise ConfigError(f"the witness key {path} is malformed", hint=_HINT) from None
    if signer.name != witness.config.name:
        raise ConfigError(
            f"the witness key is named {signer.name!r}, the config {witness.config.name!r}"
        )
    return CosignerKey(signer.name, signer.seed())


def init_witness(directory: Path, name: str, *, port: int = 8443) -> tuple[WitnessDir, str]:
    """Create a witness directory: key (0600), config and state dirs. Returns its vkey."""
    config = WitnessConfig(name=name, listen=ListenSection(port=port))
    directory.mkdir(parents=True, exist_ok=True)
    witness = WitnessDir((directory / CONFIG_NAME).resolve(), config)
    if witness.path.exists() or witness.key_path.exists():
        raise ConflictError(f"{directory} already holds a witness", hint="choose another directory")
    signer = SignerKey(name, secrets.token_bytes(32))
    write_new(witness.key_path, (encode_signer_key(signer) + "\n").encode(), mode=KEY_FILE_MODE)
    write_new(witness.path, render_config(config).encode("utf-8"), mode=0o644)
    StateStore(witness.state_dir)
    key = CosignerKey(name, signer.seed())
    return witness, encode_cosigner_vkey(key.verifier)


@dataclass(frozen=True, slots=True)
class LogState:
    """The latest checkpoint a witness cosigned for one log."""

    origin: str
    size: int
    root: bytes
    note: bytes
    #: POSIX seconds when this size was first cosigned (the freeze alarm counts from it).
    updated_at: int

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "origin": self.origin,
                "size": self.size,
                "root": base64.b64encode(self.root).decode(),
                "note": self.note.decode("utf-8"),
                "updated_at": self.updated_at,
            },
            sort_keys=True,
        ).encode()


def _parse_state(data: bytes, origin: str) -> LogState:
    try:
        raw: Any = json.loads(data)
        state = LogState(
            origin=raw["origin"],
            size=raw["size"],
            root=base64.b64decode(raw["root"], validate=True),
            note=raw["note"].encode("utf-8"),
            updated_at=raw["updated_at"],
        )
        ok = isinstance(state.size, int) and isinstance(state.updated_at, int)
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok or state.origin != origin or len(state.root) != 32 or state.size < 0:
        raise ConfigError(
            f"the witness state for {origin!r} is corrupt; refusing to cosign for it",
            hint="restore the state directory from a backup; never delete it to reset a log",
        )
    return state


@dataclass(frozen=True, slots=True)
class Evidence:
    path: Path
    kind: str
    origin: str
    size: int
    observed_at: int


def _origin_id(origin: str) -> str:
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


class StateStore:
    """Per-log state files and evidence under a witness's state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.logs_dir = directory / "logs"
        self.evidence_dir = directory / "evidence"
        for path in (directory, self.logs_dir, self.evidence_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive: this process's threads, and other processes, wait."""
        with self._lock:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def read(self, origin: str) -> LogState | None:
        path = self.logs_dir / f"{_origin_id(origin)}.json"
        if not path.exists():
            return None
        data = _read_limited(path, limits.MAX_WITNESS_STATE_BYTES, "witness state")
        return _parse_state(data, origin)

    def write(self, state: LogState) -> None:
        """Durably replace the state of ``state.origin`` (fsync'd before returning)."""
        write_atomic(self.logs_dir / f"{_origin_id(state.origin)}.json", state.to_json())

    def keep_evidence(
        self, kind: str, origin: str, size: int, at: int, **detail: Any
    ) -> Path | None:
        """Write one evidence file; None when the cap is reached."""
        if sum(1 for _ in self.evidence_dir.glob("*.json")) >= limits.MAX_WITNESS_EVIDENCE:
            return None
        name = f"{at}-{_origin_id(origin)[:16]}-{size}-{secrets.token_hex(4)}.json"
        record = {"kind": kind, "origin": origin, "size": size, "observed_at": at, **detail}
        path = self.evidence_dir / name
        write_new(path, json.dumps(record, sort_keys=True, indent=1).encode())
        return path

    def evidence(self) -> list[Evidence]:
        found: list[Evidence] = []
        for path in sorted(self.evidence_dir.glob("*.json")):
            data = _read_limited(path, 4 * limits.MAX_WITNESS_STATE_BYTES, "evidence file")
            try:
                raw = json.loads(data)
                found.append(
                    Evidence(path, raw["kind"], raw["origin"], raw["size"], raw["observed_at"])
                )
            except (ValueError, KeyError, TypeError):
                continue
        return found
