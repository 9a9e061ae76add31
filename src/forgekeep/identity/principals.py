"""Principals are pseudonymous; their personal attributes are sealed per subject.

Security rules:

* A principal is named everywhere (records, events, logs) by a random
  pseudonym ``p-<24 hex>``; nothing about the person can be derived from it.
* Personal attributes (display name, e-mail, later citizenships and location)
  are sealed with AES-256-GCM under a random attribute key. That key is wrapped
  by the subject's own domain key, held by the key manager in the tenant's
  ``subjects`` ring. Destroying the subject key erases the person: the sealed
  attributes then open to nothing, while every record and event stays intact.
* The seal binds tenant and pseudonym, so sealed attributes moved to another
  principal's row do not open.
* Details *derived* from those attributes (a refusal's reason codes, a what-if
  verdict about the person) are sealed with the same attribute key under their
  own label, bound to tenant, pseudonym and request id
  (:func:`seal_subject_detail`): a sealed detail moved to another entry does not
  open, and erasing the person makes it unreadable with the attributes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from forgekeep.crypto.context import SubjectAttributesContext, subject_attributes_context
from forgekeep.crypto.wrap import open_record, seal_record
from forgekeep.keys.protocol import DomainKeyRef, KeyManager

PSEUDONYM_PREFIX = "p-"
ATTRIBUTE_KEY_SIZE = 32
_DETAIL_LABEL = b"forgekeep/subject-detail/v1\x00"


def new_pseudonym() -> str:
    """A fresh random pseudonym for a principal."""
    return PSEUDONYM_PREFIX + secrets.token_hex(12)


def subject_ring_id(tenant_id: str, jurisdiction: str) -> str:
    """The key ring that holds the tenant's per-subject keys."""
    return f"{tenant_id}.{jurisdiction.lower()}.subjects"


def _seal_context(tenant_id: str, pseudonym: str) -> SubjectAttributesContext:
    return subject_attributes_context(tenant=tenant_id, pseudonym=pseudonym)


def seal_attributes(
    km: KeyManager, ring: str, tenant_id: str, pseudonym: str, attributes: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """Create the subject key and seal ``attributes``; returns (wrapped key, sealed)."""
    ref = DomainKeyRef(ring=ring, domain=pseudonym)
    km.create_domain_key(ref)
    context = _seal_context(tenant_id, pseudonym)
    attribute_key = secrets.token_bytes(ATTRIBUTE_KEY_SIZE)
    wrapped = km.wrap(ref, attribute_key, context)
    plaintext = json.dumps(dict(attributes), sort_keys=True, separators=(",", ":")).encode()
    return wrapped, seal_record(attribute_key, plaintext, context.encoded)


def open_attributes(
    km: KeyManager, ring: str, tenant_id: str, pseudonym: str, wrapped: bytes, sealed: bytes
) -> dict[str, str]:
    """Open sealed attributes; fails once the subject key is destroyed."""
    ref = DomainKeyRef(ring=ring, domain=pseudonym)
    context = _seal_context(tenant_id, pseudonym)
    attribute_key = km.unwrap(ref, wrapped, context)
    loaded = json.loads(open_record(attribute_key, sealed, context.encoded))
    return {str(k): str(v) for k, v in loaded.items()}


def _detail_context(tenant_id: str, pseudonym: str, request_id: str) -> bytes:
    return b"\x00".join(
        (_DETAIL_LABEL + tenant_id.encode(), pseudonym.encode(), request_id.encode())
    )


def _attribute_key(
    km: KeyManager, ring: str, tenant_id: str, pseudonym: str, wrapped: bytes
) -> bytes:
    ref = DomainKeyRef(ring=ring, domain=pseudonym)
    return km.unwrap(ref, wrapped, _seal_context(tenant_id, pseudonym))


def seal_subject_detail(
    km: KeyManager,
    ring: str,
    tenant_id: str,
    pseudonym: str,
    wrapped: bytes,
    request_id: str,
    fields: Mapping[str, str],
) -> bytes:
    """Seal ``fields`` about the subject, for one request, under the subject's attribute key."""
    key = _attribute_key(km, ring, tenant_id, pseudonym, wrapped)
    plaintext = json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode()
    return seal_record(key, plaintext, _detail_context(tenant_id, pseudonym, request_id))


def open_subject_detail(
    km: KeyManager,
    ring: str,
    tenant_id: str,
    pseudonym: str,
    wrapped: bytes,
    request_id: str,
    sealed: bytes,
) -> dict[str, str]:
    """Open a detail sealed by :func:`seal_subject_detail`; fails once the subject is erased."""
    key = _attribute_key(km, ring, tenant_id, pseudonym, wrapped)
    loaded = json.loads(open_record(key, sealed, _detail_context(tenant_id, pseudonym, request_id)))
    return {str(k): str(v) for k, v in loaded.items()}
