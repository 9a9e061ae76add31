"""The one signed-object envelope: Ed25519 over a typed, canonical JSON payload.

Vetting records, approvals, site descriptors, release tickets, the trust bundle
and destruction certificates all use it. The format is specified in
``docs/formats/signed-objects.md``.

Security rules:

* A signature covers ``"forgekeep/" ‖ type ‖ "/v1\\n" ‖ JCS(payload)``, so a
  signature for one type never verifies as another.
* Keys are named and identified as in C2SP signed-note: key hash =
  SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]; verifier keys are C2SP vkeys.
* :func:`verify` has no default trust: an empty trusted list or a quorum below 1
  is a :class:`UsageError`. It returns the payload only when at least
  ``quorum`` distinct trusted public keys signed it; signatures by unknown keys
  are ignored, a bad signature by a trusted key rejects the whole object, and
  repeated signatures by one key count once.
* The payload returned is parsed from the exact bytes that were verified.
* Untrusted documents are bounded by ``limits.MAX_SIGNED_DOCUMENT_BYTES`` and
  parsed strictly (no duplicate keys, no NaN, exact field sets).
* Private key bytes never appear in a repr, a str or an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from forgekeep import limits
from forgekeep.crypto.canonical import canonical_json, strict_json_loads
from forgekeep.errors import FormatError, IntegrityError, LimitExceededError, UsageError

#: Signature type byte for Ed25519 in C2SP signed-note.
ALG_ED25519: Final = 0x01
PUBLIC_KEY_SIZE: Final = 32
SEED_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
SIGNER_KEY_PREFIX: Final = "PRIVATE+KEY+"

_TYPE_RE: Final = re.compile(r"[a-z][a-z0-9-]{0,31}")
_HEX8_RE: Final = re.compile(r"[0-9a-f]{8}")
_ENVELOPE_FIELDS: Final = frozenset({"type", "payload", "signatures"})
_SIGNATURE_FIELDS: Final = frozenset({"key_id", "sig"})
_KEY_HINT: Final = "a key is name+hex8(keyid)+base64(0x01‖key), as in C2SP signed-note"
_DOC_HINT: Final = "see docs/formats/signed-objects.md for the envelope format"
_TRUST_HINT: Final = (
    "the object was altered, or is not signed by enough keys you trust; obtain a fresh copy"
)


def _name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid signed-note key name, or None when it is."""
    if not name:
        return "a key name must not be empty"
    if "+" in name or any(char.isspace() for char in name):
        return "a key name must not contain '+' or whitespace"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "a key name must be valid UTF-8"
    if len(encoded) > limits.MAX_NAME_BYTES:
        return f"a key name is at most {limits.MAX_NAME_BYTES} bytes"
    return None


def _check_type(type_: str) -> None:
    if not isinstance(type_, str) or _TYPE_RE.fullmatch(type_) is None:
        raise UsageError("a signed-object type is [a-z][a-z0-9-]{0,31}")


def key_hash(name: str, public_key: bytes) -> int:
    """The C2SP signed-note key hash of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key that may be trusted to sign objects."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        problem = _name_problem(self.name)
        if problem is not None:
            raise UsageError(problem, hint=_KEY_HINT)
        if len(self.public_key) != PUBLIC_KEY_SIZE:
            raise UsageError(f"an Ed25519 public key is exactly {PUBLIC_KEY_SIZE} bytes")

    @property
    def key_hash(self) -> int:
        """The 32-bit signed-note key hash."""
        return key_hash(self.name, self.public_key)

    @property
    def key_id(self) -> str:
        """``name+hex8(keyid)``, as carried in an envelope's signatures."""
        return f"{self.name}+{self.key_hash:08x}"

    def __repr__(self) -> str:
        return f"VerifierKey({self.key_id!r})"


