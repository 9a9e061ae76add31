"""Reasons that would reveal sealed personal attributes are sealed in the log entry.

A refusal's reason codes are written into the tamper-evident log, which anyone
with the disk can read. Beside plaintext clearance and vetting expiry, a code
such as ``citizenship-outside-export-authorisation`` tells a disk thief that a
person holds a second nationality, and ``export-authorisation-missing`` that
they are not a US person: exactly what the subject key seals.

Security rules:

* A reason code stays open in an entry only when it is in :data:`OPEN_REASONS`:
  it derives from nothing personal (authentication, token scope, status, roles,
  the absence of any permit, a break-glass grant's own terms). Every other code,
  the baseline's guards on citizenship, US-person status, location (operator
  jurisdiction, licence territory), clearance and vetting expiry, and any code a
  tenant's own policy declares, is sealed: unknown codes fail closed.
* When a person's refusal has a sealed code, its open detail keeps
  ``reasons = attribute-condition-failed`` and ``policy = (sealed)``; the true
  codes and policy ids are sealed under the person's subject key
  (:func:`forgekeep.identity.seal_subject_detail`, bound to tenant, pseudonym
  and request id) into ``sealed`` (base64), and ``sealed_for`` names the
  pseudonym. A machine has no personal attributes: its codes stay open.
* If the detail cannot be sealed (no subject key: an erased or unknown person;
  a key error), it is dropped, never written in the open.
* Opening is for authorised explainers only (``access explain``: the subject
  itself, or the ``access.explain-sealed`` action); erasure destroys the subject
  key, and with it every sealed detail about the person.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Final

from sqlalchemy.orm import Session

from forgekeep.db.models import Principal
from forgekeep.errors import AccessDeniedError, ForgekeepError
from forgekeep.identity import open_subject_detail, seal_subject_detail
from forgekeep.keys.protocol import KeyManager
from forgekeep.ledger.journal import Scalar

GENERIC_REASON: Final = "attribute-condition-failed"
SEALED_POLICY: Final = "(sealed)"
#: The Cedar action that lets an explainer open another person's sealed details.
EXPLAIN_SEALED: Final = "access.explain-sealed"
#: Codes that derive from nothing personal; everything else is sealed.
OPEN_REASONS: Final = frozenset(
    {
        "principal-unknown",
        "token-scope",
        "principal-not-active",
        "principal-attributes-incomplete",
        "default-deny",
        "invalid-entities",
        "evaluation-error",
        "break-glass-does-not-apply",
        "what-if-needs-admin-or-auditor",
    }
)


def _subject(session: Session, tenant_id: str, pseudonym: str) -> Principal | None:
    row = session.get(Principal, pseudonym)
    if row is None or row.tenant_id != tenant_id or row.kind != "person":
        return None
    return row


def seal_fields(
    session: Session,
    km: KeyManager,
    tenant_id: str,
    subject_id: str,
    request_id: str,
    fields: Mapping[str, str],
) -> dict[str, Scalar]:
    """Detail fields derived from ``subject_id``'s attributes, as an entry may carry them.

    A person's fields are sealed under their key; a machine's stay open; a person
    whose key is gone gets nothing (``sealed_for`` only).
    """
    row = _subject(session, tenant_id, subject_id)
    if row is None:
        machine = session.get(Principal, subject_id)
        return dict(fields) if machine is not None and machine.kind == "machine" else {}
    if row.attrs_wrapped_key is None:
        return {"sealed_for": subject_id}  # erased: nothing personal is written in the open
    try:
        sealed = seal_subject_detail(
            km, row.subject_ring, tenant_id, row.id, row.attrs_wrapped_key, request_id, fields
        )
    except ForgekeepError:
        return {"sealed_for": subject_id}  # nothing personal is written in the open
    return {"sealed_for": subject_id, "sealed": base64.b64encode(sealed).decode("ascii")}


def refusal_detail(
    session: Session, km: KeyManager, tenant_id: str, actor_id: str, request_id: str,
    exc: ForgekeepError,
) -> dict[str, Scalar]:  # fmt: skip
    """The journaled detail of a refusal: its code, and its reasons open or sealed."""
    detail: dict[str, Scalar] = {"code": exc.code}
    if not isinstance(exc, AccessDeniedError) or not exc.reasons:
        return detail
    reasons, policies = ",".join(exc.reasons), ",".join(exc.policies)
    if OPEN_REASONS.issuperset(exc.reasons):
        return {**detail, "reasons": reasons, "policy": policies}
    true = {"reasons": reasons, "policy": policies}
    sealed = seal_fields(session, km, tenant_id, actor_id, request_id, true)
    if sealed and "sealed_for" not in sealed:
        return {**detail, **sealed}  # a machine: nothing personal to hide
    return {**detail, "reasons": GENERIC_REASON, "policy": SEALED_POLICY, **sealed}


def open_fields(
    session: Session, km: KeyManager, tenant_id: str, detail: Mapping[str, object],
    request_id: str,
) -> dict[str, str] | None:  # fmt: skip
    """The sealed fields of ``detail``, or None when they cannot be opened (erased subject)."""
    subject_id, sealed = detail.get("sealed_for"), detail.get("sealed")
    if not isinstance(subject_id, str) or not isinstance(sealed, str):
        return None
    row = _subject(session, tenant_id, subject_id)
    if row is None or row.attrs_wrapped_key is None:
        return None
    try:
        blob = base64.b64decode(sealed, validate=True)
        return open_subject_detail(
            km, row.subject_ring, tenant_id, row.id, row.attrs_wrapped_key, request_id, blob
        )
    except (ForgekeepError, binascii.Error, ValueError):
        return None
