"""Shared state: legal holds, the log's witnesses and upload leases move into the database.

Until this revision they lived in workspace files (``legal-holds.json``,
``witnesses.toml``, ``witnesses-state.json``) and ``fcntl`` locks under
``.run/uploads``, which only processes on one machine share. The legacy files
are imported, once, by ``forgekeep.service.ledger.legacy_state.import_legacy_state``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
    )


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("until", _TS, nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.Column("released_at", _TS, nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("release_approval", sa.String(length=64), nullable=True),
        _tenant_fk("legal_holds"),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_legal_holds_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "principal_id", name=op.f("pk_legal_holds")),
    )
    op.create_table(
        "witnesses",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("vkey", sa.String(length=512), nullable=False),
        sa.Column("cacert_pem", sa.Text(), nullable=False),
        sa.Column("cacert_source", sa.String(length=4096), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("last_size", _BIG, nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        _tenant_fk("witnesses"),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_witnesses")),
    )
    op.create_table(
        "upload_leases",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        _tenant_fk("upload_leases"),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_upload_leases")),
    )


def downgrade() -> None:
    op.drop_table("upload_leases")
    op.drop_table("witnesses")
    op.drop_table("legal_holds")
