"""Signed verdicts on approvals: their payload, their signing and their verification.

A verdict is a signed object of type ``approval`` (docs/formats/signed-objects.md)
whose payload is :func:`verdict_payload`: the :func:`binding` of one approval plus
``verdict``, ``approver`` and ``signed_at``. :mod:`forgekeep.service.access.approvals`
records, counts and consumes verdicts; this module only builds and checks them.

Security rules:

* The approver is named inside the signed object and proven by its signature
  under that principal's registered ``signing_vkey``, whoever submits it (the
  submitter needs ``approval.decide``; the signature is what counts). No
  registered key, a key registered to nobody, a forged or wrongly typed object,
  or one whose approval id, tenant, kind, target or payload hash differ from
  the stored approval is refused.
* An approver must be active when a verdict is verified, and a stored verdict
  is re-verified (:func:`valid_approvers`) against the approver's *current* key
  and status before an approval is used; one that no longer verifies, or a
  rejection, makes the approval unusable.
* :func:`check_verdict` refuses a verdict by the requester, a second verdict
  by the same approver, one that says other than what is submitted, and one
  whose ``signed_at`` lies outside the approval's life (± :data:`CLOCK_SKEW`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.signed import (
    SignedObject,
    SignerKey,
    VerifierKey,
    encode_vkey,
    parse_vkey,
    sign,
    verify,
)
from forgekeep.db.access import Approval, ApprovalSignature
from forgekeep.db.models import Principal
from forgekeep.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    ConflictError,
    ForgekeepError,
    FormatError,
    IntegrityError,
    UsageError,
)
from forgekeep.service.context import RequestFacts, ServiceContext


class Bound(Protocol):
    """What a verdict is bound to: an approval row, or its public description."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def payload_sha256(self) -> str: ...


APPROVAL_TYPE: Final = "approval"
APPROVE: Final = "approve"
REJECT: Final = "reject"
VERDICTS: Final = (APPROVE, REJECT)
VERDICT_FIELDS: Final = frozenset(
    {"approval_id", "tenant", "kind", "target", "payload_sha256", "verdict", "approver"}
    | {"signed_at"}
)
#: How far a verdict's ``signed_at`` may lie outside [created_at, now] (clock skew).
CLOCK_SKEW: Final = dt.timedelta(minutes=5)
SHOW_HINT: Final = "run `forgekeep approvals show ID`"
_SIGN_HINT: Final = "sign the payload shown by `forgekeep approvals show ID` with your own key"


@dataclass(frozen=True, slots=True)
class VerdictInfo:
    approver: str
    verdict: str
    key_id: str
    signed_at: dt.datetime


