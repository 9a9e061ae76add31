"""ORM models of the state several processes share (migration 0005).

Legal holds, the log's witnesses and upload leases used to live in workspace
files guarded by ``fcntl`` locks, which only work for processes on one
machine. They live here so that several processes, and several servers on one
PostgreSQL, see one truth.

Security rules the schema keeps:

* ``legal_holds`` has one row per held principal. A hold is never deleted:
  lifting it sets ``released_at``, ``released_by`` and the approval that
  allowed it, so the row keeps its history beside the ledger events.
* ``witnesses`` keeps each witness's CA bundle as PEM text, so the bundle that
  verifies a witness's TLS certificate cannot be swapped on one machine's disk.
  ``failures`` is a JSON list bounded by ``MAX_FAILURES_KEPT`` in the service.
* ``upload_leases`` has one row per upload in flight, naming its owner (a
  random id per upload, plus host and pid for diagnosis) and when it expires.
  Only the owner renews or releases it; anyone else takes it over only after
  ``expires_at``, by an UPDATE that names the expired owner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forgekeep.db.models import Base, UTCDateTime

_BIG = BigInteger().with_variant(Integer, "sqlite")


class LegalHold(Base):
    __tablename__ = "legal_holds"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(255))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_approval: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Witness(Base):
    __tablename__ = "witnesses"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    vkey: Mapped[str] = mapped_column(String(512))
    cacert_pem: Mapped[str] = mapped_column(Text)
    #: Where the CA bundle was read from when the witness was added (for people).
    cacert_source: Mapped[str] = mapped_column(String(4096))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_size: Mapped[int] = mapped_column(_BIG, default=0)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class UploadLease(Base):
    __tablename__ = "upload_leases"
    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    owner: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
