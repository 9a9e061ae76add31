"""ORM models of the tenant's transparency log (migration 0004).

Security rules the schema keeps:

* ``events.entry`` holds the exact canonical bytes (RFC 8785 JSON) that the
  log hashes as its leaf; ``events.log_index`` is the leaf's position. Both
  are written in the same transaction as the operation they record.
* ``ledger_hashes`` is the append-only array of stored Merkle hashes (leaf
  hashes and completed subtrees) from which every root and proof is computed.
* ``checkpoints`` keeps every signed checkpoint note; ``ledger_keys`` keeps the
  log's public key and its private seed only wrapped by the key manager.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, QueryableAttribute, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from forgekeep.db.models import Base, UTCDateTime

_BIG = BigInteger().with_variant(Integer, "sqlite")


class LedgerHash(Base):
    __tablename__ = "ledger_hashes"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    size: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LedgerKey(Base):
    __tablename__ = "ledger_keys"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255))
    vkey: Mapped[str] = mapped_column(String(512))
    ring_id: Mapped[str] = mapped_column(ForeignKey("key_rings.id"))
    domain_key_id: Mapped[str] = mapped_column(ForeignKey("domain_keys.id"))
    wrapped_seed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BytesContain(ColumnElement[bool]):
    """``haystack`` holds the bytes ``needle`` (SQLite ``instr``, PostgreSQL ``position``).

    ``LIKE`` does not search a BLOB byte for byte on every backend; these do, with
    no wildcard characters to escape.
    """

    inherit_cache = True
    type = Boolean()

    def __init__(self, haystack: QueryableAttribute[bytes | None], needle: bytes) -> None:
        self.haystack = haystack.expression
        self.needle = literal(needle, LargeBinary())


@compiles(BytesContain)
def _instr(element: BytesContain, compiler: SQLCompiler, **kw: Any) -> str:
    haystack = compiler.process(element.haystack, **kw)
    return f"(instr({haystack}, {compiler.process(element.needle, **kw)}) > 0)"


@compiles(BytesContain, "postgresql")
def _position(element: BytesContain, compiler: SQLCompiler, **kw: Any) -> str:
    haystack = compiler.process(element.haystack, **kw)
    return f"(position({compiler.process(element.needle, **kw)} in {haystack}) > 0)"
