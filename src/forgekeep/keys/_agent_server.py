"""The unlock agent process (private): socket server over a LocalKeyManager.

Started by :func:`forgekeep.keys.agent.start_agent` as ``python -m
forgekeep.keys.agent``. :func:`main` reads the derived key from stdin, opens the
keyring with it (a wrong key fails here, before anything is left running),
binds the socket, reports ``{"ok": true, "result": pid}`` on stdout, forks a
detached server and exits.

Security rules: the socket is bound under ``umask 0o177`` so it is never, even
briefly, wider than 0600; each connection's peer uid (``SO_PEERCRED``) must be
ours or it is closed unanswered; the process turns off core dumps and
ptrace/``/proc`` access (``PR_SET_DUMPABLE`` 0) before it reads the key; only
KeyManager operations are served, so the key cannot be read back out.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import os
import resource
import select
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from forgekeep.clock import Clock, SystemClock, monotonic
from forgekeep.crypto.context import RelayedContext
from forgekeep.errors import AgentError, ForgekeepError
from forgekeep.keys._agent_wire import (
    b64d,
    b64e,
    encode_info,
    encode_record,
    error_reply,
    ok_reply,
    peer_uid,
    recv_frame,
    send_frame,
)
from forgekeep.keys._seal import KEY_BYTES
from forgekeep.keys.local import LocalKeyManager
from forgekeep.keys.protocol import DomainKeyRef, KeyManager

POLL_SECONDS: Final = 0.25
CONNECTION_TIMEOUT_SECONDS: Final = 5.0
_PR_SET_DUMPABLE: Final = 4


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise AgentError(f"missing or invalid argument {name!r}")
    return value


def _ref(args: dict[str, Any]) -> DomainKeyRef:
    return DomainKeyRef(_text(args, "ring"), _text(args, "domain"))


def _context(args: dict[str, Any]) -> RelayedContext:
    """The client's context bytes, handed on; the backend checks them."""
    return RelayedContext(b64d(args.get("context")))


def _domain(args: dict[str, Any]) -> str | None:
    return None if args.get("domain") is None else _text(args, "domain")


Handler = Callable[[KeyManager, dict[str, Any]], Any]

_OPS: Final[dict[str, Handler]] = {
    "create_ring": lambda km, a: encode_info(km.create_ring(_text(a, "ring"))),
    "create_domain_key": lambda km, a: encode_info(km.create_domain_key(_ref(a))),
    "wrap": lambda km, a: b64e(km.wrap(_ref(a), b64d(a.get("data_key")), _context(a))),
    "unwrap": lambda km, a: b64e(km.unwrap(_ref(a), b64d(a.get("wrapped")), _context(a))),
    "rotate": lambda km, a: encode_info(km.rotate(_text(a, "ring"))),
    "rewrap": lambda km, a: km.rewrap(_text(a, "ring")),
    "disable": lambda km, a: encode_info(km.disable(_ref(a))),
    "enable": lambda km, a: encode_info(km.enable(_ref(a))),
    "destroy": lambda km, a: encode_record(km.destroy(_ref(a))),
    "describe": lambda km, a: encode_info(km.describe(_text(a, "ring"), _domain(a))),
}