class SignerKey:
    """A named Ed25519 private key. Its repr and str show only the key id."""

    __slots__ = ("_private", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise UsageError(f"an Ed25519 seed is exactly {SEED_SIZE} bytes")
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        self._verifier = VerifierKey(name, self._private.public_key().public_bytes_raw())

    @property
    def name(self) -> str:
        """The key name."""
        return self._verifier.name

    @property
    def verifier(self) -> VerifierKey:
        """The matching public verifier key."""
        return self._verifier

    @property
    def key_id(self) -> str:
        """``name+hex8(keyid)`` of the matching verifier key."""
        return self.verifier.key_id

    def sign_bytes(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def seed(self) -> bytes:
        """The 32-byte private seed. Handle with care: this is the secret."""
        return self._private.private_bytes_raw()

    def __repr__(self) -> str:
        return f"SignerKey({self.key_id!r})"

    __str__ = __repr__


def generate_signer(name: str) -> SignerKey:
    """A fresh random Ed25519 signer key named ``name``."""
    return SignerKey(name, Ed25519PrivateKey.generate().private_bytes_raw())


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (with padding, canonical trailing bits)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise FormatError(f"{what} is not standard base64", hint=_DOC_HINT) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise FormatError(f"{what} is not canonical base64", hint=_DOC_HINT)
    return raw


def _split_key(text: str, what: str) -> tuple[str, int, bytes]:
    """``name+hex8+base64`` → (name, key hash, decoded key), checking the format only."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise FormatError(f"{what} is not name+hex8+base64", hint=_KEY_HINT)
    name, hash_hex, key64 = parts
    problem = _name_problem(name)
    if problem is not None:
        raise FormatError(f"{what}: {problem}", hint=_KEY_HINT)
    if _HEX8_RE.fullmatch(hash_hex) is None:
        raise FormatError(f"{what} key id is not 8 lower-case hex digits", hint=_KEY_HINT)
    raw = _b64decode(key64, f"{what} key")
    if len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] != ALG_ED25519:
        raise FormatError(f"{what} is not a 0x01 ‖ 32-byte Ed25519 key", hint=_KEY_HINT)
    return name, int(hash_hex, 16), raw[1:]


def encode_vkey(key: VerifierKey) -> str:
    """The C2SP vkey ``name+hex8(keyid)+base64(0x01‖public key)``."""
    raw = base64.b64encode(bytes([ALG_ED25519]) + key.public_key).decode("ascii")
    return f"{key.key_id}+{raw}"


def parse_vkey(text: str) -> VerifierKey:
    """Parse a C2SP Ed25519 vkey; :class:`FormatError` on anything malformed."""
    if not isinstance(text, str):
        raise FormatError("a verifier key is text", hint=_KEY_HINT)
    name, hash_, public_key = _split_key(text, "verifier key")
    key = VerifierKey(name, public_key)
    if key.key_hash != hash_:
        raise FormatError("verifier key id does not match its name and key", hint=_KEY_HINT)
    return key


def encode_signer_key(key: SignerKey) -> str:
    """``PRIVATE+KEY+name+hex8(keyid)+base64(0x01‖seed)``, as Go's sumdb/note writes it."""
    raw = base64.b64encode(bytes([ALG_ED25519]) + key.seed()).decode("ascii")
    return f"{SIGNER_KEY_PREFIX}{key.key_id}+{raw}"


def parse_signer_key(text: str) -> SignerKey:
    """Parse a signer key; :class:`FormatError` on anything malformed (the text is never echoed).

    One trailing newline, as ``forgekeep keygen`` writes the key file, is allowed.
    """
    if isinstance(text, str):
        text = text.removesuffix("\n")
    if not isinstance(text, str) or not text.startswith(SIGNER_KEY_PREFIX):
        raise FormatError("a signer key starts with PRIVATE+KEY+", hint=_KEY_HINT)
    name, hash_, seed = _split_key(text[len(SIGNER_KEY_PREFIX) :], "signer key")
    key = SignerKey(name, seed)
    if key.verifier.key_hash != hash_:
        raise FormatError("signer key id does not match its name and key", hint=_KEY_HINT)
    return key


def signed_message(type_: str, payload_json: bytes) -> bytes:
    """The exact bytes signed: ``forgekeep/<type>/v1\\n`` ‖ canonical payload JSON."""
    _check_type(type_)
    return b"forgekeep/" + type_.encode("ascii") + b"/v1\n" + payload_json


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature in an envelope: the signer's ``name+hex8`` key id and 64 bytes."""

    key_id: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class SignedObject:
    """A typed payload with one or more signatures over it.

    ``payload_json`` is the canonical (RFC 8785) payload, the bytes that are signed.
    """

    type: str
    payload_json: bytes
    signatures: tuple[Signature, ...]

    @property
    def payload(self) -> dict[str, Any]:
        """A fresh copy of the payload, *unverified*: call :func:`verify` to trust it."""
        return _loads(self.payload_json)  # type: ignore[no-any-return]

    def message(self) -> bytes:
        """The bytes each signature covers."""
        return signed_message(self.type, self.payload_json)

    def to_json(self) -> bytes:
        """The envelope as canonical JSON bytes."""
        sigs = [
            {"key_id": s.key_id, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
        ]
        # JCS sorts the members: "payload" < "signatures" < "type".
        return b"".join(
            (b'{"payload":', self.payload_json, b',"signatures":', canonical_json(sigs),
             b',"type":', canonical_json(self.type), b"}")
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: bytes) -> SignedObject:
        """Parse an envelope strictly; :class:`LimitExceededError` when oversize,
        :class:`FormatError` when malformed. Nothing is verified here."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise UsageError("a signed document is read from bytes")
        _check_size(len(data))
        doc = _loads(bytes(data))
        if not isinstance(doc, dict) or set(doc) != _ENVELOPE_FIELDS:
            raise FormatError(
                "a signed object has exactly type, payload, signatures", hint=_DOC_HINT
            )
        type_, payload, sigs = doc["type"], doc["payload"], doc["signatures"]
        if not isinstance(type_, str) or _TYPE_RE.fullmatch(type_) is None:
            raise FormatError("signed-object type is not [a-z][a-z0-9-]{0,31}", hint=_DOC_HINT)
        if not isinstance(payload, dict):
            raise FormatError("signed-object payload is not a JSON object", hint=_DOC_HINT)
        if not isinstance(sigs, list) or not sigs:
            raise FormatError("signed-object signatures is not a non-empty list", hint=_DOC_HINT)
        signatures = tuple(_parse_signature(item) for item in sigs)
        return cls(type_, canonical_json(payload), signatures)


def _loads(data: bytes) -> Any:
    return strict_json_loads(data, "signed document", hint=_DOC_HINT)


def _parse_signature(item: object) -> Signature:
    if not isinstance(item, dict) or set(item) != _SIGNATURE_FIELDS:
        raise FormatError("a signature has exactly key_id and sig", hint=_DOC_HINT)
    key_id, sig = item["key_id"], item["sig"]
    if not isinstance(key_id, str) or not isinstance(sig, str):
        raise FormatError("a signature's key_id and sig are strings", hint=_DOC_HINT)
    name, _, hash_hex = key_id.rpartition("+")
    if _name_problem(name) is not None or _HEX8_RE.fullmatch(hash_hex) is None:
        raise FormatError("a signature's key_id is not name+hex8", hint=_DOC_HINT)
    raw = _b64decode(sig, "signature")
    if len(raw) != SIGNATURE_SIZE:
        raise FormatError(f"an Ed25519 signature is {SIGNATURE_SIZE} bytes", hint=_DOC_HINT)
    return Signature(key_id, raw)


def _check_size(size: int) -> None:
    if size > limits.MAX_SIGNED_DOCUMENT_BYTES:
        raise LimitExceededError(
            f"a signed document is at most {limits.MAX_SIGNED_DOCUMENT_BYTES} bytes"
        )


def _checked_size(obj: SignedObject) -> SignedObject:
    _check_size(len(obj.to_json()))
    return obj


def sign(signer: SignerKey, type_: str, payload: Mapping[str, Any]) -> SignedObject:
    """Sign ``payload`` as a ``type_`` object with one key."""
    _check_type(type_)
    if not isinstance(payload, Mapping):
        raise UsageError("a signed-object payload is a mapping (a JSON object)")
    payload_json = canonical_json(dict(payload))
    sig = Signature(signer.key_id, signer.sign_bytes(signed_message(type_, payload_json)))
    return _checked_size(SignedObject(type_, payload_json, (sig,)))


def countersign(obj: SignedObject, signer: SignerKey) -> SignedObject:
    """``obj`` with one more signature, by ``signer``, over the same bytes."""
    sig = Signature(signer.key_id, signer.sign_bytes(obj.message()))
    return _checked_size(SignedObject(obj.type, obj.payload_json, (*obj.signatures, sig)))


def _trust_table(trusted: Sequence[VerifierKey], quorum: int) -> dict[str, VerifierKey]:
    """Trusted keys by key id; fail closed on an empty, ambiguous or unreachable policy."""
    if not trusted:
        raise UsageError("verify needs at least one trusted key; there is no default trust")
    if not all(isinstance(key, VerifierKey) for key in trusted):
        raise UsageError("trusted keys must be VerifierKey objects (see parse_vkey)")
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
        raise UsageError("quorum must be an integer of at least 1")
    table: dict[str, VerifierKey] = {}
    for key in trusted:
        if table.setdefault(key.key_id, key) != key:
            raise UsageError(f"two different trusted keys share the key id {key.key_id}")
    if quorum > len({key.public_key for key in table.values()}):
        raise UsageError(f"quorum {quorum} exceeds the number of distinct trusted keys")
    return table


def verify(
    obj: SignedObject, *, expected_type: str, trusted: Sequence[VerifierKey], quorum: int = 1
) -> dict[str, Any]:
    """The payload of ``obj``, once ``quorum`` distinct trusted keys verified it.

    Raises :class:`UsageError` for an empty trust list or quorum < 1, and
    :class:`IntegrityError` for a wrong type, a bad signature by a trusted key,
    or too few trusted signatures.
    """
    _check_type(expected_type)
    table = _trust_table(trusted, quorum)
    if obj.type != expected_type:
        raise IntegrityError(
            f"signed object has type {obj.type!r}, expected {expected_type!r}", hint=_TRUST_HINT
        )
    message = obj.message()
    signed_by: set[bytes] = set()
    for signature in obj.signatures:
        key = table.get(signature.key_id)
        if key is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature.sig, message)
        except InvalidSignature:
            raise IntegrityError(
                f"signature by {key.key_id} does not verify", hint=_TRUST_HINT
            ) from None
        signed_by.add(key.public_key)
    if not signed_by:
        raise IntegrityError("signed object has no signature by a trusted key", hint=_TRUST_HINT)
    if len(signed_by) < quorum:
        raise IntegrityError(
            f"signed object has {len(signed_by)} of {quorum} required trusted signatures",
            hint=_TRUST_HINT,
        )
    return obj.payload
