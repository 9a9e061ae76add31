"""Issuing signed vetting records (the issuer's side of ``principals vet``).

A vetting record says that a security office has vetted one principal, to a
clearance level, until a date, on the strength of some evidence. It is a signed
object of type ``vetting-record`` (docs/formats/signed-objects.md).

Security rule: a record is only as trustworthy as the key that signed it. This
module signs with whatever key it is given; the workspace accepts a record only
when that key is listed in ``[vetting] trusted_issuers``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from forgekeep.crypto.signed import SignerKey, sign

VETTING_TYPE = "vetting-record"


def issue_vetting_record(
    signer: SignerKey,
    *,
    subject: str,
    clearance: int,
    expires: dt.datetime,
    evidence: str,
    record_id: str | None = None,
) -> bytes:
    """A signed vetting record for ``subject`` (a principal pseudonym), as JSON bytes."""
    payload = {
        "record_id": record_id or f"vr-{secrets.token_hex(8)}",
        "subject": subject,
        "issuer": signer.name,
        "evidence": evidence,
        "clearance": clearance,
        "expires": expires.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    return sign(signer, VETTING_TYPE, payload).to_json()