def bind_socket(path: Path) -> socket.socket:
    """Bind and listen on a Unix socket created 0600 (umask held while binding)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError as exc:
        listener.close()
        raise AgentError(f"cannot bind the agent socket {path}: {exc.strerror}") from None
    finally:
        os.umask(old_umask)
    listener.listen(16)
    return listener


class AgentServer:
    """Serves KeyManager calls on a bound socket until TTL, lock, signal or socket loss."""

    def __init__(
        self,
        manager: KeyManager,
        listener: socket.socket,
        socket_path: Path,
        *,
        ttl_seconds: float,
        clock: Clock,
        uid: int | None = None,
    ) -> None:
        self._manager = manager
        self._listener = listener
        self._path = socket_path
        self._identity = self._socket_identity()
        self._uid = os.getuid() if uid is None else uid
        self._deadline = monotonic() + ttl_seconds
        self._expires_at = clock.now() + dt.timedelta(seconds=ttl_seconds)
        self._running = True

    def _socket_identity(self) -> tuple[int, int] | None:
        try:
            info = self._path.stat()
        except OSError:
            return None
        return (info.st_dev, info.st_ino)

    def stop(self) -> None:
        """Ask the serve loop to end (from a request or a signal handler)."""
        self._running = False

    def serve(self) -> None:
        """Accept connections until stopped, expired, or the socket file is gone."""
        try:
            while self._running and self._socket_identity() == self._identity:
                remaining = self._deadline - monotonic()
                if remaining <= 0:
                    break
                ready, _, _ = select.select([self._listener], [], [], min(remaining, POLL_SECONDS))
                if ready:
                    self._accept_one()
        finally:
            self._listener.close()
            if self._socket_identity() == self._identity:
                self._path.unlink(missing_ok=True)

    def _accept_one(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(CONNECTION_TIMEOUT_SECONDS)
            if peer_uid(conn) != self._uid:
                return
            try:
                request = recv_frame(conn)
            except (OSError, ForgekeepError):
                return
            with contextlib.suppress(OSError, ForgekeepError):
                send_frame(conn, self.dispatch(request))

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one request; every failure becomes an error reply with a Forgekeep code."""
        try:
            return ok_reply(self._run(request.get("op"), request.get("args")))
        except ForgekeepError as exc:
            return error_reply(exc)
        except Exception:  # noqa: BLE001 - the agent must answer, and only with our errors
            return error_reply(AgentError("the agent failed to run the request"))

    def _run(self, op: Any, args: Any) -> Any:
        if not isinstance(args, dict):
            raise AgentError("agent request arguments must be an object")
        if op in ("ping", "status", "lock"):
            status = {"pid": os.getpid(), "expires_at": self._expires_at.isoformat()}
            status["keyring"] = self._manager.uri
            if op == "lock":
                self.stop()
            return status
        handler = _OPS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise AgentError(f"unknown agent operation {str(op)[:40]!r}")
        return handler(self._manager, args)


def prepare(keyring: Path, socket_path: Path, key: bytes, ttl_seconds: float) -> AgentServer:
    """Open the keyring with ``key`` (refusing a wrong one), then bind the socket."""
    clock = SystemClock()
    manager = LocalKeyManager.open_with_key(keyring, key, clock=clock)
    listener = bind_socket(socket_path)
    return AgentServer(manager, listener, socket_path, ttl_seconds=ttl_seconds, clock=clock)


def _harden() -> None:  # pragma: no cover - process-wide settings, only in the agent process
    """No core dumps and not dumpable (no ptrace or /proc/PID/mem by same-uid processes).

    Fails closed: an agent that cannot harden itself refuses to hold the key.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise AgentError(f"cannot make the agent non-dumpable (errno {ctypes.get_errno()})")


def report(message: dict[str, Any]) -> None:
    """Write the one-line start report the parent reads from our stdout."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _detach() -> None:  # pragma: no cover - agent process only
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def main(argv: list[str]) -> int:  # pragma: no cover - runs in the detached agent process
    """Entry point of ``python -m forgekeep.keys.agent`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="forgekeep-agent")
    parser.add_argument("--keyring", type=Path, required=True)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--ttl", type=float, required=True)
    args = parser.parse_args(argv)
    try:
        _harden()  # before the key arrives
    except ForgekeepError as exc:
        sys.stdin.buffer.read(KEY_BYTES + 1)  # let the parent finish writing, then refuse
        report(error_reply(exc))
        return 1
    key = sys.stdin.buffer.read(KEY_BYTES + 1)
    try:
        server = prepare(args.keyring, args.socket, key, args.ttl)
    except ForgekeepError as exc:
        report(error_reply(exc))
        return 1
    child = os.fork()
    if child:
        report(ok_reply(child))
        os._exit(0)
    _detach()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: server.stop())
    server.serve()
    return 0


if __name__ == "__main__":  # pragma: no cover - the agent process, started by keys.agent
    sys.exit(main(sys.argv[1:]))
