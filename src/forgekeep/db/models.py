"""ORM models of the metadata database (SQLAlchemy 2.0, typed declarative).

Security rules the schema keeps:

* The database is operator territory: it holds ciphertext hashes, wrapped keys
  and metadata, never a plaintext data key, a key-encryption key, or a bare
  SHA-256 of plaintext (only the keyed ``plaintext_hmac``).
* People are pseudonymous from the first migration: every record and event names
  a principal by a random pseudonym; personal attributes live only in
  ``principals.attrs_sealed``, encrypted under a per-subject key held by the key
  manager. Destroying that key erases the person.
* All three key levels are present: ``key_rings`` (KEK, held by the key
  manager), ``domain_keys`` (held by the key manager, wrapped by the KEK) and
  ``data_keys`` (a DEK per asset version, wrapped by its domain key, stored here).

The schema is created only through Alembic migrations (``db/migrations``); a
test checks the models and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:  # noqa: ARG002 (fixed SQLAlchemy hook signature)
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use forgekeep.clock")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The tenant's own organisation (owns projects by default); set at init.
    home_org_id: Mapped[str | None] = mapped_column(String(64))


class Organisation(Base):
    """An organisation principals belong to (a company, not a person: no sealed data)."""

    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(255))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Principal(Base):
    """A person, machine or organisation, named only by its pseudonym ``id``."""

    __tablename__ = "principals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    subject_ring: Mapped[str] = mapped_column(String(128))
    attrs_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    attrs_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    clearance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    trainings: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    vetting_expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cert_fingerprints: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    signing_vkey: Mapped[str | None] = mapped_column(String(512))  # for approvals (keygen)


class VettingRecord(Base):
    """A signed vetting record imported for a principal (the signed JSON is kept)."""

    __tablename__ = "vetting_records"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    issuer_key_id: Mapped[str] = mapped_column(String(255))
    evidence_ref: Mapped[str] = mapped_column(String(255))
    clearance: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    document: Mapped[bytes] = mapped_column(LargeBinary)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class KeyRing(Base):
    __tablename__ = "key_rings"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(32))
    key_manager_uri: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DomainKey(Base):
    __tablename__ = "domain_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ring_id: Mapped[str] = mapped_column(ForeignKey("key_rings.id"))
    scope: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Site(Base):
    __tablename__ = "sites"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    operator: Mapped[str] = mapped_column(String(255))
    store_uri: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(255))
    residency: Mapped[str] = mapped_column(String(255))
    replicas: Mapped[int] = mapped_column(Integer)
    key_ring_id: Mapped[str] = mapped_column(ForeignKey("key_rings.id"))
    domain_key_id: Mapped[str] = mapped_column(ForeignKey("domain_keys.id"))
    shred_domain: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    owner_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(1024))
    domain_key_id: Mapped[str] = mapped_column(ForeignKey("domain_keys.id"))
    created_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deleted_by: Mapped[str | None] = mapped_column(ForeignKey("principals.id"))
    # Export control: regime "ITAR" (USML category), "EAR" (ECCN) or "EAR99"; None = not controlled.
    export_regime: Mapped[str | None] = mapped_column(String(8))
    export_class: Mapped[str | None] = mapped_column(String(32))


class Upload(Base):
    """An upload in progress: fsck never treats its blob as an orphan while it runs."""

    __tablename__ = "uploads"
    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    asset_id: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(512))
    site_name: Mapped[str] = mapped_column(ForeignKey("sites.name"))
    state: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AssetVersion(Base):
    __tablename__ = "asset_versions"
    __table_args__ = (UniqueConstraint("asset_id", "number"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    number: Mapped[int] = mapped_column(Integer)
    classification: Mapped[str] = mapped_column(String(16))
    tags: Mapped[dict[str, str]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(BigInteger)
    suite: Mapped[int] = mapped_column(Integer)
    ciphertext_size: Mapped[int] = mapped_column(BigInteger)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    plaintext_hmac: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DataKey(Base):
    __tablename__ = "data_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("asset_versions.id"), unique=True)
    domain_key_id: Mapped[str] = mapped_column(ForeignKey("domain_keys.id"))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Replica(Base):
    __tablename__ = "replicas"
    __table_args__ = (UniqueConstraint("version_id", "site_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("asset_versions.id"))
    site_name: Mapped[str] = mapped_column(ForeignKey("sites.name"))
    blob_key: Mapped[str] = mapped_column(String(512))
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Event(Base):
    """One journal entry. The Ledger issue turns this table into a Merkle log."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_seq", "tenant_id", "seq"),
        Index("ix_events_tenant_log_index", "tenant_id", "log_index", unique=True),
    )
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)
    # The transparency log (migration 0004): position and the exact hashed bytes.
    log_index: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    entry: Mapped[bytes | None] = mapped_column(LargeBinary)
