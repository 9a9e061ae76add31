"""docs/formats/keyring.md stays true to the code: its worked example parses as shown."""

from __future__ import annotations

import base64
from pathlib import Path

from forgekeep.keys._keyring_file import (
    FILE_VERSION,
    MAGIC,
    PREFIX,
    KdfParams,
    decode_header,
    parse_file,
)
from forgekeep.keys._seal import OVERHEAD

DOC = Path(__file__).resolve().parents[3] / "docs" / "formats" / "keyring.md"

# Copied from §10 of the doc, as it shows them (offset column, then hex bytes).
EXAMPLE_HEX = """\
0000  46 4b 4b 52 01 00 8e 00 00 00 34 7b 22 66 6f 72
0010  6d 61 74 22 3a 22 66 6f 72 67 65 6b 65 65 70 2d
0020  6b 65 79 72 69 6e 67 22 2c 22 6b 64 66 22 3a 7b
0030  22 61 6c 67 22 3a 22 61 72 67 6f 6e 32 69 64 22
0040  2c 22 69 74 65 72 61 74 69 6f 6e 73 22 3a 31 2c
0050  22 6c 61 6e 65 73 22 3a 31 2c 22 6d 65 6d 6f 72
0060  79 5f 6b 69 62 22 3a 36 34 2c 22 73 61 6c 74 22
0070  3a 22 64 76 59 55 38 5a 6a 36 56 48 78 65 42 51
0080  6a 45 51 49 37 51 74 41 3d 3d 22 7d 2c 22 76 65
0090  72 73 69 6f 6e 22 3a 31 7d
"""
EXAMPLE_JSON = (
    '{"format":"forgekeep-keyring","kdf":{"alg":"argon2id","iterations":1,"lanes":1,'
    '"memory_kib":64,"salt":"dvYU8Zj6VHxeBQjEQI7QtA=="},"version":1}'
)
EMPTY_PAYLOAD_JSON = b'{"rings":{},"version":1}'


def _clear_part() -> bytes:
    """The example's prefix and header, from the hex dump (the offset column dropped)."""
    rows = EXAMPLE_HEX.splitlines()
    for number, row in enumerate(rows):
        assert row.split()[0] == f"{16 * number:04x}", row
    return bytes.fromhex(" ".join(" ".join(row.split()[1:]) for row in rows))


def test_the_doc_still_shows_the_example_copied_here() -> None:
    text = DOC.read_text()
    assert EXAMPLE_HEX in text
    assert EXAMPLE_JSON in text


def test_the_example_prefix_decodes_as_the_doc_says() -> None:
    clear = _clear_part()
    magic, version, header_len, payload_len = PREFIX.unpack_from(clear)
    assert (magic, version) == (MAGIC, FILE_VERSION)
    assert PREFIX.size == 11
    assert (len(clear), header_len) == (153, 142)
    assert len(clear) == PREFIX.size + header_len
    assert payload_len == 52 == len(EMPTY_PAYLOAD_JSON) + OVERHEAD
    assert clear[PREFIX.size :] == EXAMPLE_JSON.encode("ascii")


def test_the_example_header_decodes_with_the_real_decoder() -> None:
    clear = _clear_part()
    header = decode_header(clear[PREFIX.size :])
    assert header.params == KdfParams(memory_kib=64, iterations=1, lanes=1)
    assert header.salt == base64.b64decode("dvYU8Zj6VHxeBQjEQI7QtA==")
    assert len(header.salt) == 16
    assert header.encode() == clear[PREFIX.size :]


def test_the_example_file_layout_parses_with_the_real_reader() -> None:
    """parse_file checks the lengths and the header; the payload is not opened here."""
    clear = _clear_part()
    payload_len = PREFIX.unpack_from(clear)[3]
    sealed = parse_file(clear + bytes(payload_len))
    assert sealed.aad == clear
    assert len(sealed.payload) == payload_len
    assert sealed.header == decode_header(clear[PREFIX.size :])
