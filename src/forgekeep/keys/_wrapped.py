"""The ``local:`` wrapped-key formats (private).

Two things are sealed here:

* **A domain key under its ring's KEK.** AES-256-GCM with associated data that
  binds the label, the ring, the domain and the KEK version, so a sealed domain
  key cannot be moved to another domain, ring or version inside the file.
* **A data key under a domain key** (what callers store). The blob is::

      version (1 byte, = 1) ‖ salt (16 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16)

  The wrapping key is ``HKDF-SHA-256(domain key, salt, info)`` with
  ``info = label ‖ ring ‖ domain ‖ context`` (each length-prefixed), and GCM's
  associated data is ``version ‖ salt``.

Why HKDF with the context in ``info`` rather than GCM straight under the domain
key with the context as associated data: a domain key lives for years and may
wrap millions of data keys; a fresh key per wrap (random salt) removes the
2**32 random-nonce bound of one GCM key; the context lands in a KDF ``info``
as STYLE §3 asks; and it mirrors the PKCS#11 design (a per-context derived
wrapping key), so every backend binds context the same way.

Security rule: any mismatch — context, ring, domain, version, a flipped or
missing byte — is one :class:`UnwrapError`; a blob over
``limits.MAX_WRAPPED_KEY_BYTES`` is refused before it is parsed.
"""

from __future__ import annotations

import secrets
from typing import Final

from forgekeep.errors import IntegrityError, UnwrapError
from forgekeep.keys._checks import check_wrapped_size
from forgekeep.keys._seal import OVERHEAD, aead_unwrap, aead_wrap, hkdf_sha256, length_prefixed
from forgekeep.keys.protocol import DomainKeyRef

WRAP_VERSION: Final = 1
WRAP_SALT_BYTES: Final = 16
_WRAP_HEADER_BYTES: Final = 1 + WRAP_SALT_BYTES
#: Bytes a wrap adds to the data key.
WRAP_OVERHEAD: Final = _WRAP_HEADER_BYTES + OVERHEAD

_DEK_LABEL: Final = b"forgekeep/keys/local/data-key-wrap/v1"
_DOMAIN_LABEL: Final = b"forgekeep/keys/local/domain-key/v1"


def _wrapping_key(domain_key: bytes, ref: DomainKeyRef, salt: bytes, context: bytes) -> bytes:
    info = length_prefixed(_DEK_LABEL, ref.ring.encode(), ref.domain.encode(), context)
    return hkdf_sha256(domain_key, salt=salt, info=info)


def wrap_data_key(domain_key: bytes, ref: DomainKeyRef, data_key: bytes, context: bytes) -> bytes:
    """Wrap a data key under a domain key, binding ref and context (arguments pre-checked)."""
    header = bytes([WRAP_VERSION]) + secrets.token_bytes(WRAP_SALT_BYTES)
    key = _wrapping_key(domain_key, ref, header[1:], context)
    return header + aead_wrap(key, data_key, header)


def unwrap_data_key(domain_key: bytes, ref: DomainKeyRef, wrapped: bytes, context: bytes) -> bytes:
    """Open a blob from :func:`wrap_data_key`; anything but an exact match is UnwrapError."""
    check_wrapped_size(wrapped)
    if len(wrapped) <= WRAP_OVERHEAD:
        raise UnwrapError("the wrapped key is too short")
    if wrapped[0] != WRAP_VERSION:
        raise UnwrapError(f"unknown wrapped-key format version {wrapped[0]}")
    header = wrapped[:_WRAP_HEADER_BYTES]
    key = _wrapping_key(domain_key, ref, header[1:], context)
    return aead_unwrap(key, wrapped[_WRAP_HEADER_BYTES:], header)


def _domain_aad(ref: DomainKeyRef, kek_version: int) -> bytes:
    version = str(kek_version).encode()
    return length_prefixed(_DOMAIN_LABEL, ref.ring.encode(), ref.domain.encode(), version)


def seal_domain_key(kek: bytes, ref: DomainKeyRef, kek_version: int, domain_key: bytes) -> bytes:
    """Seal a domain key under a KEK version of its ring."""
    return aead_wrap(kek, domain_key, _domain_aad(ref, kek_version))


def open_domain_key(kek: bytes, ref: DomainKeyRef, kek_version: int, sealed: bytes) -> bytes:
    """Open a sealed domain key; failure means the (authenticated) keyring is inconsistent."""
    try:
        return aead_unwrap(kek, sealed, _domain_aad(ref, kek_version))
    except UnwrapError:
        raise IntegrityError(
            f"the keyring entry for {ref.ring}/{ref.domain} does not open under "
            f"KEK version {kek_version}",
            hint="restore the keyring file from a backup; run `forgekeep doctor`",
        ) from None
