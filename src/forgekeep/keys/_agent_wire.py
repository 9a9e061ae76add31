"""The unlock agent's wire protocol (private): framing, codecs, error mapping.

One request per connection. A frame is a 32-bit big-endian length and that many
bytes of UTF-8 JSON, at most ``limits.MAX_AGENT_MESSAGE_BYTES``. Bytes travel
as base64. A request is ``{"op": name, "args": {...}}``; a reply is
``{"ok": true, "result": …}`` or ``{"ok": false, "error": {"code", "message",
"hint"}}``, and the client re-raises the Forgekeep error class with that code.

Security rule: a frame's length is checked before anything is allocated for
it; anything malformed is :class:`AgentError`. Errors cross the socket by code
and message only — messages never carry key material (errors.py's rule) — and
an unexpected exception inside the agent becomes a generic AgentError.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import socket
import struct
from typing import Any, Final, NoReturn

from forgekeep import limits
from forgekeep.errors import AgentError, ForgekeepError, LimitExceededError, all_error_classes
from forgekeep.keys.protocol import DestructionRecord, KeyInfo, KeyState

LENGTH: Final = struct.Struct(">I")


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise AgentError("the agent connection closed in the middle of a message")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one JSON message; a message over the limit is refused before sending."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(body) > limits.MAX_AGENT_MESSAGE_BYTES:
        raise LimitExceededError(
            f"an agent message of {len(body)} bytes exceeds {limits.MAX_AGENT_MESSAGE_BYTES}"
        )
    sock.sendall(LENGTH.pack(len(body)) + body)


def recv_frame(sock: socket.socket) -> dict[str, Any]:
    """Receive one JSON object, checking the announced length first."""
    (size,) = LENGTH.unpack(_recv_exact(sock, LENGTH.size))
    if size > limits.MAX_AGENT_MESSAGE_BYTES:
        raise AgentError(f"an agent message announced {size} bytes")
    try:
        message = json.loads(_recv_exact(sock, size).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AgentError("an agent message is not JSON") from None
    if not isinstance(message, dict):
        raise AgentError("an agent message is not a JSON object")
    return message


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str):
        raise AgentError("expected base64 text in an agent message")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AgentError("invalid base64 in an agent message") from None


def encode_info(info: KeyInfo) -> dict[str, Any]:
    return {
        "ring": info.ring,
        "domain": info.domain,
        "state": info.state.value,
        "kek_version": info.kek_version,
        "created_at": info.created_at.isoformat(),
    }


def decode_info(obj: Any) -> KeyInfo:
    try:
        domain = obj["domain"]
        return KeyInfo(
            ring=str(obj["ring"]),
            domain=None if domain is None else str(domain),
            state=KeyState(obj["state"]),
            kek_version=int(obj["kek_version"]),
            created_at=dt.datetime.fromisoformat(obj["created_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise AgentError("the agent sent a malformed key description") from None


def encode_record(record: DestructionRecord) -> dict[str, Any]:
    return {
        "ring": record.ring,
        "domain": record.domain,
        "destroyed_at": record.destroyed_at.isoformat(),
        "backend": record.backend,
    }


def decode_record(obj: Any) -> DestructionRecord:
    try:
        return DestructionRecord(
            ring=str(obj["ring"]),
            domain=str(obj["domain"]),
            destroyed_at=dt.datetime.fromisoformat(obj["destroyed_at"]),
            backend=str(obj["backend"]),
        )
    except (KeyError, TypeError, ValueError):
        raise AgentError("the agent sent a malformed destruction record") from None


def ok_reply(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error_reply(exc: ForgekeepError) -> dict[str, Any]:
    return {"ok": False, "error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}


def raise_remote(error: Any) -> NoReturn:
    """Re-raise an error reply as the Forgekeep class with its code (AgentError if unknown)."""
    if not isinstance(error, dict):
        raise AgentError("the agent sent a malformed error")
    by_code = {cls.code: cls for cls in all_error_classes()}
    cls = by_code.get(str(error.get("code")), AgentError)
    hint = error.get("hint")
    raise cls(str(error.get("message", "")), hint=hint if isinstance(hint, str) else None)


def result_of(reply: dict[str, Any]) -> Any:
    """The result of an ok reply; an error reply is raised."""
    if reply.get("ok") is True and "result" in reply:
        return reply["result"]
    if reply.get("ok") is False:
        raise_remote(reply.get("error"))
    raise AgentError("the agent sent a malformed reply")


_UCRED: Final = struct.Struct("3i")


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket."""
    _pid, uid, _gid = _UCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    )
    return int(uid)
