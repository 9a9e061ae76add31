"""The ``local:`` keyring file: a JSON header and a payload sealed by a passphrase.

Layout (all integers big-endian)::

    magic "FKKR" (4) ‖ version (1, = 1) ‖ header length (2) ‖ payload length (4)
    ‖ header (canonical JSON, at most 1024 bytes)
    ‖ payload: nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)

The header is ``{"format":"forgekeep-keyring","version":1,"kdf":{"alg":"argon2id",
"iterations":…,"lanes":…,"memory_kib":…,"salt":b64}}`` written as sorted, compact
JSON; the payload key is Argon2id(passphrase, salt, params) and the associated
data is every byte before the payload, so the header cannot be edited.

Security rules:

* The file is untrusted until its tag verifies. Its size is bounded by
  ``limits.MAX_KEYRING_FILE_BYTES`` before it is read, and the KDF parameters
  in its header are checked against hard bounds before Argon2id runs, so a
  hostile file cannot make us allocate or loop without limit.
* A bad prefix or header, a truncated or padded file is :class:`FormatError`;
  a good header whose payload does not open is :class:`WrongPassphraseError`
  ("wrong passphrase, or the keyring file was altered").
* There is no default passphrase; an empty one is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from forgekeep import limits
from forgekeep.errors import (
    ConfigError,
    ForgekeepError,
    FormatError,
    HeaderLimitError,
    KeyManagerError,
    LimitExceededError,
    NotFoundError,
    UnknownVersionError,
    UnwrapError,
    UsageError,
    WrongPassphraseError,
)
from forgekeep.keys._seal import KEY_BYTES, OVERHEAD, aead_unwrap, aead_wrap

MAGIC: Final = b"FKKR"
FILE_VERSION: Final = 1
PREFIX: Final = struct.Struct(">4sBHI")
FORMAT_NAME: Final = "forgekeep-keyring"

# Bounds on the header and on KDF parameters read from a file (or asked for at
# creation) live in ``limits``; the old names stay importable from here (as
# module attributes, so mypy's no-implicit-reexport accepts them too).
MAX_HEADER_BYTES: Final = limits.MAX_KEYRING_HEADER_BYTES
MIN_LANES: Final = limits.MIN_ARGON2_LANES
MAX_LANES: Final = limits.MAX_ARGON2_LANES
MIN_ITERATIONS: Final = limits.MIN_ARGON2_ITERATIONS
MAX_ITERATIONS: Final = limits.MAX_ARGON2_ITERATIONS
MAX_MEMORY_KIB: Final = limits.MAX_ARGON2_MEMORY_KIB
MIN_SALT_BYTES: Final = limits.MIN_KEYRING_SALT_BYTES
MAX_SALT_BYTES: Final = limits.MAX_KEYRING_SALT_BYTES
#: Salt length written at creation (readers accept MIN_SALT_BYTES..MAX_SALT_BYTES).
SALT_BYTES: Final = 16

_WRONG = "wrong passphrase, or the keyring file was altered"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters, recorded in the keyring header."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4


DEFAULT_KDF: Final = KdfParams()


def check_params(params: KdfParams, error: type[ForgekeepError]) -> KdfParams:
    """Refuse parameters outside the hard bounds (``error`` says whose fault it is)."""
    fields = (params.memory_kib, params.iterations, params.lanes)
    if not all(type(value) is int for value in fields):
        raise error("KDF parameters must be integers")
    ok = (
        MIN_LANES <= params.lanes <= MAX_LANES
        and MIN_ITERATIONS <= params.iterations <= MAX_ITERATIONS
        and 8 * params.lanes <= params.memory_kib <= MAX_MEMORY_KIB
    )
    if not ok:
        raise error(
            f"KDF parameters out of bounds: memory {params.memory_kib} KiB "
            f"(8 per lane to {MAX_MEMORY_KIB}), iterations {params.iterations} "
            f"({MIN_ITERATIONS}-{MAX_ITERATIONS}), lanes {params.lanes} ({MIN_LANES}-{MAX_LANES})"
        )
    return params


@dataclass(frozen=True, slots=True)
class KeyringHeader:
    """The clear part of a keyring file: KDF algorithm, parameters and salt."""

    params: KdfParams
    salt: bytes

    @classmethod
    def new(cls, params: KdfParams) -> KeyringHeader:
        return cls(check_params(params, ConfigError), secrets.token_bytes(SALT_BYTES))

    def encode(self) -> bytes:
        """The canonical header bytes (sorted keys, no whitespace)."""
        kdf = {
            "alg": "argon2id",
            "iterations": self.params.iterations,
            "lanes": self.params.lanes,
            "memory_kib": self.params.memory_kib,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }
        document = {"format": FORMAT_NAME, "kdf": kdf, "version": FILE_VERSION}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True, slots=True)
class SealedFile:
    """A parsed keyring file whose payload is not yet opened."""

    header: KeyringHeader
    aad: bytes
    payload: bytes


def check_passphrase(passphrase: bytes) -> bytes:
    if not passphrase:
        raise UsageError("an empty passphrase is refused", hint="choose a passphrase")
    if len(passphrase) > limits.MAX_PASSPHRASE_BYTES:
        raise LimitExceededError(
            f"the passphrase is longer than {limits.MAX_PASSPHRASE_BYTES} bytes"
        )
    return passphrase


def derive(header: KeyringHeader, passphrase: bytes) -> bytes:
    """Run Argon2id with the header's (already bounded) parameters."""
    check_passphrase(passphrase)
    params = header.params
    kdf = Argon2id(
        salt=header.salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(passphrase)


def _kdf_params(kdf: Any) -> KdfParams:
    keys = {"alg", "iterations", "lanes", "memory_kib", "salt"}
    if not isinstance(kdf, dict) or set(kdf) != keys:
        raise FormatError("the keyring header's kdf entry is malformed")
    if kdf["alg"] != "argon2id":
        raise UnknownVersionError(f"unsupported keyring KDF {str(kdf['alg'])[:20]!r}")
    params = KdfParams(kdf["memory_kib"], kdf["iterations"], kdf["lanes"])
    return check_params(params, HeaderLimitError)


def _salt(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > 2 * MAX_SALT_BYTES:
        raise HeaderLimitError("the keyring salt is malformed")
    try:
        salt = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("the keyring salt is not base64") from None
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise HeaderLimitError(f"the keyring salt is {len(salt)} bytes")
    return salt


def decode_header(raw: bytes) -> KeyringHeader:
    """Parse and check a header; it must be exactly the canonical encoding."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FormatError("the keyring header is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise FormatError("not a Forgekeep keyring header")
    if set(document) != {"format", "kdf", "version"} or document["version"] != FILE_VERSION:
        raise FormatError("the keyring header has unexpected fields or version")
    header = KeyringHeader(_kdf_params(document["kdf"]), _salt(document["kdf"]["salt"]))
    if header.encode() != raw:
        raise FormatError("the keyring header is not in canonical form")
    return header


def parse_file(data: bytes) -> SealedFile:
    """Split a keyring file into header and sealed payload, checking every length."""
    if len(data) < PREFIX.size:
        raise FormatError("the keyring file is truncated")
    magic, version, header_len, payload_len = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise FormatError("not a Forgekeep keyring file")
    if version != FILE_VERSION:
        raise UnknownVersionError(f"keyring file version {version} is not supported")
    if header_len > MAX_HEADER_BYTES:
        raise HeaderLimitError(f"the keyring header claims {header_len} bytes")
    end = PREFIX.size + header_len
    if payload_len < OVERHEAD or len(data) != end + payload_len:
        raise FormatError("the keyring file is truncated or has trailing bytes")
    header = decode_header(data[PREFIX.size : end])
    return SealedFile(header=header, aad=data[:end], payload=data[end:])


def read_file(path: Path) -> SealedFile:
    """Read at most MAX_KEYRING_FILE_BYTES (+1 to notice more) and parse it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_KEYRING_FILE_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError(
            f"no keyring file at {path}", hint="create one with `forgekeep init`"
        ) from None
    except OSError as exc:
        raise KeyManagerError(f"could not read the keyring file {path}: {exc.strerror}") from None
    if len(data) > limits.MAX_KEYRING_FILE_BYTES:
        raise LimitExceededError(
            f"the keyring file is larger than {limits.MAX_KEYRING_FILE_BYTES} bytes"
        )
    return parse_file(data)


def open_payload(sealed: SealedFile, key: bytes) -> bytes:
    """Open the payload with the derived key; a failing tag is WrongPassphraseError."""
    try:
        return aead_unwrap(key, sealed.payload, sealed.aad)
    except UnwrapError:
        raise WrongPassphraseError(_WRONG) from None


def seal_file(header: KeyringHeader, key: bytes, plaintext: bytes) -> bytes:
    """Build a whole keyring file; refuses to build one it could not read back."""
    header_bytes = header.encode()
    payload_len = len(plaintext) + OVERHEAD
    prefix = PREFIX.pack(MAGIC, FILE_VERSION, len(header_bytes), payload_len)
    if len(prefix) + len(header_bytes) + payload_len > limits.MAX_KEYRING_FILE_BYTES:
        raise LimitExceededError(
            f"the keyring would exceed {limits.MAX_KEYRING_FILE_BYTES} bytes",
            hint="split the domains over more key rings or keyrings",
        )
    aad = prefix + header_bytes
    return aad + aead_wrap(key, plaintext, aad)
