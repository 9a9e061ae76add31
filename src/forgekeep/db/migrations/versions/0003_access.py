"""Access: licences, export authorisations, approvals, API tokens, policies, break-glass.

Also adds the tenant's home organisation, project and asset owners, asset
export control and principals' approval signing keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _columns() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_org_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_vkey", sa.String(length=512), nullable=True))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_org_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_projects_owner_org_id_organisations"),
            "organisations",
            ["owner_org_id"],
            ["id"],
        )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_regime", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("export_class", sa.String(length=32), nullable=True))


def _licences() -> None:
    op.create_table(
        "licences",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("licensee_org_id", sa.String(length=64), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("projects", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("territory", sa.String(length=255), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        _fk("licences", "granted_by", "principals"),
        _fk("licences", "licensee_org_id", "organisations"),
        _fk("licences", "revoked_by", "principals"),
        _fk("licences", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licences")),
    )
    op.create_table(
        "export_auths",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("holder_org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("projects", sa.JSON(), nullable=False),
        sa.Column("destinations", sa.String(length=255), nullable=False),
        sa.Column("covers_126_18", sa.Boolean(), nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        _fk("export_auths", "added_by", "principals"),
        _fk("export_auths", "holder_org_id", "organisations"),
        _fk("export_auths", "revoked_by", "principals"),
        _fk("export_auths", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_auths")),
    )


def _approvals() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("consumed_at", _TS, nullable=True),
        _fk("approvals", "requester", "principals"),
        _fk("approvals", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_table(
        "approval_signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("approval_id", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", _TS, nullable=False),
        _fk("approval_signatures", "approval_id", "approvals"),
        _fk("approval_signatures", "approver", "principals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_signatures")),
        sa.UniqueConstraint(
            "approval_id", "approver", name=op.f("uq_approval_signatures_approval_id")
        ),
    )


def _tokens_policies_break_glass() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        _fk("api_tokens", "created_by", "principals"),
        _fk("api_tokens", "principal_id", "principals"),
        _fk("api_tokens", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("approval_id", sa.String(length=64), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=False),
        sa.Column("applied_at", _TS, nullable=False),
        _fk("policy_versions", "applied_by", "principals"),
        _fk("policy_versions", "approval_id", "approvals"),
        _fk("policy_versions", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
    )
    op.create_table(
        "break_glass",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("approval_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        _fk("break_glass", "approval_id", "approvals"),
        _fk("break_glass", "principal_id", "principals"),
        _fk("break_glass", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass")),
    )


def upgrade() -> None:
    _columns()
    _licences()
    _approvals()
    _tokens_policies_break_glass()


def downgrade() -> None:
    for table in (
        "break_glass",
        "policy_versions",
        "api_tokens",
        "approval_signatures",
        "approvals",
        "export_auths",
        "licences",
    ):
        op.drop_table(table)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("export_class")
        batch_op.drop_column("export_regime")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_projects_owner_org_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("owner_org_id")
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.drop_column("signing_vkey")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("home_org_id")
