"""The unlock agent: a per-user background process holding one keyring's derived key.

``forgekeep unlock`` derives the Argon2id key once and hands it to a detached
agent (:func:`start_agent`); later commands reach the keyring through
:class:`AgentKeyManager`, which forwards every KeyManager call over a Unix
socket; ``forgekeep lock`` ends it (:func:`stop_agent`).

Security rules:

* The agent holds the *derived key*, never the passphrase. The key reaches it
  through an inherited pipe (stdin), never argv or the environment, and it
  never comes back out: the agent only answers KeyManager calls.
* The socket lives in a directory that is ours and closed to others (0700,
  owned by our uid, not a symlink) — ``$XDG_RUNTIME_DIR/forgekeep`` or
  ``/tmp/forgekeep-<uid>`` — and is itself mode 0600. Both ends check the
  other's uid with ``SO_PEERCRED``.
* The agent exits when its TTL runs out, on ``lock``, on SIGTERM, or when its
  socket file is removed or replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypedDict

from forgekeep.errors import AgentError, KeyringLockedError, UsageError
from forgekeep.keys._agent_wire import (
    b64d,
    b64e,
    decode_info,
    decode_record,
    peer_uid,
    recv_frame,
    result_of,
    send_frame,
)
from forgekeep.keys._keyring_file import open_payload, read_file
from forgekeep.keys._seal import KEY_BYTES
from forgekeep.keys.protocol import DestructionRecord, DomainKeyRef, KeyInfo

if TYPE_CHECKING:
    from forgekeep.crypto.context import WrapContext

__all__ = [
    "AgentKeyManager",
    "AgentStatus",
    "agent_socket_path",
    "agent_status",
    "start_agent",
    "stop_agent",
]

#: What ``forgekeep unlock`` uses without ``--ttl`` (15 minutes).
DEFAULT_TTL_SECONDS: Final = 15 * 60.0
MAX_TTL_SECONDS: Final = 7 * 24 * 3600.0
CALL_TIMEOUT_SECONDS: Final = 30.0
STARTUP_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 5.0
_MAX_SOCKET_PATH: Final = 107  # sun_path is 108 bytes with its NUL


class AgentStatus(TypedDict):
    pid: int
    expires_at: dt.datetime
    keyring: str


def _agent_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    uid = os.getuid()
    if runtime and Path(runtime).is_absolute():
        directory = Path(runtime) / "forgekeep"
    else:
        directory = Path(f"/tmp/forgekeep-{uid}")  # noqa: S108 - checked below: ours, 0700
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
    except OSError as exc:
        raise AgentError(f"cannot use the agent directory {directory}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        raise AgentError(
            f"the agent directory {directory} is not a private directory owned by uid {uid}",
            hint=f"remove {directory} (or fix it to mode 0700, owned by you) and retry",
        )
    return directory


def agent_socket_path(keyring_path: Path) -> Path:
    """The socket of the agent for one keyring (the name hashes its resolved path)."""
    digest = hashlib.sha256(str(Path(keyring_path).resolve()).encode()).hexdigest()
    path = _agent_dir() / f"{digest[:32]}.sock"
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise AgentError(
            f"the agent socket path {path} is too long for a Unix socket",
            hint="set XDG_RUNTIME_DIR to a shorter directory",
        )
    return path


def _connect(path: Path, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise KeyringLockedError("the keyring is locked: no unlock agent is running") from None
    except OSError as exc:
        sock.close()
        raise AgentError(f"cannot reach the unlock agent: {exc.strerror or exc}") from None
    if peer_uid(sock) != os.getuid():
        sock.close()
        raise AgentError("the unlock agent's socket belongs to another user")
    return sock


def call_agent(path: Path, op: str, args: dict[str, Any], *, timeout: float) -> Any:
    """Send one request to the agent at ``path`` and return its result."""
    sock = _connect(path, timeout)
    try:
        with sock:
            send_frame(sock, {"op": op, "args": args})
            reply = recv_frame(sock)
    except OSError as exc:
        raise AgentError(f"the unlock agent did not answer: {exc.strerror or exc}") from None
    return result_of(reply)


def _check_ttl(ttl_seconds: float) -> float:
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise UsageError(f"the agent TTL must be between 0 and {MAX_TTL_SECONDS:.0f} seconds")
    return float(ttl_seconds)


def _handshake(out: bytes, err: bytes, returncode: int | None) -> int:
    """Read the one-line start report of the agent process."""
    try:
        report = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise AgentError(f"the agent did not start (exit {returncode}): {last[0][:200]}") from None
    pid = result_of(report) if isinstance(report, dict) else None
    if not isinstance(pid, int):
        raise AgentError("the agent sent a malformed start report")
    return pid


def _spawn(keyring: Path, sock: Path, derived_key: bytes, ttl: float) -> int:
    command = [sys.executable, "-m", "forgekeep.keys._agent_server"]
    command += ["--keyring", str(keyring), "--socket", str(sock), "--ttl", repr(ttl)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(derived_key, timeout=STARTUP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AgentError("the agent did not start in time") from None
    return _handshake(out, err, process.returncode)


def _check_key(keyring: Path, derived_key: bytes) -> None:
    """Refuse a key that does not open the keyring before touching a running agent."""
    if len(derived_key) != KEY_BYTES:
        raise UsageError(f"a derived keyring key is {KEY_BYTES} bytes")
    open_payload(read_file(keyring), derived_key)


def start_agent(keyring_path: Path, derived_key: bytes, *, ttl_seconds: float) -> int:
    """Start a detached agent for one keyring; returns its pid once it answers a ping.

    The key is checked against the keyring first: a key that does not open it
    raises :class:`WrongPassphraseError` and leaves any running agent alone.
    Then a running agent for the same keyring is stopped (new key, new TTL) and
    a stale socket is removed.
    """
    ttl = _check_ttl(ttl_seconds)
    keyring = Path(keyring_path).resolve()
    _check_key(keyring, derived_key)
    sock = agent_socket_path(keyring)
    if not stop_agent(keyring):
        sock.unlink(missing_ok=True)
    pid = _spawn(keyring, sock, derived_key, ttl)
    answer = call_agent(sock, "ping", {}, timeout=CALL_TIMEOUT_SECONDS)
    if not isinstance(answer, dict) or answer.get("pid") != pid:
        raise AgentError("the agent answering the socket is not the one just started")
    return pid


def stop_agent(keyring_path: Path) -> bool:
    """Ask the keyring's agent to exit. True if one was running, False if none was."""
    sock = agent_socket_path(keyring_path)
    try:
        call_agent(sock, "lock", {}, timeout=CALL_TIMEOUT_SECONDS)
    except KeyringLockedError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while sock.exists():
        if time.monotonic() > deadline:
            raise AgentError("the agent acknowledged lock but did not exit")
        time.sleep(0.01)
    return True


