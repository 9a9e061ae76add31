"""StreamHeader: encoding, peeking and refusing malformed headers."""

from __future__ import annotations

import hashlib

import pytest

from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.suite import Suite
from forgekeep.errors import FormatError, HeaderLimitError, TruncatedError, UnknownVersionError


def _raw(*ids: bytes, header_len: int | None = None, version: int = 1, suite: int = 1) -> bytes:
    fields = b"".join(bytes([len(i)]) + i for i in ids)
    size = 10 + len(fields) if header_len is None else header_len
    return b"FKSTRM" + bytes([version, suite]) + size.to_bytes(2, "big") + fields


def test_encode_layout(header: StreamHeader) -> None:
    raw = header.encode()
    assert raw == _raw(b"ring:acme:eu-1", b"project.bracket", b"dek_0001")
    assert StreamHeader.peek_length(raw[:10]) == len(raw)
    assert StreamHeader.decode(raw) == header
    assert header.hash() == hashlib.sha256(raw).digest()


def test_smallest_and_largest_headers() -> None:
    small = StreamHeader(Suite.COBBLESTONE_256, "a", "b", "c")
    assert len(small.encode()) == 16
    big = StreamHeader(Suite.COBBLESTONE_256, "r" * 64, "d" * 64, "k" * 64)
    assert len(big.encode()) == 205
    assert StreamHeader.decode(big.encode()) == big


def test_suite_given_as_int_is_normalised() -> None:
    header = StreamHeader(1, "a", "b", "c")  # type: ignore[arg-type]
    assert header.suite is Suite.COBBLESTONE_256


@pytest.mark.parametrize("suite", [0, 2, 255])
def test_unknown_suite_in_constructor(suite: int) -> None:
    with pytest.raises(UnknownVersionError):
        StreamHeader(suite, "a", "b", "c")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "x" * 65])
def test_id_length_limits(value: str) -> None:
    with pytest.raises(HeaderLimitError):
        StreamHeader(Suite.COBBLESTONE_256, value, "b", "c")


@pytest.mark.parametrize("value", ["ring/1", "ring 1", "ring\x00", "rïng", "環", "a\udc80"])
def test_id_charset(value: str) -> None:
    with pytest.raises(FormatError) as caught:
        StreamHeader(Suite.COBBLESTONE_256, "a", value, "c")
    assert type(caught.value) is FormatError


def test_bad_magic() -> None:
    with pytest.raises(FormatError) as caught:
        StreamHeader.peek_length(b"FKSTRX\x01\x01\x00\x10")
    assert type(caught.value) is FormatError


def test_bad_magic_in_short_prefix() -> None:
    with pytest.raises(FormatError):
        StreamHeader.peek_length(b"PK\x03")


@pytest.mark.parametrize("prefix", [b"", b"FK", b"FKSTRM\x01\x01\x00"])
def test_short_preamble(prefix: bytes) -> None:
    with pytest.raises(TruncatedError):
        StreamHeader.peek_length(prefix)


@pytest.mark.parametrize(("version", "suite"), [(0, 1), (2, 1), (1, 0), (1, 2)])
def test_unknown_version_or_suite(version: int, suite: int) -> None:
    with pytest.raises(UnknownVersionError):
        StreamHeader.peek_length(_raw(b"a", b"b", b"c", version=version, suite=suite))


@pytest.mark.parametrize("header_len", [0, 15, 513, 0xFFFF])
def test_header_len_out_of_bounds(header_len: int) -> None:
    with pytest.raises(HeaderLimitError):
        StreamHeader.peek_length(_raw(b"a", b"b", b"c", header_len=header_len))


def test_decode_truncated_header() -> None:
    raw = _raw(b"abc", b"b", b"c")
    with pytest.raises(TruncatedError):
        StreamHeader.decode(raw[:-1])


def test_decode_refuses_trailing_bytes() -> None:
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(_raw(b"a", b"b", b"c") + b"\x00")


def test_header_len_longer_than_fields() -> None:
    raw = _raw(b"a", b"b", b"c", header_len=17) + b"\x00"
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(raw)


def test_id_running_past_header_len() -> None:
    raw = _raw(b"abcd", b"bcde", b"c", header_len=18)
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(raw[:18])


def test_length_byte_beyond_header_len() -> None:
    raw = _raw(b"abcd", b"b", header_len=17)
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(raw)


def test_zero_length_id() -> None:
    raw = _raw(b"", b"ab", b"cd")
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(raw)


def test_id_over_limit_in_bytes() -> None:
    raw = _raw(b"a" * 65, b"b", b"c")
    with pytest.raises(HeaderLimitError):
        StreamHeader.decode(raw)


@pytest.mark.parametrize("bad", [b"r\xc3\xafng", b"a/b", b"\xff", b"a\x00"])
def test_non_ascii_id_bytes(bad: bytes) -> None:
    with pytest.raises(FormatError) as caught:
        StreamHeader.decode(_raw(b"ring", bad, b"c"))
    assert type(caught.value) is FormatError
