"""inbound: the messages ``inbox sync`` has read and classified.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

# Types spelled out (see 0001): a migration never imports the models.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "message_key", name="uq_inbound_messages_key"),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        for column in ("campaign_id", "kind", "mailbox", "tenant"):
            batch_op.create_index(
                batch_op.f(f"ix_inbound_messages_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        for column in ("tenant", "mailbox", "kind", "campaign_id"):
            batch_op.drop_index(batch_op.f(f"ix_inbound_messages_{column}"))
    op.drop_table("inbound_messages")
