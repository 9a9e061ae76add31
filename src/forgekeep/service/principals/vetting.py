"""Vetting: signed vetting records that set a principal's clearance and its expiry.

Security rules:

* Vetting records are accepted only when signed by an issuer listed in
  ``[vetting] trusted_issuers``; there is no default trust. A forged, untrusted,
  wrongly typed, expired, duplicate or unknown-subject record is refused, and the
  refusal is journaled by :func:`request`.
* A record has exactly the fields :data:`VETTING_FIELDS`; a clearance outside
  0-:data:`MAX_CLEARANCE`, a non-UTC expiry or text with control characters is
  refused rather than repaired.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forgekeep.crypto.signed import SignedObject, VerifierKey, parse_vkey, verify
from forgekeep.db.models import VettingRecord
from forgekeep.db.repos.catalog import find_principal
from forgekeep.errors import ConfigError, ConflictError, FormatError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request
from forgekeep.service.principals.checks import REFUSED_CATEGORIES

VETTING_TYPE = "vetting-record"
VETTING_FIELDS = frozenset({"record_id", "subject", "issuer", "evidence", "clearance", "expires"})
MAX_CLEARANCE = 9
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_VETTING_HINT = "ask the issuer for a fresh record signed by a key in [vetting] trusted_issuers"


@dataclass(frozen=True, slots=True)
class VettingInfo:
    record_id: str
    subject: str
    issuer_key_id: str
    clearance: int
    expires: dt.datetime


def _trusted_issuers(ctx: ServiceContext) -> list[VerifierKey]:
    configured = ctx.settings.vetting.trusted_issuers
    if not configured:
        raise ConfigError(
            "no vetting issuer is trusted in this workspace",
            hint='add [vetting] trusted_issuers = ["<vkey>"] to forgekeep.toml',
        )
    try:
        return [parse_vkey(text) for text in configured]
    except FormatError as exc:
        raise ConfigError(f"[vetting] trusted_issuers holds a malformed key: {exc}") from exc


def _text_field(payload: Mapping[str, Any], name: str, limit: int = 255) -> str:
    value = payload[name]
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise FormatError(f"vetting record {name} is not a string of 1-{limit} characters")
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in value):
        raise FormatError(f"vetting record {name} contains control characters")
    return value


def _parse_expiry(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise FormatError("vetting record expires is not an ISO 8601 string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError("vetting record expires is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() != dt.timedelta(0):
        raise FormatError("vetting record expires must be in UTC (e.g. 2027-01-01T00:00:00Z)")
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class _Vetting:
    record_id: str
    subject: str
    evidence: str
    clearance: int
    expires: dt.datetime


def _parse_vetting(payload: Mapping[str, Any]) -> _Vetting:
    if set(payload) != VETTING_FIELDS:
        raise FormatError(
            f"a vetting record has exactly the fields {', '.join(sorted(VETTING_FIELDS))}"
        )
    record_id = payload["record_id"]
    if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
        raise FormatError("vetting record_id is 1-64 letters, digits, '.', '_', ':' or '-'")
    _text_field(payload, "issuer")
    clearance = payload["clearance"]
    if isinstance(clearance, bool) or not isinstance(clearance, int):
        raise FormatError("vetting record clearance is not an integer")
    if not 0 <= clearance <= MAX_CLEARANCE:
        raise FormatError(f"vetting record clearance must be 0-{MAX_CLEARANCE}")
    return _Vetting(
        record_id=record_id,
        subject=_text_field(payload, "subject", 64),
        evidence=_text_field(payload, "evidence"),
        clearance=clearance,
        expires=_parse_expiry(payload["expires"]),
    )


def import_vetting(ctx: ServiceContext, document: bytes) -> VettingInfo:
    """Import a signed vetting record and set its subject's clearance and expiry."""
    with request(ctx, Action.PRINCIPAL_VET, "vetting") as req, ctx.sessions() as session:
        trusted = _trusted_issuers(ctx)
        obj = SignedObject.from_json(document)
        payload = verify(obj, expected_type=VETTING_TYPE, trusted=trusted, quorum=1)
        record = _parse_vetting(payload)
        trusted_ids = {key.key_id for key in trusted}
        issuer_key_id = next(s.key_id for s in obj.signatures if s.key_id in trusted_ids)
        now = ctx.clock.now()
        if record.expires <= now:
            raise UsageError(
                f"vetting record {record.record_id} expired at {record.expires.isoformat()}",
                hint=_VETTING_HINT,
            )
        row = find_principal(session, ctx.tenant_id, record.subject)
        if session.get(VettingRecord, record.record_id) is not None:
            raise ConflictError(f"vetting record {record.record_id} was already imported")
        session.add(
            VettingRecord(
                id=record.record_id,
                principal_id=row.id,
                issuer_key_id=issuer_key_id,
                evidence_ref=record.evidence,
                clearance=record.clearance,
                expires_at=record.expires,
                document=bytes(document),
                imported_at=now,
            )
        )
        row.clearance = record.clearance
        row.vetting_expires = record.expires
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                record=record.record_id,
                subject=row.id,
                issuer=issuer_key_id,
                clearance=record.clearance,
                expires=record.expires.isoformat(),
            ),
        )
        return VettingInfo(
            record.record_id, row.id, issuer_key_id, record.clearance, record.expires
        )