def format_time(value: dt.datetime) -> str:
    """An aware time as ISO 8601 UTC with a ``Z``."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError("signed verdict signed_at is not an ISO 8601 time") from None
    if parsed.tzinfo is None or parsed.utcoffset() != dt.timedelta(0):
        raise FormatError("signed verdict signed_at must be in UTC (…Z)")
    return parsed.astimezone(dt.UTC)


def _approver_key(session: Session, ctx: ServiceContext, approver: object) -> VerifierKey:
    row = session.get(Principal, approver) if isinstance(approver, str) else None
    if row is None or row.tenant_id != ctx.tenant_id:
        raise AccessDeniedError("the signed verdict names no principal of this tenant")
    if row.status != "active":
        raise AccessDeniedError(f"approver {row.id} is {row.status}, not active")
    if row.signing_vkey is None:
        raise AccessDeniedError(
            f"approver {row.id} has no approval signing key registered",
            hint=f"an admin registers it with `forgekeep principals set-key {row.id} VKEY`",
        )
    return parse_vkey(row.signing_vkey)


def verify_verdict(
    session: Session, ctx: ServiceContext, row: Approval, document: bytes
) -> VerdictInfo:
    """The verdict in ``document``, verified under its approver's current key and bound to
    ``row``; raises (Format/Integrity/AccessDenied) otherwise."""
    obj = SignedObject.from_json(document)
    if obj.type != APPROVAL_TYPE:
        raise IntegrityError(f"signed object has type {obj.type!r}, expected 'approval'")
    key = _approver_key(session, ctx, obj.payload.get("approver"))
    payload = verify(obj, expected_type=APPROVAL_TYPE, trusted=[key], quorum=1)
    if set(payload) != VERDICT_FIELDS or not all(isinstance(v, str) for v in payload.values()):
        raise FormatError(
            f"a signed verdict has exactly the string fields {sorted(VERDICT_FIELDS)}"
        )
    for name, expected in binding(row, ctx.tenant_id).items():
        if payload[name] != expected:
            raise IntegrityError(
                f"the signed verdict is for {name} {payload[name]!r}, not {expected!r}",
                hint=_SIGN_HINT,
            )
    if payload["verdict"] not in VERDICTS:
        raise FormatError("a signed verdict is 'approve' or 'reject'")
    signed_at = _parse_time(payload["signed_at"])
    return VerdictInfo(payload["approver"], payload["verdict"], key.key_id, signed_at)


def _check_approver_may_decide(
    session: Session, ctx: ServiceContext, approver: str, now: dt.datetime
) -> None:
    """The signer, not only the submitter, must be allowed ``approval.decide`` by policy:
    an approver or admin, active and currently vetted."""
    actor = ctx.access.load_actor(session, ctx.key_manager, ctx.tenant_id, approver)
    facts = RequestFacts(now, "unspecified", "signature")
    decision = ctx.access.decide_tenant(actor, ctx.tenant_id, "approval.decide", facts)
    if not decision.allowed:
        raise AccessDeniedError(
            f"approver {approver} may not decide approvals ({decision.reason})",
            hint="approvers need the approver or admin role and a current vetting record",
            reasons=decision.reasons,
            policies=decision.policies,
        )


def check_verdict(
    session: Session,
    ctx: ServiceContext,
    row: Approval,
    document: bytes,
    expected: str,
    now: dt.datetime,
) -> VerdictInfo:
    """The verdict in ``document`` if it may be recorded on ``row`` at ``now``: verified, saying
    ``expected``, signed within the approval's life, not by the requester and the approver's
    first on it; raises (Usage/Integrity/AccessDenied/Conflict) otherwise."""
    verdict = verify_verdict(session, ctx, row, document)
    if verdict.verdict != expected:
        raise UsageError(
            f"the signed object says {verdict.verdict!r}, not {expected!r}",
            hint=f"submit it with `forgekeep approvals {verdict.verdict} ID --signed FILE`",
        )
    if not row.created_at - CLOCK_SKEW <= verdict.signed_at <= now + CLOCK_SKEW:
        raise IntegrityError("the signed verdict's signed_at lies outside the approval's life")
    if verdict.approver == row.requester:
        raise AccessDeniedError(
            "the requester cannot approve or reject their own request",
            hint="ask another approver: someone other than the requester must sign",
        )
    _check_approver_may_decide(session, ctx, verdict.approver, now)
    taken = session.scalar(
        select(ApprovalSignature.id).where(
            ApprovalSignature.approval_id == row.id,
            ApprovalSignature.approver == verdict.approver,
        )
    )
    if taken is not None:
        raise ConflictError(
            f"{verdict.approver} already gave a verdict on approval {row.id}", hint=SHOW_HINT
        )
    return verdict


def signatures(session: Session, approval_id: str) -> list[ApprovalSignature]:
    return list(
        session.scalars(
            select(ApprovalSignature)
            .where(ApprovalSignature.approval_id == approval_id)
            .order_by(ApprovalSignature.id)
        ).all()
    )


def binding(row: Bound, tenant: str) -> dict[str, str]:
    """The fields that bind a signed verdict to one approval."""
    return {
        "approval_id": row.id,
        "tenant": tenant,
        "kind": row.kind,
        "target": row.target,
        "payload_sha256": row.payload_sha256,
    }


def verdict_payload(
    row: Bound, tenant: str, verdict: str, approver: str, signed_at: dt.datetime
) -> dict[str, str]:
    """The payload an approver signs as type ``approval`` (docs/formats/signed-objects.md)."""
    if verdict not in VERDICTS:
        raise UsageError("a verdict is 'approve' or 'reject'")
    return {
        **binding(row, tenant),
        "verdict": verdict,
        "approver": approver,
        "signed_at": format_time(signed_at),
    }


@dataclass(frozen=True, slots=True)
class Signing:
    """Where a verdict comes from: a signer key (signed here) or a pre-signed document."""

    verdict: str
    signer: SignerKey | None = None
    signed: bytes | None = None

    def document(self, session: Session, ctx: ServiceContext, row: Approval) -> bytes:
        if self.signed is not None:
            return self.signed
        if not isinstance(self.signer, SignerKey):
            raise UsageError("approve and reject take a SignerKey (see `forgekeep keygen`)")
        vkey = encode_vkey(self.signer.verifier)
        approver = session.scalar(
            select(Principal.id).where(
                Principal.tenant_id == ctx.tenant_id, Principal.signing_vkey == vkey
            )
        )
        if approver is None:
            raise AccessDeniedError(
                f"key {self.signer.key_id} is not registered to any principal",
                hint="an admin registers it with `forgekeep principals set-key P VKEY`",
            )
        payload = verdict_payload(row, ctx.tenant_id, self.verdict, approver, ctx.clock.now())
        return sign(self.signer, APPROVAL_TYPE, payload).to_json()


def as_bytes(document: bytes) -> bytes:
    if not isinstance(document, bytes | bytearray):
        raise UsageError("a signed verdict is read from bytes")
    return bytes(document)


def refuse(approval_id: str, why: str) -> ApprovalRequiredError:
    return ApprovalRequiredError(
        f"approval {approval_id} cannot be used: {why}",
        hint="request a new approval and ask approvers to run `forgekeep approvals approve ID`",
    )


def valid_approvers(session: Session, ctx: ServiceContext, row: Approval) -> set[str]:
    """Approvers whose stored signatures still verify under their current key and status."""
    approvers: set[str] = set()
    for stored in signatures(session, row.id):
        try:
            signed = verify_verdict(session, ctx, row, stored.document)
        except ForgekeepError as exc:
            raise refuse(row.id, f"a stored verdict no longer verifies ({exc.message})") from exc
        if signed.verdict != APPROVE or stored.verdict != APPROVE:
            raise refuse(row.id, "it holds a rejection")
        if signed.approver != stored.approver:
            raise refuse(row.id, "a stored verdict does not match its signed object")
        if signed.approver != row.requester:
            approvers.add(signed.approver)
    return approvers
