"""ORM models for access control: licences, export authorisations, approvals,
API tokens, applied policies and break-glass grants (migration 0003).

Security rules the schema keeps:

* API tokens are stored only as SHA-256 of their secret part; the secret is
  shown once when the token is created and can never be read back.
* Approvals keep every approver's signed object verbatim, so an approval can be
  re-verified later without trusting this database.
* Licences and export authorisations are never deleted: revocation stamps
  ``revoked_at``/``revoked_by`` so the history stays auditable.
* Applied policies are kept in order; the newest row is the active policy set,
  and it names the approval that allowed it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from forgekeep.db.models import Base, UTCDateTime


class Licence(Base):
    """An IP licence: a licensee organisation may do some actions on some assets."""

    __tablename__ = "licences"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    licensee_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    assets: Mapped[list[str]] = mapped_column(JSON)
    projects: Mapped[list[str]] = mapped_column(JSON)
    actions: Mapped[list[str]] = mapped_column(JSON)
    territory: Mapped[str] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("principals.id"))


class ExportAuthorisation(Base):
    """An export authorisation (ITAR TAA/DSP-5, EAR licence or exception)."""

    __tablename__ = "export_auths"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    holder_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    assets: Mapped[list[str]] = mapped_column(JSON)
    projects: Mapped[list[str]] = mapped_column(JSON)
    destinations: Mapped[str] = mapped_column(String(255))
    covers_126_18: Mapped[bool] = mapped_column(Boolean)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("principals.id"))


class Approval(Base):
    """A request for other people's approval of one exact payload."""

    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    required: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApprovalSignature(Base):
    """One approver's signed verdict on an approval (the signed object, verbatim)."""

    __tablename__ = "approval_signatures"
    __table_args__ = (UniqueConstraint("approval_id", "approver"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"))
    approver: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(255))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A scoped, expiring, revocable API token; only the secret's SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    label: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PolicyVersion(Base):
    """A customer policy set as applied; the newest row of a tenant is active."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"))
    applied_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BreakGlass(Base):
    """A time-boxed emergency grant of one principal to some assets, after two approvals."""

    __tablename__ = "break_glass"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    assets: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(255))
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
