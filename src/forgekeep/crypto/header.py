"""The stream v1 header: magic, version, suite and three length-prefixed ids.

Security rule: the header is untrusted input. A parser reads the fixed
10-byte preamble, checks magic, version, suite and the declared length against
``limits.MAX_STREAM_HEADER_BYTES`` before reading anything else, and accepts a
header only when its declared length equals the parsed length exactly. The
header carries no wrapped key; it is bound to the body through its SHA-256 in
the stream context, so any change to it fails the key commitment.

Layout (see ``docs/formats/stream-v1.md``)::

    "FKSTRM" | version u8 = 1 | suite u8 | header_len u16 BE
    | len u8 | key_ring_id | len u8 | domain_id | len u8 | dek_id
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from forgekeep import limits
from forgekeep.crypto.suite import Suite, is_known_suite
from forgekeep.errors import FormatError, HeaderLimitError, TruncatedError, UnknownVersionError

MAGIC: Final = b"FKSTRM"
FORMAT_VERSION: Final = 1
#: magic ‖ version ‖ suite ‖ header_len.
PREAMBLE_SIZE: Final = len(MAGIC) + 4
_ID_COUNT: Final = 3
#: Smallest possible header: the preamble and three one-byte ids.
MIN_HEADER_SIZE: Final = PREAMBLE_SIZE + _ID_COUNT * 2
_ID_PATTERN: Final = re.compile(rb"[A-Za-z0-9._:-]+")


def _check_id(name: str, value: str) -> bytes:
    """Validate one header id and return its ASCII bytes."""
    if not 1 <= len(value) <= limits.MAX_HEADER_ID_BYTES:
        raise HeaderLimitError(f"header {name} must be 1-{limits.MAX_HEADER_ID_BYTES} bytes")
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) != len(value) or _ID_PATTERN.fullmatch(raw) is None:
        raise FormatError(f"header {name} must be ASCII [A-Za-z0-9._:-]")
    return raw


def _check_suite(value: int) -> Suite:
    if not is_known_suite(value):
        raise UnknownVersionError(f"unknown stream suite {value}")
    return Suite(value)


def _check_preamble_magic(prefix: bytes) -> None:
    seen = bytes(prefix[: len(MAGIC)])
    if seen != MAGIC[: len(seen)]:
        raise FormatError("not a Forgekeep stream: bad magic")


def _read_ids(data: bytes, end: int) -> list[str]:
    """Parse the three ``len u8 ‖ bytes`` ids between the preamble and ``end``."""
    ids: list[str] = []
    pos = PREAMBLE_SIZE
    for name in ("key_ring_id", "domain_id", "dek_id"):
        if pos >= end:
            raise HeaderLimitError(f"header {name} lies beyond header_len")
        size = data[pos]
        if not 1 <= size <= limits.MAX_HEADER_ID_BYTES:
            raise HeaderLimitError(f"header {name} length {size} is out of bounds")
        if pos + 1 + size > end:
            raise HeaderLimitError(f"header {name} runs past header_len")
        raw = data[pos + 1 : pos + 1 + size]
        if _ID_PATTERN.fullmatch(raw) is None:
            raise FormatError(f"header {name} must be ASCII [A-Za-z0-9._:-]")
        ids.append(raw.decode("ascii"))
        pos += 1 + size
    if pos != end:
        raise HeaderLimitError("header_len does not match the parsed header length")
    return ids


@dataclass(frozen=True)
class StreamHeader:
    """The plaintext header in front of every stream v1 body."""

    suite: Suite
    key_ring_id: str
    domain_id: str
    dek_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "suite", _check_suite(self.suite))
        _check_id("key_ring_id", self.key_ring_id)
        _check_id("domain_id", self.domain_id)
        _check_id("dek_id", self.dek_id)

    def encode(self) -> bytes:
        """The exact header bytes, magic first."""
        ids = (self.key_ring_id, self.domain_id, self.dek_id)
        fields = b"".join(bytes([len(i)]) + i.encode("ascii") for i in ids)
        size = PREAMBLE_SIZE + len(fields)
        preamble = MAGIC + bytes([FORMAT_VERSION, self.suite]) + size.to_bytes(2, "big")
        return preamble + fields

    def hash(self) -> bytes:
        """SHA-256 of the encoded header (bound into the stream context)."""
        return hashlib.sha256(self.encode()).digest()

    @staticmethod
    def peek_length(prefix: bytes) -> int:
        """Validate the 10-byte preamble and return the declared header length.

        Only the first 10 bytes are read; a reader then fetches exactly that
        many bytes and calls :meth:`decode`.
        """
        _check_preamble_magic(prefix)
        if len(prefix) < PREAMBLE_SIZE:
            raise TruncatedError("stream header is truncated")
        if prefix[len(MAGIC)] != FORMAT_VERSION:
            raise UnknownVersionError(f"unknown stream format version {prefix[len(MAGIC)]}")
        _check_suite(prefix[len(MAGIC) + 1])
        size = int.from_bytes(prefix[len(MAGIC) + 2 : PREAMBLE_SIZE], "big")
        if not MIN_HEADER_SIZE <= size <= limits.MAX_STREAM_HEADER_BYTES:
            raise HeaderLimitError(f"header_len {size} is out of bounds")
        return size

    @classmethod
    def decode(cls, data: bytes) -> StreamHeader:
        """Parse exactly one header; ``data`` must be exactly ``header_len`` bytes."""
        size = cls.peek_length(data)
        if len(data) < size:
            raise TruncatedError("stream header is truncated")
        if len(data) > size:
            raise HeaderLimitError("bytes follow the header beyond header_len")
        key_ring_id, domain_id, dek_id = _read_ids(bytes(data), size)
        return cls(Suite(data[len(MAGIC) + 1]), key_ring_id, domain_id, dek_id)
