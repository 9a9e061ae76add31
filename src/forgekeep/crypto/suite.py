"""Stream v1 suites and the fixed sizes of the format.

Security rule: a suite number names exactly one pair of primitives, and a
reader refuses any number it does not know (``UnknownVersionError``) instead of
guessing. Suite 2 is reserved for a future hybrid suite and is unknown today.
"""

from __future__ import annotations

import enum
from typing import Final

from forgekeep import limits


class Suite(enum.IntEnum):
    """The primitives protecting a stream v1 body (one byte in the header)."""

    #: C2SP chunked-encryption v1 with HKDF-Expand(SHA-512) and AEAD_AES_256_GCM.
    COBBLESTONE_256 = 1


#: Plaintext bytes in every chunk but the last (which is always shorter).
CHUNK_SIZE: Final = 16384
#: AES-GCM tag bytes appended to every chunk.
TAG_SIZE: Final = 16
#: One full chunk as stored: plaintext plus tag.
ENCRYPTED_CHUNK_SIZE: Final = CHUNK_SIZE + TAG_SIZE
#: Data-encryption key bytes (the HKDF-Expand PRK).
DEK_SIZE: Final = 32
#: Version id bytes (random, issued when an upload starts).
VERSION_ID_SIZE: Final = 16
#: Random salt at the start of the body.
SALT_SIZE: Final = 24
#: Key commitment after the salt.
COMMITMENT_SIZE: Final = 32
#: Salt plus commitment: the body bytes before chunk 0.
BODY_PREFIX_SIZE: Final = SALT_SIZE + COMMITMENT_SIZE
#: AES-256-GCM nonce bytes.
NONCE_SIZE: Final = 12
#: AES-256-GCM key bytes.
AEAD_KEY_SIZE: Final = 32
#: The C2SP bound on the number of chunks in one message.
MAX_CHUNKS: Final = 1 << 38
#: Longest plaintext one stream may carry: the smaller of our asset limit and
#: the largest message 2**38 chunks can hold (the last chunk is short).
MAX_PLAINTEXT_BYTES: Final = min(limits.MAX_ASSET_BYTES, MAX_CHUNKS * CHUNK_SIZE - 1)

#: The IANA AEAD name bound into HKDF info, per suite.
AEAD_NAMES: Final[dict[Suite, bytes]] = {Suite.COBBLESTONE_256: b"AEAD_AES_256_GCM"}

_KNOWN: Final = frozenset(int(s) for s in Suite)


def is_known_suite(value: int) -> bool:
    """True when ``value`` names a suite this build implements."""
    return value in _KNOWN
