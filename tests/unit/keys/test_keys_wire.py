"""The agent wire protocol: frames, limits, codecs and error mapping."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from forgekeep import limits
from forgekeep.errors import (
    AgentError,
    KeyUnavailableError,
    LimitExceededError,
    WrongPassphraseError,
)
from forgekeep.keys import _agent_wire as wire


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    left.settimeout(2)
    right.settimeout(2)
    with left, right:
        yield left, right


def test_a_frame_round_trips(pair: tuple[socket.socket, socket.socket]) -> None:
    message = {"op": "wrap", "args": {"data_key": wire.b64e(b"\x00\xff")}}
    wire.send_frame(pair[0], message)
    assert wire.recv_frame(pair[1]) == message


def test_an_oversized_message_is_not_sent(pair: tuple[socket.socket, socket.socket]) -> None:
    with pytest.raises(LimitExceededError):
        wire.send_frame(pair[0], {"x": "y" * limits.MAX_AGENT_MESSAGE_BYTES})


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (struct.pack(">I", limits.MAX_AGENT_MESSAGE_BYTES + 1), "announced"),
        (struct.pack(">I", 3) + b"\xff\xfe\xfd", "not JSON"),
        (struct.pack(">I", 3) + b"{{{", "not JSON"),
        (struct.pack(">I", 2) + b"[]", "not a JSON object"),
        (struct.pack(">I", 10) + b"{}", "closed in the middle"),
        (b"\x00\x00", "closed in the middle"),
    ],
)
def test_bad_frames(pair: tuple[socket.socket, socket.socket], raw: bytes, match: str) -> None:
    pair[0].sendall(raw)
    pair[0].shutdown(socket.SHUT_WR)
    with pytest.raises(AgentError, match=match):
        wire.recv_frame(pair[1])


@pytest.mark.parametrize("value", [None, 5, "not base64!"])
def test_bad_base64(value: object) -> None:
    with pytest.raises(AgentError):
        wire.b64d(value)


@pytest.mark.parametrize("obj", [None, {}, {"ring": "r", "domain": None, "state": "melted"}])
def test_malformed_key_info(obj: object) -> None:
    with pytest.raises(AgentError):
        wire.decode_info(obj)


@pytest.mark.parametrize(
    "obj", [None, {"ring": "r"}, {"ring": "r", "domain": "d", "destroyed_at": "x", "backend": "b"}]
)
def test_malformed_destruction_record(obj: object) -> None:
    with pytest.raises(AgentError):
        wire.decode_record(obj)


def test_errors_come_back_as_their_own_class() -> None:
    reply = wire.error_reply(KeyUnavailableError("gone", hint="ask"))
    with pytest.raises(KeyUnavailableError, match="gone") as caught:
        wire.result_of(reply)
    assert caught.value.hint == "ask"
    with pytest.raises(WrongPassphraseError) as default:
        wire.raise_remote({"code": WrongPassphraseError.code, "message": "m", "hint": 5})
    assert default.value.hint == WrongPassphraseError.default_hint


@pytest.mark.parametrize(
    "reply",
    [
        {"ok": False, "error": {"code": "FK-NOPE-999", "message": "?"}},
        {"ok": False, "error": "x"},
        {"ok": True},
        {},
    ],
)
def test_unknown_or_malformed_replies_are_agent_errors(reply: dict[str, object]) -> None:
    with pytest.raises(AgentError):
        wire.result_of(reply)
