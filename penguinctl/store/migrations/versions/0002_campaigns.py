"""campaigns: contacts, lists, suppressions, campaigns, the send ledger, events.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

# Types spelled out (see 0001): a migration never imports the models.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaign_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_events_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_events_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_campaign_events_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_events_tenant"), ["tenant"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "name", name="uq_campaigns_name"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_tenant"), ["tenant"], unique=False)

    op.create_table(
        "contact_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "name", name="uq_contact_lists_name"),
    )
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_lists_tenant"), ["tenant"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("legal_basis", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "email", name="uq_contacts_email"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_tenant"), ["tenant"], unique=False)

    op.create_table(
        "mailbox_pauses",
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    with op.batch_alter_table("mailbox_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_pauses_tenant"), ["tenant"], unique=False)

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "email", name="uq_suppressions_email"),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppressions_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_suppressions_tenant"), ["tenant"], unique=False)

    op.create_table(
        "campaign_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=50), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("runner", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "contact_id", "step", name="uq_campaign_sends_once"),
    )
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_sends_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_sends_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_campaign_sends_mailbox"), ["mailbox"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_sends_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_sends_tenant"), ["tenant"], unique=False)

    op.create_table(
        "contact_list_members",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["contact_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "contact_id"),
    )
    with op.batch_alter_table("contact_list_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_list_members_tenant"), ["tenant"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_list_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_list_members_tenant"))

    op.drop_table("contact_list_members")
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_sends_tenant"))
        batch_op.drop_index(batch_op.f("ix_campaign_sends_status"))
        batch_op.drop_index(batch_op.f("ix_campaign_sends_mailbox"))
        batch_op.drop_index(batch_op.f("ix_campaign_sends_contact_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_sends_campaign_id"))

    op.drop_table("campaign_sends")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppressions_tenant"))
        batch_op.drop_index(batch_op.f("ix_suppressions_email"))

    op.drop_table("suppressions")
    with op.batch_alter_table("mailbox_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_pauses_tenant"))

    op.drop_table("mailbox_pauses")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_tenant"))

    op.drop_table("contacts")
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_lists_tenant"))

    op.drop_table("contact_lists")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_tenant"))

    op.drop_table("campaigns")
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_events_tenant"))
        batch_op.drop_index(batch_op.f("ix_campaign_events_kind"))
        batch_op.drop_index(batch_op.f("ix_campaign_events_contact_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_events_campaign_id"))

    op.drop_table("campaign_events")
