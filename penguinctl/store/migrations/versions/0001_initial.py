"""The generic tables: runs, resources, changes, secrets, tenants, workspace_lock, meta.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

# Migrations spell their types out instead of importing the models: a migration
# must keep creating the schema *of its time* after the models have moved on.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("command", sa.String(200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("workspace", sa.String(500), nullable=False),
        sa.Column("profile", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", JSON, nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("instance", sa.String(100), nullable=False),
        sa.Column("vendor_id", sa.String(500), nullable=False),
        sa.Column("attrs", JSON, nullable=False),
        sa.Column("outputs", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL")),
    )
    op.create_index("ix_resources_tenant", "resources", ["tenant"])
    op.create_index("ix_resources_kind", "resources", ["kind"])
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
    )
    for column in ("run_id", "tenant", "key", "status"):
        op.create_index(f"ix_changes_{column}", "changes", [column])
    op.create_table(
        "secrets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(500), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant", "owner", "name", name="uq_secrets_owner"),
    )
    for column in ("tenant", "owner", "key_id"):
        op.create_index(f"ix_secrets_{column}", "secrets", [column])
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("display_name", sa.String(500), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "workspace_lock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("command", sa.String(200), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_workspace_lock_single"),
    )


def downgrade() -> None:
    for table in ("workspace_lock", "tenants", "secrets", "changes", "resources", "runs", "meta"):
        op.drop_table(table)
