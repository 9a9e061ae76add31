"""Principals: organisations, clearance and training attributes, vetting records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_organisations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_organisations_tenant_id")),
    )
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("clearance", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("trainings", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("vetting_expires", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cert_fingerprints", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_principals_org_id_organisations"), "organisations", ["org_id"], ["id"]
        )
    op.create_table(
        "vetting_records",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("issuer_key_id", sa.String(length=255), nullable=False),
        sa.Column("evidence_ref", sa.String(length=255), nullable=False),
        sa.Column("clearance", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_vetting_records_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetting_records")),
    )


def downgrade() -> None:
    op.drop_table("vetting_records")
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_principals_org_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("cert_fingerprints")
        batch_op.drop_column("vetting_expires")
        batch_op.drop_column("trainings")
        batch_op.drop_column("clearance")
        batch_op.drop_column("org_id")
    op.drop_table("organisations")