def agent_status(keyring_path: Path) -> AgentStatus | None:
    """The running agent's pid and expiry, or None when the keyring is locked."""
    try:
        answer = call_agent(agent_socket_path(keyring_path), "status", {}, timeout=5.0)
        return AgentStatus(
            pid=int(answer["pid"]),
            expires_at=dt.datetime.fromisoformat(answer["expires_at"]),
            keyring=str(answer["keyring"]),
        )
    except KeyringLockedError:
        return None
    except (KeyError, TypeError, ValueError):
        raise AgentError("the agent sent a malformed status") from None


class AgentKeyManager:
    """A :class:`KeyManager` that forwards every call to the keyring's unlock agent."""

    def __init__(self, keyring_path: Path, *, timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        self._path = Path(keyring_path).resolve()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"AgentKeyManager(uri={self.uri!r})"

    @property
    def uri(self) -> str:
        return f"local:{self._path}"

    def _call(self, op: str, **args: Any) -> Any:
        return call_agent(agent_socket_path(self._path), op, args, timeout=self._timeout)

    def create_ring(self, ring: str) -> KeyInfo:
        return decode_info(self._call("create_ring", ring=ring))

    def create_domain_key(self, ref: DomainKeyRef) -> KeyInfo:
        return decode_info(self._call("create_domain_key", ring=ref.ring, domain=ref.domain))

    def wrap(self, ref: DomainKeyRef, data_key: bytes, context: WrapContext) -> bytes:
        args = {"ring": ref.ring, "domain": ref.domain, "context": b64e(context.encoded)}
        return b64d(self._call("wrap", data_key=b64e(data_key), **args))

    def unwrap(self, ref: DomainKeyRef, wrapped: bytes, context: WrapContext) -> bytes:
        args = {"ring": ref.ring, "domain": ref.domain, "context": b64e(context.encoded)}
        return b64d(self._call("unwrap", wrapped=b64e(wrapped), **args))

    def rotate(self, ring: str) -> KeyInfo:
        return decode_info(self._call("rotate", ring=ring))

    def rewrap(self, ring: str) -> int:
        count = self._call("rewrap", ring=ring)
        if type(count) is not int:
            raise AgentError("the agent sent a malformed rewrap count")
        return count

    def disable(self, ref: DomainKeyRef) -> KeyInfo:
        return decode_info(self._call("disable", ring=ref.ring, domain=ref.domain))

    def enable(self, ref: DomainKeyRef) -> KeyInfo:
        return decode_info(self._call("enable", ring=ref.ring, domain=ref.domain))

    def destroy(self, ref: DomainKeyRef) -> DestructionRecord:
        return decode_record(self._call("destroy", ring=ref.ring, domain=ref.domain))

    def describe(self, ring: str, domain: str | None = None) -> KeyInfo:
        return decode_info(self._call("describe", ring=ring, domain=domain))
