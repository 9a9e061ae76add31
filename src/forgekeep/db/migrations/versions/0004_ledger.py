"""Ledger: the per-tenant transparency log over the events table.

Adds ``events.log_index``/``events.entry``, stored Merkle hashes, signed
checkpoints and the log key. Events recorded before this revision are not in
the log (their ``log_index`` stays NULL); the log starts at the upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_index", _BIG, nullable=True))
        batch_op.add_column(sa.Column("entry", sa.LargeBinary(), nullable=True))
        batch_op.create_index("ix_events_tenant_log_index", ["tenant_id", "log_index"], unique=True)
    op.create_table(
        "ledger_hashes",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("idx", _BIG, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ledger_hashes_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "idx", name=op.f("pk_ledger_hashes")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("size", _BIG, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_checkpoints_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "size", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "ledger_keys",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("vkey", sa.String(length=512), nullable=False),
        sa.Column("ring_id", sa.String(length=128), nullable=False),
        sa.Column("domain_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_seed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_key_id"],
            ["domain_keys.id"],
            name=op.f("fk_ledger_keys_domain_key_id_domain_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["ring_id"], ["key_rings.id"], name=op.f("fk_ledger_keys_ring_id_key_rings")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ledger_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_ledger_keys")),
    )


def downgrade() -> None:
    op.drop_table("ledger_keys")
    op.drop_table("checkpoints")
    op.drop_table("ledger_hashes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_tenant_log_index")
        batch_op.drop_column("entry")
        batch_op.drop_column("log_index")
